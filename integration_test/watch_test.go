//go:build integration

package integration_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/refresher"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

// The watching refresher as a developer runs it out of cluster, the
// binary with nothing but `refresh --watch --config-map NS/NAME
// --kubeconfig PATH`: it takes the installed refresher's arguments from
// its Deployment, authenticates as it does (here the GKE flavour: the
// metadata server), rewrites the covered secret, and on SIGTERM releases
// its Lease and exits 0, having printed no secret.
func TestBinaryWatchOutOfCluster(t *testing.T) {
	cp, cs, stack, bin := binaryRig(t)
	ns := controlplanetest.Namespace(t, cp)
	refreshNS := "ps-bwatch-" + randHex(4)
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), refreshNS, metav1.DeleteOptions{}) })
	inputs, err := stack.Inputs(fakestack.WIF, "")
	if err != nil {
		t.Fatal(err)
	}
	inputs[config.InNamespaces] = ns
	inputs[config.InKubeconfig] = cp.Kubeconfig()
	inputs[config.InRefresh] = "true"
	inputs[config.InRefreshMode] = config.RefreshWatch
	inputs[config.InRefreshNamespace] = refreshNS
	inputs[config.InRefreshImage] = "ghcr.io/pullsecret/pullsecret@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	if r := runAsGitHub(t, bin, inputs, stack.GitHubEnv("")); r.exitCode != 0 {
		t.Fatalf("install run: exit %d\n%s", r.exitCode, withoutMaskCommands(r.stdout))
	}
	name := refresher.ObjectName(fakestack.ImpersonatedSA, config.DefaultSecretName)

	ctx := controlplanetest.Context(t) // a hang guard, not a time budget
	cmd := exec.CommandContext(ctx, bin, "refresh", "--watch", "--config-map", refreshNS+"/"+name, "--kubeconfig", cp.Kubeconfig())
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "POD_NAME=dev-laptop"}
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var secret *corev1.Secret
	err = wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		s, err := cs.CoreV1().Secrets(ns).Get(ctx, config.DefaultSecretName, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		tok := secretToken(t, cs, stack, ns)
		secret = s
		return tok.Email == fakestack.MetadataSA, nil
	})
	if err != nil {
		_ = cmd.Process.Kill()
		t.Fatalf("the watching refresher never wrote the metadata server's token:\n%s", out.String())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("after SIGTERM: %v (want exit 0)\n%s", err, out.String())
	}
	lease, err := cs.CoordinationV1().Leases(refreshNS).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity != "" {
		t.Errorf("the Lease was not released on SIGTERM: %v %+v", err, lease)
	}
	if !strings.Contains(out.String(), "Leading: holding Lease") {
		t.Errorf("the run did not lead:\n%s", out.String())
	}
	scanForSecrets(t, stack, ghRun{stdout: out.String(), cli: true}, secret.Data[corev1.DockerConfigJsonKey])
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
