package runner

import "testing"

func TestContainerPath(t *testing.T) {
	t.Parallel()
	dockerEnv := map[string]string{
		"GITHUB_WORKSPACE":  "/github/workspace",
		"RUNNER_WORKSPACE":  "/home/runner/work/app",
		"GITHUB_REPOSITORY": "octo/app",
	}
	cases := []struct {
		name string
		env  map[string]string
		in   string
		want string
	}{
		{"host workspace path", dockerEnv, "/home/runner/work/app/app/gha-creds-1.json", "/github/workspace/gha-creds-1.json"},
		{"nested", dockerEnv, "/home/runner/work/app/app/.kube/kind.yaml", "/github/workspace/.kube/kind.yaml"},
		{"already inside", dockerEnv, "/github/workspace/kc", "/github/workspace/kc"},
		{"elsewhere untouched", dockerEnv, "/etc/kubeconfig", "/etc/kubeconfig"},
		{"layout without variables", map[string]string{"GITHUB_WORKSPACE": "/github/workspace"}, "/srv/runner/_work/x/x/kc", "/srv/runner/_work/x/x/kc"},
		{"work/repo/repo layout", map[string]string{"GITHUB_WORKSPACE": "/github/workspace"}, "/home/runner/work/svc/svc/kc", "/github/workspace/kc"},
		{"not a docker action", map[string]string{"GITHUB_WORKSPACE": "/home/runner/work/app/app"}, "/home/runner/work/app/app/kc", "/home/runner/work/app/app/kc"},
		{"no github at all", nil, "/tmp/kc", "/tmp/kc"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := ContainerPath(tc.in, func(k string) string { return tc.env[k] }); got != tc.want {
				t.Errorf("ContainerPath(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
