//go:build integration

package runner

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/faultproxy"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

// cutRounds is how many runs across the fleet meet random connection cuts.
const cutRounds = 5

// Cuts come every 50-500 ms: dozens per run, each failing every request
// in flight on the shared HTTP/2 connection.
const cutMin, cutMax = 50 * time.Millisecond, 500 * time.Millisecond

// TestConnectionCuts runs across a fleet of 200 namespaces through a TCP
// proxy that resets every connection at random moments (HTTP/2 passes
// through, so one cut fails all requests in flight), cutRounds times. What
// must hold whatever the cuts hit: the run ends on its own (the deadline is
// a hang guard), every namespace is reported once, failures are named, no
// namespace is claimed that the API server does not hold, no
// ServiceAccount references a secret that does not exist, and the other
// team's entry survives everywhere. How many namespaces were written is
// logged (docs/performance.md), not asserted: it depends on where the cuts
// land.
func TestConnectionCuts(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := fastClient(t, cp)
	f := newFleet(t, cp)
	var written, total, cuts int
	var elapsed time.Duration
	for round := range cutRounds {
		cut := startCutter(t, cp)
		kc, err := cut.Kubeconfig(cp.Kubeconfig())
		if err != nil {
			t.Fatal(err)
		}
		guard, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
		cutting, stop := context.WithCancel(guard)
		cut.CutRandomly(cutting, uint64(round+1), cutMin, cutMax)
		secretName := freshName("cuts")
		start := time.Now()
		r := runCtx(guard, t, string(kc), withCreds(t, fakestack.KeyToken, map[string]string{
			config.InNamespaceSelector: f.selector,
			config.InSecretName:        secretName,
		}), Deps{}) // the product's per-call limit: what a user's run rides out
		took := time.Since(start)
		stop()
		if guard.Err() != nil {
			cancel()
			t.Fatalf("round %d: the run did not end on its own; the hang guard stopped it: %v", round, r.err)
		}
		cancel()
		if r.res == nil {
			t.Fatalf("round %d: run failed before any namespace (%d cuts): %v", round, cut.Cuts(), r.err)
		}
		checkNamedFailures(t, r, failedIn(r.res))
		n := checkRealState(t, cs, f, secretName, r.res)
		logFailures(t, r.res, 3)
		ok := len(r.res.Succeeded())
		written, total, cuts, elapsed = written+ok, total+len(f.names), cuts+cut.Cuts(), elapsed+took
		t.Logf("ROW cuts round %d | namespaces %d | cuts %d | written %d (%.1f %%) | run %s | false successes %d | entries lost %d | dangling refs %d",
			round+1, len(f.names), cut.Cuts(), ok, pct(ok, len(f.names)), took.Round(10*time.Millisecond), n.falseSuccesses, n.entriesLost, n.dangling)
	}
	t.Logf("ROW cuts total | rounds %d × %d namespaces | cuts %d | written %.1f %% | run time %s in all",
		cutRounds, len(f.names), cuts, pct(written, total), elapsed.Round(10*time.Millisecond))
}

// TestAPIServerGoneForGood: the API server disappears in the middle of a
// run and never comes back (every connection reset, every new one
// refused). Retries must not keep the run alive: it ends on its own (the
// deadline is a hang guard, far above the per-call limits), fails, names
// every namespace it did not finish, and claims nothing the API server
// does not hold.
func TestAPIServerGoneForGood(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := fastClient(t, cp)
	f := newFleet(t, cp)
	cut := startCutter(t, cp)
	kc, err := cut.Kubeconfig(cp.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	secretName := freshName("gone")
	guard, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	// The server goes once the run has written its first namespaces.
	go func() {
		for guard.Err() == nil {
			if n := countSecrets(guard, cs, secretName); n >= 20 {
				cut.Down(true)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	start := time.Now()
	r := runCtx(guard, t, string(kc), withCreds(t, fakestack.KeyToken, map[string]string{
		config.InNamespaceSelector: f.selector,
		config.InSecretName:        secretName,
	}), Deps{KubeRequestTimeout: faultTimeout})
	took := time.Since(start)
	if guard.Err() != nil {
		t.Fatalf("the run did not end on its own; the hang guard stopped it: %v", r.err)
	}
	if r.err == nil || r.res == nil {
		t.Fatalf("run against a server that is gone: err %v, result %v; want a failed run with a result", r.err, r.res)
	}
	failed := failedIn(r.res)
	if len(failed) == 0 {
		t.Fatal("no namespace failed: the server went away after the run finished")
	}
	checkNamedFailures(t, r, failed)
	n := checkRealState(t, cs, f, secretName, r.res)
	t.Logf("ROW server gone for good | namespaces %d | written before it went %d | failed %d, all named | run %s (per-call limit %s) | false successes %d | entries lost %d | dangling refs %d",
		len(f.names), len(r.res.Succeeded()), len(failed), took.Round(10*time.Millisecond), faultTimeout, n.falseSuccesses, n.entriesLost, n.dangling)
}

func startCutter(t *testing.T, cp *controlplane.ControlPlane) *faultproxy.Cutter {
	t.Helper()
	cut, err := faultproxy.NewCutter(cp.Server())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cut.Close)
	return cut
}

func countSecrets(ctx context.Context, cs kubernetes.Interface, name string) int {
	l, err := cs.CoreV1().Secrets("").List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + name})
	if err != nil {
		return 0
	}
	return len(l.Items)
}

// logFailures logs the first few namespace errors: why cuts cost a write.
func logFailures(t *testing.T, res *Result, max int) {
	t.Helper()
	for _, nr := range res.Namespaces {
		if nr.Err != nil && max > 0 {
			max--
			t.Logf("failed: %v", nr.Err)
		}
	}
}

func pct(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}
