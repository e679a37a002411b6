package controlplane

import (
	"strings"
	"testing"

	"github.com/pullsecret/pullsecret/internal/testing/check"
)

func TestKubeTargetStampsVersion(t *testing.T) {
	t.Parallel()
	tg, err := kubeTarget("/src", "v1.34.4", []string{KubeAPIServer, Kubelet})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"-X k8s.io/client-go/pkg/version.gitVersion=v1.34.4",
		"-X k8s.io/component-base/version.gitVersion=v1.34.4",
		"-X k8s.io/component-base/version.gitMajor=1",
		"-X k8s.io/component-base/version.gitMinor=34",
		"-X k8s.io/component-base/version.buildDate=2026-01-01T00:00:00Z",
	} {
		if !strings.Contains(tg.LDFlags, want) {
			t.Errorf("ldflags lack %q: %s", want, tg.LDFlags)
		}
	}
	if tg.Outputs[Kubelet] != "k8s.io/kubernetes/cmd/kubelet" || tg.Name != "kubernetes-v1.34.4" || tg.ModuleDir != "/src/tools/upstream/kubernetes" {
		t.Errorf("unexpected target %+v", tg)
	}
	_, err = kubeTarget("/src", "v1.34", nil)
	check.Error(t, err, `"v1.34" is not vMAJOR.MINOR.PATCH`)
}

func TestEnsureBinariesRejectsUnknownComponent(t *testing.T) {
	t.Parallel()
	_, err := EnsureBinaries(t.Context(), BuildOptions{CacheDir: t.TempDir(), SourceDir: t.TempDir(), Components: []string{"kube-nonsense"}})
	check.Error(t, err, "kube-nonsense")
}
