package controlplane

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pullsecret/pullsecret/internal/testing/check"
)

// fakeModule writes a stdlib-only module with two commands, standing in for tools/upstream/kubernetes so
// the cache logic is tested in seconds without the real builds.
func fakeModule(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name, content string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/fake\n\ngo 1.24\n")
	write("go.sum", "")
	for _, c := range []string{"alpha", "beta"} {
		write("cmd/"+c+"/main.go", "package main\n\nimport \"fmt\"\n\nvar version = \"unset\"\n\nfunc main() { fmt.Println(\""+c+"\", version) }\n")
	}
	return dir
}

func fakeTarget(moduleDir string, names ...string) target {
	t := target{name: "fake-v1", moduleDir: moduleDir, ldflags: "-X main.version=v1", outputs: map[string]string{}}
	for _, n := range names {
		t.outputs[n] = "./cmd/" + n
	}
	return t
}

func runBinary(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command(path).Output()
	if err != nil {
		t.Fatalf("running %s: %v", path, err)
	}
	return strings.TrimSpace(string(out))
}

func modTime(t *testing.T, path string) time.Time {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.ModTime()
}

func TestEnsureBuildsOnceThenReusesCache(t *testing.T) {
	mod, cache := fakeModule(t), t.TempDir()
	var log bytes.Buffer
	dir, err := fakeTarget(mod, "alpha", "beta").ensure(t.Context(), cache, &log)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(cache, "bin", "fake-v1"); dir != want {
		t.Fatalf("dir = %s, want %s", dir, want)
	}
	if got := runBinary(t, filepath.Join(dir, "alpha")); got != "alpha v1" {
		t.Fatalf("alpha printed %q; ldflags not applied?", got)
	}
	if got := runBinary(t, filepath.Join(dir, "beta")); got != "beta v1" {
		t.Fatalf("beta printed %q", got)
	}
	built := modTime(t, filepath.Join(dir, "alpha"))

	log.Reset()
	if _, err := fakeTarget(mod, "alpha", "beta").ensure(t.Context(), cache, &log); err != nil {
		t.Fatal(err)
	}
	if log.Len() != 0 || !modTime(t, filepath.Join(dir, "alpha")).Equal(built) {
		t.Fatalf("second ensure rebuilt; log:\n%s", log.String())
	}
}

func TestEnsureBuildsOnlyMissingBinaries(t *testing.T) {
	mod, cache := fakeModule(t), t.TempDir()
	dir, err := fakeTarget(mod, "alpha").ensure(t.Context(), cache, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	built := modTime(t, filepath.Join(dir, "alpha"))
	var log bytes.Buffer
	if _, err := fakeTarget(mod, "alpha", "beta").ensure(t.Context(), cache, &log); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "building beta into") {
		t.Fatalf("expected only beta to be built; log:\n%s", log.String())
	}
	if !modTime(t, filepath.Join(dir, "alpha")).Equal(built) {
		t.Fatal("alpha was rebuilt although it was cached")
	}
}

