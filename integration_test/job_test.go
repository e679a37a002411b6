//go:build integration

package integration_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/yaml"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

// In Job mode (the CronJob's own arguments, no GitHub environment) the
// binary writes nothing to disk, which is what lets deploy/cronjob.yaml
// run with a read-only root filesystem and no writable volume: its home,
// temporary and working directories are still empty afterwards.
func TestBinaryInJobModeWritesNothing(t *testing.T) {
	cp, cs, stack, bin := binaryRig(t)
	ns := controlplanetest.Namespace(t, cp)

	f, err := os.Open(filepath.Join("..", "deploy", "cronjob.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cj batchv1.CronJob
	if err := yaml.NewYAMLOrJSONDecoder(f, 4096).Decode(&cj); err != nil {
		t.Fatal(err)
	}
	// The CronJob's arguments, narrowed to this test's namespace (a later
	// flag wins) on the shared control plane.
	args := append(cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Args, "--namespaces="+ns, "--kubeconfig="+cp.Kubeconfig())
	inputs, err := stack.Inputs(fakestack.KeyToken, "")
	if err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	env := []string{"HOME=" + empty, "TMPDIR=" + empty, "XDG_CACHE_HOME=" + filepath.Join(empty, "cache"), "XDG_CONFIG_HOME=" + filepath.Join(empty, "config")}
	for k, v := range inputs {
		env = append(env, config.EnvName(k)+"="+v)
	}
	ctx := controlplanetest.Context(t) // a hang guard, not a time budget
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env, cmd.Dir = env, empty
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("job-mode run: %v\n%s", err, out.String())
	}
	if _, err := cs.CoreV1().Secrets(ns).Get(ctx, config.DefaultSecretName, metav1.GetOptions{}); err != nil {
		t.Fatalf("the run did not write the secret: %v", err)
	}
	entries, err := os.ReadDir(empty)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("job-mode run wrote %s", e.Name())
	}
}
