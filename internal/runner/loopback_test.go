package runner

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/kube"
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
				Host: kube.Host{InContainer: func() bool { return inContainer }},
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
