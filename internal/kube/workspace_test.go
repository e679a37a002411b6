package kube

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Runner emulators may mount the workspace somewhere other than
// /github/workspace and start the action elsewhere: a kubeconfig in
// $GITHUB_WORKSPACE is still found, and an unreadable one gets the way out
// that fits where it is, never "put it under $GITHUB_WORKSPACE" when it is
// there already.
func TestKubeconfigInEmulatedWorkspace(t *testing.T) {
	t.Parallel()
	ws := t.TempDir() // not the test's working directory
	if err := os.WriteFile(filepath.Join(ws, "kubeconfig"), []byte(tokenKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, workspace, kubeconfig string
		want, never                 []string // nil want: connects
	}{
		{name: "relative, in the workspace", workspace: ws, kubeconfig: "kubeconfig"},
		{name: "absolute, in the workspace", workspace: ws, kubeconfig: filepath.Join(ws, "kubeconfig")},
		{
			name: "in the workspace but missing", workspace: ws, kubeconfig: filepath.Join(ws, "kc", "missing"),
			want:  []string{`"kubeconfig"`, "is in $GITHUB_WORKSPACE", "has not run yet", "pullsecret/pullsecret/setup", "inline"},
			never: []string{"put it under"},
		},
		{
			name: "relative and missing", workspace: ws, kubeconfig: "missing-kubeconfig",
			want:  []string{filepath.Join(ws, "missing-kubeconfig"), "is in $GITHUB_WORKSPACE"},
			never: []string{"put it under"},
		},
		{
			name: "outside the workspace", workspace: ws, kubeconfig: "/nonexistent/kubeconfig",
			want: []string{"put it under $GITHUB_WORKSPACE (" + ws + ")", "inline"},
		},
		{
			name: "not in GitHub", kubeconfig: "/nonexistent/kubeconfig",
			want:  []string{"check the path", "inline"},
			never: []string{"GITHUB_WORKSPACE"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"GITHUB_WORKSPACE": tc.workspace}
			_, err := Connect(ClientOptions{
				Kubeconfig: tc.kubeconfig, Concurrency: 1,
				Getenv:      func(k string) string { return env[k] },
				InContainer: func() bool { return true },
			})
			if tc.want == nil {
				if err != nil {
					t.Fatalf("kubeconfig in the workspace not used: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("a missing kubeconfig was accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			for _, n := range tc.never {
				if strings.Contains(err.Error(), n) {
					t.Errorf("error %q says %q", err, n)
				}
			}
		})
	}
}

// tokenKubeconfig authenticates with a (fake) bearer token: no plugin.
const tokenKubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://34.1.2.3"}
users:
- name: u
  user: {token: not-a-real-token-0001}
contexts:
- name: c
  context: {cluster: c, user: u}
current-context: c
`
