package container

import "testing"

func TestPath(t *testing.T) {
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
		// azure/k8s-set-context writes under $RUNNER_TEMP, which newer
		// runners mount at /github/runner_temp.
		{"runner temp from RUNNER_TEMP", withEnv(dockerEnv, "RUNNER_TEMP", "/home/runner/work/_temp"), "/home/runner/work/_temp/kubeconfig_1712", "/github/runner_temp/kubeconfig_1712"},
		{"runner temp from the layout", dockerEnv, "/home/runner/work/_temp/k/config", "/github/runner_temp/k/config"},
		{"runner temp without variables", map[string]string{"GITHUB_WORKSPACE": "/github/workspace"}, "/opt/r/_work/_temp/kc", "/github/runner_temp/kc"},
		{"runner temp already inside", dockerEnv, "/github/runner_temp/kc", "/github/runner_temp/kc"},
		{"runner's home untouched", dockerEnv, "/home/runner/.kube/config", "/home/runner/.kube/config"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := Path(tc.in, func(k string) string { return tc.env[k] }); got != tc.want {
				t.Errorf("Path(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func withEnv(env map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range env {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}
