package runner

import (
	"context"
	"fmt"
	"io/fs"
	"net"
	"strings"
	"testing"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/container"
	"github.com/pullsecret/pullsecret/internal/testing/check"
)

// With api_server_host: off a loopback server is kept as is; inside a
// container that is the container itself, so when nothing answers the
// error says why and the way out. Outside a container loopback is the
// machine, and the plain error stands.
func TestLoopbackKeptInContainerExplained(t *testing.T) {
	t.Parallel()
	// A loopback port where nothing listens.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	server := "https://" + l.Addr().String()
	l.Close()
	kubeconfig := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: kind
  cluster: {server: %q, insecure-skip-tls-verify: true}
users:
- name: u
  user: {token: not-a-real-token-0003}
contexts:
- name: kind
  context: {cluster: kind, user: u, namespace: default}
current-context: kind
`, server)
	for _, inContainer := range []bool{true, false} {
		t.Run(fmt.Sprintf("in container %v", inContainer), func(t *testing.T) {
			t.Parallel()
			cfg, err := config.Load(check.Lookup(map[string]string{
				config.InKubeconfig: kubeconfig, config.InAPIServerHost: "off", config.InNamespaces: "default",
			}))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Run(context.Background(), cfg, Deps{
				Reporter: nopReporter{}, Getenv: func(string) string { return "" },
				Host: container.Host{InContainer: func() bool { return inContainer }},
			})
			if err == nil {
				t.Fatal("reached an API server where none listens")
			}
			hint := []string{`"api_server_host" is off`, "the container itself", "auto", "docs/TROUBLESHOOTING.md#loopback-api-server"}
			for _, h := range hint {
				if got := strings.Contains(err.Error(), h); got != inContainer {
					t.Errorf("error mentions %q: %v, want %v\n%v", h, got, inContainer, err)
				}
			}
		})
	}
}

// A kubeconfig path in the workspace whose file is not there (the step
// writing it has not run, or wrote it elsewhere) is not a mount problem:
// the error says it is in the workspace and why it may be missing, never
// "outside the directories the runner mounts" or "put it under
// $GITHUB_WORKSPACE".
func TestWorkspaceKubeconfigNotWritten(t *testing.T) {
	t.Parallel()
	docker := map[string]string{
		"GITHUB_WORKSPACE": "/github/workspace", "RUNNER_WORKSPACE": "/home/runner/work/app",
		"GITHUB_REPOSITORY": "octo/app", "HOME": "/github/home",
	}
	for _, kc := range []string{"/home/runner/work/app/app/kubeconfig", "/github/workspace/kubeconfig", "kubeconfig"} {
		t.Run(kc, func(t *testing.T) {
			t.Parallel()
			_, err := connect(&config.Config{Kubeconfig: kc}, Deps{
				Getenv:   func(k string) string { return docker[k] },
				ReadFile: func(p string) ([]byte, error) { return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist} },
				Reporter: nopReporter{},
			})
			if err == nil {
				t.Fatal("a kubeconfig that was never written was accepted")
			}
			for _, want := range []string{`"/github/workspace/kubeconfig" is in $GITHUB_WORKSPACE`, "has not run yet"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			for _, never := range []string{"outside the directories", "put it under"} {
				if strings.Contains(err.Error(), never) {
					t.Errorf("error %q says %q", err, never)
				}
			}
		})
	}
}
