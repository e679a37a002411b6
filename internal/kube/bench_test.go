package kube

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A large multi-tenant cluster: selecting by glob must stay cheap.
func BenchmarkMatchNamespaces5000(b *testing.B) {
	all := make([]corev1.Namespace, 5000)
	for i := range all {
		all[i] = corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("preview-pr-%d", i)}}
	}
	b.ReportAllocs()
	for b.Loop() {
		if got := MatchNamespaces(all, []string{"preview-pr-1*"}, []string{"kube-*"}); len(got) == 0 {
			b.Fatal("no match")
		}
	}
}

func BenchmarkAddPullSecret(b *testing.B) {
	r := refs("a", "b", "c", "d", "e", "f", "g", "h")
	b.ReportAllocs()
	for b.Loop() {
		AddPullSecret(r, "ours")
	}
}
