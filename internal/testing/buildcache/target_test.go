package buildcache

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

// fakeModule writes a stdlib-only module with two commands, standing in for a pinned module so
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

func fakeTarget(moduleDir string, names ...string) Target {
	t := Target{Name: "fake-v1", ModuleDir: moduleDir, LDFlags: "-X main.version=v1", Outputs: map[string]string{}}
	for _, n := range names {
		t.Outputs[n] = "./cmd/" + n
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
	dir, err := fakeTarget(mod, "alpha", "beta").Ensure(t.Context(), cache, &log)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(cache, "build", "fake-v1"); dir != want {
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
	if _, err := fakeTarget(mod, "alpha", "beta").Ensure(t.Context(), cache, &log); err != nil {
		t.Fatal(err)
	}
	if log.Len() != 0 || !modTime(t, filepath.Join(dir, "alpha")).Equal(built) {
		t.Fatalf("second ensure rebuilt; log:\n%s", log.String())
	}
}

func TestEnsureBuildsOnlyMissingBinaries(t *testing.T) {
	mod, cache := fakeModule(t), t.TempDir()
	dir, err := fakeTarget(mod, "alpha").Ensure(t.Context(), cache, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	built := modTime(t, filepath.Join(dir, "alpha"))
	var log bytes.Buffer
	if _, err := fakeTarget(mod, "alpha", "beta").Ensure(t.Context(), cache, &log); err != nil {
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
	if _, err := fakeTarget(mod, "alpha").Ensure(ctx, cache, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	// A bumped dependency changes go.sum; the cached binary must not be reused.
	if err := os.WriteFile(filepath.Join(mod, "go.sum"), []byte("example.org/dep v1.0.1 h1:x=\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	if _, err := fakeTarget(mod, "alpha").Ensure(ctx, cache, &log); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "building alpha") {
		t.Fatalf("go.sum change did not rebuild; log:\n%s", log.String())
	}
	// So do different link flags (e.g. a new version stamp).
	log.Reset()
	tg := fakeTarget(mod, "alpha")
	tg.LDFlags = "-X main.version=v2"
	dir, err := tg.Ensure(ctx, cache, &log)
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
			_, err := fakeTarget(mod, "alpha").Ensure(context.Background(), cache, &log)
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
	dir, err := fakeTarget(mod, "alpha").Ensure(t.Context(), cache, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	// Another process building more commands holds the lock for minutes; a caller whose
	// binaries are all there must not queue behind it.
	unlock, err := Lock(t.Context(), dir+".lock", &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	// Already cancelled: taking the lock (held above) would fail at once, whatever the machine's
	// speed; the fast path never consults the context.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := fakeTarget(mod, "alpha").Ensure(ctx, cache, &bytes.Buffer{}); err != nil {
		t.Fatalf("ensure waited for the lock although alpha was cached: %v", err)
	}
}

func TestEnsureReportsBuildErrors(t *testing.T) {
	mod := fakeModule(t)
	if err := os.WriteFile(filepath.Join(mod, "cmd", "alpha", "main.go"), []byte("package main\nfunc main() { undefined() }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := fakeTarget(mod, "alpha").Ensure(t.Context(), t.TempDir(), &bytes.Buffer{})
	if check.ErrDiff(err, "undefined") != "" {
		t.Fatalf("want the compiler error in the message, got %v", err)
	}
}

func TestLockFileHonoursContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := Lock(t.Context(), path, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	var log bytes.Buffer
	if _, err := Lock(ctx, path, &log); err == nil {
		t.Fatal("second lock succeeded while the first was held")
	}
	if !strings.Contains(log.String(), "waiting for another process") {
		t.Fatalf("waiting was not announced: %q", log.String())
	}
}

func TestEnsureRebuildsWhenSourcesChange(t *testing.T) {
	mod, cache := fakeModule(t), t.TempDir()
	if _, err := fakeTarget(mod, "alpha").Ensure(t.Context(), cache, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	// Our own tools (runc-capfix, crictl) are keyed by their code too.
	if err := os.WriteFile(filepath.Join(mod, "cmd", "alpha", "main.go"), []byte("package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"alpha edited\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir, err := fakeTarget(mod, "alpha").Ensure(t.Context(), cache, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if got := runBinary(t, filepath.Join(dir, "alpha")); got != "alpha edited" {
		t.Fatalf("after a source edit alpha printed %q", got)
	}
}
