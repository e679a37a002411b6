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
		{
			name:     "star excludes system and terminating",
			globs:    []string{"*"},
			excludes: sys,
			want:     []string{"default", "preview-1", "preview-2", "prod"},
		},
		{
			name:     "glob",
			globs:    []string{"preview-*"},
			excludes: sys,
			want:     []string{"preview-1", "preview-2"},
		},
		{
			name:     "glob exclude glob",
			globs:    []string{"*"},
			excludes: append(sys, "pre*"),
			want:     []string{"default", "prod"},
		},
		{
			name:  "question mark",
			globs: []string{"preview-?"},
			want:  []string{"preview-1", "preview-2"},
		},
		{
			name:  "no excludes means system too",
			globs: []string{"kube-*"},
			want:  []string{"kube-node-lease", "kube-public", "kube-system"},
		},
		{
			name:     "nothing matches",
			globs:    []string{"staging-*"},
			excludes: sys,
		},
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
		{
			name: "namespace not found",
			err:  gone,
			want: true,
		},
		{
			name: "wrapped",
			err:  fmt.Errorf("apply: %w", gone),
			want: true,
		},
		{
			name: "terminating",
			err:  terminating,
			want: true,
		},
		{
			name: "secret not found",
			err:  secretMissing,
		},
		{
			name: "plain forbidden",
			err:  apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "s", errors.New("rbac")),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			if got := Vanished(tc.err); got != tc.want {
				t.Errorf("%s: Vanished = %v, want %v", tc.name, got, tc.want)
			}

		})
	}
}