func TestEnsureRebuildsWhenPinsChange(t *testing.T) {
	mod, cache := fakeModule(t), t.TempDir()
	ctx := t.Context()
	if _, err := fakeTarget(mod, "alpha").ensure(ctx, cache, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	// A bumped dependency changes go.sum; the cached binary must not be reused.
	if err := os.WriteFile(filepath.Join(mod, "go.sum"), []byte("example.org/dep v1.0.1 h1:x=\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	if _, err := fakeTarget(mod, "alpha").ensure(ctx, cache, &log); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "building alpha") {
		t.Fatalf("go.sum change did not rebuild; log:\n%s", log.String())
	}
	// So do different link flags (e.g. a new version stamp).
	log.Reset()
	tg := fakeTarget(mod, "alpha")
	tg.ldflags = "-X main.version=v2"
	dir, err := tg.ensure(ctx, cache, &log)
	if err != nil {
		t.Fatal(err)
	}
	if got := runBinary(t, filepath.Join(dir, "alpha")); got != "alpha v2" {
		t.Fatalf("after an ldflags change alpha printed %q", got)
	}
}

func TestEnsureConcurrentCallersBuildOnce(t *testing.T) {
	mod, cache := fakeModule(t), t.TempDir()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		logs bytes.Buffer
	)
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var log bytes.Buffer
			_, err := fakeTarget(mod, "alpha").ensure(context.Background(), cache, &log)
			errs <- err
			mu.Lock()
			logs.Write(log.Bytes())
			mu.Unlock()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(logs.String(), "building alpha"); n != 1 {
		t.Fatalf("built %d times, want 1 (the lock file must serialize builders); logs:\n%s", n, logs.String())
	}
}

func TestEnsureDoesNotWaitWhenEverythingIsBuilt(t *testing.T) {
	mod, cache := fakeModule(t), t.TempDir()
	dir, err := fakeTarget(mod, "alpha").ensure(t.Context(), cache, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	// Another process building more commands holds the lock for minutes; a caller whose
	// binaries are all there must not queue behind it.
	unlock, err := lockFile(t.Context(), dir+".lock", &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	if _, err := fakeTarget(mod, "alpha").ensure(ctx, cache, &bytes.Buffer{}); err != nil {
		t.Fatalf("ensure waited for the lock although alpha was cached: %v", err)
	}
}

func TestEnsureReportsBuildErrors(t *testing.T) {
	mod := fakeModule(t)
	if err := os.WriteFile(filepath.Join(mod, "cmd", "alpha", "main.go"), []byte("package main\nfunc main() { undefined() }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := fakeTarget(mod, "alpha").ensure(t.Context(), t.TempDir(), &bytes.Buffer{})
	if check.ErrDiff(err, "undefined") != "" {
		t.Fatalf("want the compiler error in the message, got %v", err)
	}
}

func TestLockFileHonoursContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := lockFile(t.Context(), path, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	var log bytes.Buffer
	if _, err := lockFile(ctx, path, &log); err == nil {
		t.Fatal("second lock succeeded while the first was held")
	}
	if !strings.Contains(log.String(), "waiting for another process") {
		t.Fatalf("waiting was not announced: %q", log.String())
	}
}

func TestKubeTargetStampsVersion(t *testing.T) {
	tg := kubeTarget("/src", []string{KubeAPIServer, Kubelet})
	for _, want := range []string{
		"-X k8s.io/client-go/pkg/version.gitVersion=v1.34.4",
		"-X k8s.io/component-base/version.gitVersion=v1.34.4",
		"-X k8s.io/component-base/version.gitMinor=34",
		"-X k8s.io/component-base/version.buildDate=2026-01-01T00:00:00Z",
	} {
		if !strings.Contains(tg.ldflags, want) {
			t.Errorf("ldflags lack %q: %s", want, tg.ldflags)
		}
	}
	if tg.outputs[Kubelet] != "k8s.io/kubernetes/cmd/kubelet" || tg.name != "k8s-v1.34.4" || tg.moduleDir != "/src/tools/upstream/kubernetes" {
		t.Errorf("unexpected target %+v", tg)
	}
}

func TestPinnedModulesMatchVersions(t *testing.T) {
	src, err := findSourceDir()
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{
		"tools/upstream/kubernetes/go.mod": "k8s.io/kubernetes " + KubernetesVersion,
		"tools/upstream/etcd/go.mod":        "go.etcd.io/etcd/server/v3 " + EtcdVersion,
	} {
		b, err := os.ReadFile(filepath.Join(src, file))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), want) {
			t.Errorf("%s does not require %s; keep the constants and the pins in step", file, want)
		}
	}
}

func TestEnsureBinariesRejectsUnknownComponent(t *testing.T) {
	_, err := EnsureBinaries(t.Context(), BuildOptions{CacheDir: t.TempDir(), SourceDir: t.TempDir(), Components: []string{"kube-nonsense"}})
	if check.ErrDiff(err, "kube-nonsense") != "" {
		t.Fatalf("want an unknown-command error, got %v", err)
	}
}
