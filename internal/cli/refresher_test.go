package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/pullsecret/pullsecret/internal/testing/check"
)

const (
	renderImage    = "ghcr.io/pullsecret/pullsecret@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	renderProvider = "projects/123456/locations/global/workloadIdentityPools/k8s/providers/prod"
)

// pullsecret refresher render prints, without a cluster or credentials,
// the objects the action installs: watch mode with a glob (ClusterRole and
// admission policy), cron mode with named coverage (a Role in each
// namespace). UPDATE_GOLDEN=1 rewrites them.
func TestRefresherRender(t *testing.T) {
	t.Parallel()
	for name, args := range map[string][]string{
		"watch-glob": {"--refresh-mode", "watch", "--refresh-recover-pods", "--namespaces", "team-a-*", "--service-accounts", "*",
			"--service-account", "puller@my-project.iam.gserviceaccount.com", "--refresh-workload-identity-provider", renderProvider,
			"--refresh-image", renderImage},
		"cron-named": {"--namespaces", "web,api", "--refresh-interval", "15m", "--refresh-namespace", "refreshers",
			"--service-account", "puller@my-project.iam.gserviceaccount.com", "--refresh-image", renderImage},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := mainIn(t, nil, append([]string{"refresher", "render"}, args...)...)
			if code != ExitOK || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			check.Golden(t, filepath.Join("testdata", "refresher-render-"+name+".yaml"), stdout)
		})
	}
}

// Bad input exits 2 naming the input, and prints no manifest.
func TestRefresherRenderRejects(t *testing.T) {
	t.Parallel()
	base := []string{"refresher", "render", "--refresh-image", renderImage, "--service-account", "puller@my-project.iam.gserviceaccount.com"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{base, `input "namespaces": pullsecret refresher render needs the coverage`},
		{append(base, "--namespaces", "a", "--refresh-mode", "daemon"), `input "refresh_mode"`},
		{append(base, "--namespaces", "a", "--mode", "delete"), `input "mode": pullsecret refresher render prints an install`},
		{append(base, "--namespaces", "a", "--refresh-recover-pods"), `input "refresh_recover_pods": is only used with refresh_mode: watch`},
		{[]string{"refresher"}, "refresher takes one command: render"},
		{[]string{"refresher", "render", "extra"}, `unexpected argument "extra"`},
	} {
		code, stdout, stderr := mainIn(t, nil, tc.args...)
		if code != ExitBadInput || stdout != "" || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, stdout %d bytes, stderr %q; want exit %d and %q", tc.args, code, len(stdout), stderr, ExitBadInput, tc.want)
		}
	}
	code, stdout, _ := mainIn(t, nil, "refresher", "render", "--help")
	if code != ExitOK || !strings.Contains(stdout, "Usage:\n  pullsecret refresher render") {
		t.Errorf("--help: exit %d\n%s", code, stdout)
	}
}
