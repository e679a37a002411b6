package kube

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pullsecret/pullsecret/internal/testing/check"
)

func TestIsInline(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{
		"/home/runner/.kube/config":      false,
		"kubeconfig":                     false,
		"apiVersion: v1\nkind: Config\n": true,
		`{"apiVersion":"v1"}`:            true,
	} {
		if got := isInline(in); got != want {
			t.Errorf("isInline(%q) = %v, want %v", in, got, want)
		}
	}
}

// The context input picks the cluster; the context's namespace is the
// default target.
func TestConnectInlineKubeconfigWithContext(t *testing.T) {
	t.Parallel()
	const kc = `apiVersion: v1
kind: Config
clusters:
- name: a
  cluster: {server: "https://a.example:6443"}
- name: b
  cluster: {server: "https://b.example:6443"}
users:
- name: u
  user: {token: "not-a-real-token"}
contexts:
- name: ctx-a
  context: {cluster: a, user: u}
- name: ctx-b
  context: {cluster: b, user: u, namespace: team-b}
current-context: ctx-a
`
	for _, tc := range []struct{ context, wantHost, wantNS string }{
		{
			wantHost: "https://a.example:6443",
			wantNS:   "default",
		},
		{
			context:  "ctx-b",
			wantHost: "https://b.example:6443",
			wantNS:   "team-b",
		},
	} {
		t.Run("context="+tc.context, func(t *testing.T) {
			t.Parallel()

			conn, err := Connect(ClientOptions{Kubeconfig: kc, Context: tc.context, Concurrency: 1, InContainer: func() bool { return false }})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{tc.wantHost, tc.wantNS, "inline kubeconfig"}, []string{conn.Config.Host, conn.Namespace, conn.Source}); diff != "" {
				t.Errorf("context %q (-want +got):\n%s", tc.context, diff)
			}

		})
	}
	if _, err := Connect(ClientOptions{Kubeconfig: kc, Context: "nope", Concurrency: 1}); check.ErrDiff(err, "nope") != "" {
		t.Errorf("unknown context: %v", err)
	}
	if _, err := Connect(ClientOptions{Kubeconfig: "/does/not/exist", Concurrency: 1}); check.ErrDiff(err, `"kubeconfig"`) != "" {
		t.Errorf("missing file: %v", err)
	}
}
