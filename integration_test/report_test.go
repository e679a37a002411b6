//go:build integration

package integration_test

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

// Outputs are written after the cluster was changed. An unwritable
// GITHUB_OUTPUT used to panic there (go-githubactions), hiding what the run
// had done; now the run reports everything else, writes the summary, and
// fails naming GITHUB_OUTPUT.
func TestBinaryUnwritableOutputsFailWithoutPanic(t *testing.T) {
	cp, cs, stack, bin := binaryRig(t)
	ns := "report-" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })

	inputs, _ := stack.Inputs(fakestack.KeyToken, "")
	inputs[config.InNamespaces] = ns
	inputs[config.InCreateNamespaces] = "true"
	inputs[config.InKubeconfig] = cp.Kubeconfig()
	env := stack.GitHubEnv("")
	env["GITHUB_ACTIONS"] = "true"
	env["GITHUB_OUTPUT"] = t.TempDir() // a directory: every write fails
	r := runAsGitHub(t, bin, inputs, env)

	if strings.Contains(r.stderr, "panic:") || r.exitCode != 1 {
		t.Fatalf("exit %d, want 1 without a panic\nstdout:\n%s\nstderr:\n%s", r.exitCode, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "::error::") || !strings.Contains(r.stdout, "GITHUB_OUTPUT") {
		t.Errorf("no ::error:: naming GITHUB_OUTPUT:\n%s", r.stdout)
	}
	if !strings.Contains(r.summary, "| `"+ns+"` | created (namespace created) | default |") {
		t.Errorf("step summary not written after the output failure:\n%s", r.summary)
	}
	if _, err := cs.CoreV1().Secrets(ns).Get(t.Context(), config.DefaultSecretName, metav1.GetOptions{}); err != nil {
		t.Errorf("the secret the summary reports is not there: %v", err)
	}
}
