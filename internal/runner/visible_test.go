package runner

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/container"
)

// TestKubeconfigNotVisible: a docker action handed a kubeconfig path its
// container cannot see fails in connect, before anything reaches Google or
// the cluster, saying why and the ways out.
func TestKubeconfigNotVisible(t *testing.T) {
	t.Parallel()
	docker := map[string]string{
		"GITHUB_WORKSPACE": "/github/workspace", "RUNNER_WORKSPACE": "/home/runner/work/app",
		"GITHUB_REPOSITORY": "octo/app", "RUNNER_TEMP": "/home/runner/work/_temp", "HOME": "/github/home",
	}
	cases := []struct {
		name       string
		env        map[string]string
		kubeconfig string
		files      []string // what exists inside the container
		want       string   // "" = no visibility error
	}{
		{"workspace path, mapped and present", docker, "/home/runner/work/app/app/kc", []string{"/github/workspace/kc"}, ""},
		{"RUNNER_TEMP mounted (newer runner)", docker, "/home/runner/work/_temp/kubeconfig_1", []string{"/github/runner_temp/kubeconfig_1"}, ""},
		{"RUNNER_TEMP not mounted (older runner)", docker, "/home/runner/work/_temp/kubeconfig_1", nil, "it is under $RUNNER_TEMP, which this runner does not mount"},
		{"$KUBECONFIG under RUNNER_TEMP not mounted", withEnv(docker, "KUBECONFIG", "/home/runner/work/_temp/kubeconfig_1"), "", nil, `$KUBECONFIG entry "/home/runner/work/_temp/kubeconfig_1"`},
		{"$KUBECONFIG in the runner's home", withEnv(docker, "KUBECONFIG", "/home/runner/.kube/config"), "", nil, "in the runner's home directory"},
		{"nothing given: the runner's ~/.kube/config is invisible", docker, "", nil, `the default kubeconfig "/github/home/.kube/config"`},
		{"elsewhere on the host", docker, "/etc/rancher/k3s/k3s.yaml", nil, "outside the directories the runner mounts"},
		{"in a cluster with nothing given", withEnv(docker, "KUBERNETES_SERVICE_HOST", "10.0.0.1"), "", nil, ""},
		{"not a docker action", map[string]string{"GITHUB_WORKSPACE": "/home/runner/work/app/app"}, "/home/runner/.kube/config", nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			exists := map[string]bool{}
			for _, f := range tc.files {
				exists[f] = true
			}
			d := Deps{
				Getenv: func(k string) string { return tc.env[k] },
				ReadFile: func(p string) ([]byte, error) {
					if exists[p] {
						return []byte("not a kubeconfig"), nil
					}
					return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
				},
				Reporter: nopReporter{},
			}
			_, err := connect(&config.Config{Kubeconfig: tc.kubeconfig}, d)
			if tc.want == "" {
				if errors.Is(err, container.ErrKubeconfigNotVisible) {
					t.Fatalf("visible kubeconfig refused: %v", err)
				}
				return
			}
			if !errors.Is(err, container.ErrKubeconfigNotVisible) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want the not-visible error containing %q", err, tc.want)
			}
			for _, way := range []string{"write it into the workspace", "pass it inline", "pullsecret/pullsecret/setup", "docs/TROUBLESHOOTING.md#kubeconfig-not-visible-in-the-docker-action"} {
				if !strings.Contains(err.Error(), way) {
					t.Errorf("error does not offer %q", way)
				}
			}
		})
	}
}

type nopReporter struct{}

func (nopReporter) Mask(string)              {}
func (nopReporter) Group(string)             {}
func (nopReporter) EndGroup()                {}
func (nopReporter) Infof(string, ...any)     {}
func (nopReporter) Warningf(string, ...any)  {}
func (nopReporter) SetOutput(string, string) {}
func (nopReporter) AddStepSummary(string)    {}

// withEnv is env with kv (name, value, ...) set.
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
