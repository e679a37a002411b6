//go:build integration

package runner

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

// BenchmarkRun50Namespaces is a whole run (mint + 50 × apply secret + merge
// ServiceAccount + report) against the real API server, reporting
// namespaces per second. Run with: scripts/bench.
func BenchmarkRun50Namespaces(b *testing.B) {
	const n = 50
	cp := controlplanetest.Shared(b)
	cs := clientFor(b, cp)
	label := freshName("bench")
	names := make([]string, n)
	for i := range names {
		ns := freshName("bench")
		if _, err := cs.CoreV1().Namespaces().Create(b.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"bench": label}}}, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
		names[i] = ns
	}
	// service_accounts "*" must find the default ServiceAccount in every
	// namespace, or the timed runs would measure different work.
	for _, ns := range names {
		ensureDefaultSA(b, cs, ns)
	}
	in := withCreds(b, fakestack.KeyToken, map[string]string{config.InNamespaceSelector: "bench=" + label, config.InServiceAccounts: "*"})
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		if r := runWith(b, cp.Kubeconfig(), in); r.err != nil {
			b.Fatal(r.err)
		}
	}
	b.ReportMetric(float64(n*b.N)/time.Since(start).Seconds(), "namespaces/s")
}
