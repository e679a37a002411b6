package buildcache

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pullsecret/pullsecret/internal/testing/check"
)

func TestRequiredVersion(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	gomod := "module example.com/pin\n\ngo 1.24\n\nrequire example.com/single v1.2.3\n\nrequire (\n\texample.com/upstream v0.9.0 // indirect\n\texample.com/other v1.0.0\n)\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	for module, want := range map[string]string{"example.com/single": "v1.2.3", "example.com/upstream": "v0.9.0", "example.com/other": "v1.0.0"} {
		if got, err := RequiredVersion(dir, module); err != nil || got != want {
			t.Errorf("RequiredVersion(%s) = %q, %v; want %s", module, got, err, want)
		}
	}
	_, err := RequiredVersion(dir, "example.com/absent")
	check.Error(t, err, "does not require example.com/absent")
}

// The pins the tiers build from parse, so a malformed edit fails here, not
// minutes into a build.
func TestPinnedUpstreamsParse(t *testing.T) {
	t.Parallel()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	for dir, module := range map[string]string{
		"tools/upstream/kubernetes": "k8s.io/kubernetes",
		"tools/upstream/etcd":       "go.etcd.io/etcd/server/v3",
		"tools/upstream/coredns":    "github.com/coredns/coredns",
	} {
		if v, err := RequiredVersion(filepath.Join(root, dir), module); err != nil || v == "" {
			t.Errorf("%s: %q, %v", dir, v, err)
		}
	}
}
