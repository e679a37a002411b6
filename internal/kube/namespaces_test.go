package kube

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func namespaces(names ...string) []corev1.Namespace {
	var out []corev1.Namespace
	for _, n := range names {
		ns := corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: strings.TrimSuffix(n, "!")}}
		if strings.HasSuffix(n, "!") { // "!" marks a terminating namespace
			ns.Status.Phase = corev1.NamespaceTerminating
		}
		out = append(out, ns)
	}
	return out
}

func TestMatchNamespaces(t *testing.T) {
	t.Parallel()
	all := namespaces("default", "kube-system", "kube-public", "kube-node-lease", "preview-1", "preview-2", "preview-old!", "prod")
	sys := []string{"kube-system", "kube-public", "kube-node-lease"}
	cases := []struct {
		name     string
		globs    []string
		excludes []string
		want     []string
	}{
		{"star excludes system and terminating", []string{"*"}, sys, []string{"default", "preview-1", "preview-2", "prod"}},
		{"glob", []string{"preview-*"}, sys, []string{"preview-1", "preview-2"}},
		{"glob exclude glob", []string{"*"}, append(sys, "pre*"), []string{"default", "prod"}},
		{"question mark", []string{"preview-?"}, nil, []string{"preview-1", "preview-2"}},
		{"no excludes means system too", []string{"kube-*"}, nil, []string{"kube-node-lease", "kube-public", "kube-system"}},
		{"nothing matches", []string{"staging-*"}, sys, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, MatchNamespaces(all, tc.globs, tc.excludes)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestVanished(t *testing.T) {
	t.Parallel()
	gone := apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, "preview-1")
	secretMissing := apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, "s")
	terminating := apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "s", errors.New("namespace is being terminated"))
	terminating.ErrStatus.Details.Causes = []metav1.StatusCause{{Type: corev1.NamespaceTerminatingCause}}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"namespace not found", gone, true},
		{"wrapped", fmt.Errorf("apply: %w", gone), true},
		{"terminating", terminating, true},
		{"secret not found", secretMissing, false},
		{"plain forbidden", apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "s", errors.New("rbac")), false},
	} {
		if got := Vanished(tc.err); got != tc.want {
			t.Errorf("%s: Vanished = %v, want %v", tc.name, got, tc.want)
		}
	}
}
