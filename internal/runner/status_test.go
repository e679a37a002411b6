package runner

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/container"
	"github.com/pullsecret/pullsecret/internal/testing/check"
)

// A cluster that cannot be reached is an error of the unreachable kind
// that says status could not read it, never an empty status.
func TestStatusUnreachable(t *testing.T) {
	t.Parallel()
	const kubeconfig = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: not-a-secret}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`
	_, err := ReadStatus(context.Background(), StatusInput{Kubeconfig: kubeconfig, SecretName: config.DefaultSecretName, ServiceAccounts: []string{"default"}},
		Deps{Getenv: check.Getenv(nil), KubeRequestTimeout: time.Second, Host: container.Host{InContainer: func() bool { return false }}})
	if err == nil || !strings.Contains(err.Error(), "pullsecret status cannot read the cluster at https://127.0.0.1:1") {
		t.Fatalf("err = %v, want it to say the cluster cannot be read", err)
	}
	if !errors.Is(err, ErrClusterUnreachable) {
		t.Errorf("err = %v, want ErrClusterUnreachable", err)
	}
}
