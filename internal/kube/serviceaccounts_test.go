package kube

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func refs(names ...string) []corev1.LocalObjectReference {
	var out []corev1.LocalObjectReference
	for _, n := range names {
		out = append(out, corev1.LocalObjectReference{Name: n})
	}
	return out
}

func TestAddPullSecret(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		in          []corev1.LocalObjectReference
		want        []corev1.LocalObjectReference
		wantChanged bool
	}{
		{
			name:        "empty",
			want:        refs("ours"),
			wantChanged: true,
		},
		{
			name:        "keeps others and order",
			in:          refs("b", "a"),
			want:        refs("b", "a", "ours"),
			wantChanged: true,
		},
		{
			name: "already present is a no-op",
			in:   refs("a", "ours", "b"),
			want: refs("a", "ours", "b"),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			before := append([]corev1.LocalObjectReference(nil), tc.in...)
			got, changed := AddPullSecret(tc.in, "ours")
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if changed != tc.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tc.wantChanged)
			}
			if diff := cmp.Diff(before, tc.in); diff != "" {
				t.Errorf("input mutated:\n%s", diff)
			}
		})
	}
}

func TestRemovePullSecret(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		in, want    []corev1.LocalObjectReference
		wantChanged bool
	}{
		{
			name: "absent",
			in:   refs("a", "b"),
			want: refs("a", "b"),
		},
		{
			name:        "removes only ours, order kept",
			in:          refs("a", "ours", "b"),
			want:        refs("a", "b"),
			wantChanged: true,
		},
		{
			name:        "removes duplicates of ours",
			in:          refs("ours", "a", "ours"),
			want:        refs("a"),
			wantChanged: true,
		},
		{
			name:        "only ours",
			in:          refs("ours"),
			want:        refs(),
			wantChanged: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, changed := RemovePullSecret(tc.in, "ours")
			if diff := cmp.Diff(tc.want, got, cmpEmpty); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if changed != tc.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tc.wantChanged)
			}
		})
	}
}

var cmpEmpty = cmp.Transformer("nilEmpty", func(r []corev1.LocalObjectReference) []corev1.LocalObjectReference {
	if len(r) == 0 {
		return nil
	}
	return r
})
