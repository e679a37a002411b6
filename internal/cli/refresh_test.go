package cli

import (
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pullsecret/pullsecret/internal/runner"
)

const testConfigMap = "pullsecret-system/pullsecret-refresher-0123456789"

func TestParseRefreshArgsWatch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		want *runner.WatchArgs
	}{
		{name: "job mode", args: []string{"--config-map", testConfigMap}},
		{name: "watch with defaults", args: []string{"--config-map", testConfigMap, "--watch"},
			want: &runner.WatchArgs{LeaderElect: true}},
		{name: "watch out of cluster", args: []string{"--config-map", testConfigMap, "--watch", "--kubeconfig", "/k", "--leader-elect=false", "--metrics-address", ":9090", "--recover-pods"},
			want: &runner.WatchArgs{Kubeconfig: "/k", MetricsAddress: ":9090", RecoverPods: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, _, err := parseRefreshArgs(tc.args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, a.Watch); diff != "" {
				t.Errorf("watch args (-want +got):\n%s", diff)
			}
			if a.Namespace != "pullsecret-system" || a.Name != "pullsecret-refresher-0123456789" {
				t.Errorf("config map %s/%s", a.Namespace, a.Name)
			}
		})
	}
}

// The watch flags mean nothing to a one-shot run: refused, naming them.
func TestParseRefreshArgsWatchFlagsNeedWatch(t *testing.T) {
	t.Parallel()
	_, _, err := parseRefreshArgs([]string{"--config-map", testConfigMap, "--kubeconfig", "/k", "--recover-pods"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--kubeconfig, --recover-pods only with --watch") {
		t.Errorf("err = %v, want the flags named", err)
	}
}
