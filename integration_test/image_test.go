//go:build integration

package integration_test

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pullsecret/pullsecret/internal/cli"
	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

// Attack: PULLSECRET_IMAGE in the step's environment (a workflow's env:
// or an earlier step's $GITHUB_ENV, which override an action's runs.env)
// chose the image the refresher's CronJob runs. The built binary takes
// its own image only from the hidden flag a release's action.yml passes
// in args, and a build from source without one refuses refresh: true.
func TestRefresherImageNeverFromTheEnvironment(t *testing.T) {
	cp, cs, stack, bin := binaryRig(t)
	ns := controlplanetest.Namespace(t, cp)
	refreshNS := "rf-image-" + strings.TrimPrefix(ns, "test-")
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), refreshNS, metav1.DeleteOptions{}) })
	const (
		evil    = "attacker.example/evil@sha256:eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
		release = "ghcr.io/pullsecret/pullsecret@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	)
	inputs, err := stack.Inputs(fakestack.WIF, "")
	if err != nil {
		t.Fatal(err)
	}
	inputs[config.InNamespaces] = ns
	inputs[config.InKubeconfig] = cp.Kubeconfig()
	inputs[config.InRefresh] = "true"
	inputs[config.InRefreshNamespace] = refreshNS
	env := stack.GitHubEnv("")
	env["PULLSECRET_IMAGE"] = evil

	// From source, no refresh_image, no flag: refused, nothing installed.
	r := runAsGitHub(t, bin, inputs, env)
	if r.exitCode != 2 || !strings.Contains(r.stdout, `input "refresh_image": is required`) {
		t.Errorf("from source with the image only in the environment: exit %d, want 2 naming refresh_image\n%s", r.exitCode, withoutMaskCommands(r.stdout))
	}
	if cjs, err := cs.BatchV1().CronJobs(refreshNS).List(t.Context(), metav1.ListOptions{}); err == nil && len(cjs.Items) > 0 {
		t.Errorf("a refused run installed %d CronJob(s)", len(cjs.Items))
	}

	// As a release's action.yml runs it: the flag in args wins over the
	// environment.
	r = runAsGitHubArgs(t, bin, []string{"--" + cli.FlagReleaseImage + "=" + release}, inputs, env)
	if r.exitCode != 0 {
		t.Fatalf("install with --%s: exit %d\n%s", cli.FlagReleaseImage, r.exitCode, withoutMaskCommands(r.stdout))
	}
	cjs, err := cs.BatchV1().CronJobs(refreshNS).List(t.Context(), metav1.ListOptions{})
	if err != nil || len(cjs.Items) == 0 {
		t.Fatalf("no CronJob in %s: %v", refreshNS, err)
	}
	for _, cj := range cjs.Items {
		for _, c := range cj.Spec.JobTemplate.Spec.Template.Spec.Containers {
			if c.Image != release {
				t.Errorf("CronJob %s runs %q, want the release's own %q (never the environment's)", cj.Name, c.Image, release)
			}
		}
	}
}
