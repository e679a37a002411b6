package buildcache

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Target is one module whose main packages are built into one cache
// directory, <cache>/build/<Name>.
type Target struct {
	Name      string            // cache directory, e.g. "kubernetes-v1.34.4"
	ModuleDir string            // the module; its go.mod, go.sum and non-test .go files are the key
	LDFlags   string            // part of the key: a flag change must rebuild
	Outputs   map[string]string // binary name -> package (relative to ModuleDir, or an import path)
}

// stampFile records which inputs the binaries in a cache directory were built from.
const stampFile = ".stamp"

// Ensure makes every output of t exist in <cacheDir>/build/<t.Name> and
// returns that directory. Builds are static (CGO_ENABLED=0), -trimpath, with
// the local toolchain only: the bytes depend on the inputs, not on the
// checkout's location or the caller's environment.
func (t Target) Ensure(ctx context.Context, cacheDir string, log io.Writer) (string, error) {
	key, err := t.sourceKey()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cacheDir, "build", t.Name)
	// Fast path without the lock: binaries only appear by rename once built, so if all are there
	// under the right stamp they are complete, even while another process builds extra commands.
	if len(t.missing(dir, key)) == 0 {
		return dir, nil
	}
	unlock, err := Lock(ctx, dir+".lock", log)
	if err != nil {
		return "", err
	}
	defer unlock()

	// Other inputs mean every binary in the directory is stale. Binaries
	// only ever appear by rename after a successful build, so the new stamp can go first.
	if ReadStamp(filepath.Join(dir, stampFile)) != key {
		if err := os.RemoveAll(dir); err != nil {
			return "", err
		}
		if err := WriteStamp(filepath.Join(dir, stampFile), key); err != nil {
			return "", err
		}
	}
	missing := t.missing(dir, key)
	if len(missing) == 0 {
		return dir, nil // built by whoever held the lock before us
	}
	if err := t.build(ctx, dir, missing, log); err != nil {
		return "", err
	}
	return dir, nil
}

// missing lists the outputs not yet in dir, or all of them if dir was built from other inputs.
func (t Target) missing(dir, key string) []string {
	var names []string
	stale := ReadStamp(filepath.Join(dir, stampFile)) != key
	for name := range t.Outputs {
		if _, err := os.Stat(filepath.Join(dir, name)); stale || err != nil {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// sourceKey hashes what determines the binaries' content: the module (its
// pins and, for our own tools, its code), the flags and the platform.
func (t Target) sourceKey() (string, error) {
	var k Key
	if err := k.Tree(t.ModuleDir, func(rel string) bool {
		return rel == "go.mod" || rel == "go.sum" || (strings.HasSuffix(rel, ".go") && !strings.HasSuffix(rel, "_test.go"))
	}); err != nil {
		return "", fmt.Errorf("reading the module to build: %w", err)
	}
	k.Add("ldflags", t.LDFlags)
	k.Add("platform", runtime.GOOS+"/"+runtime.GOARCH)
	return k.Sum(), nil
}

// build compiles names into a scratch directory next to dir, then renames them into dir so a
// reader never sees a half-written executable.
func (t Target) build(ctx context.Context, dir string, names []string, log io.Writer) error {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("building %s needs the go command on PATH: %w", strings.Join(names, ", "), err)
	}
	tmp, err := os.MkdirTemp(dir, ".build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	// With several packages, -o <dir>/ names each binary after its package's last element.
	args := []string{"build", "-trimpath", "-ldflags", t.LDFlags, "-o", tmp + string(filepath.Separator)}
	if len(names) == 1 {
		args[len(args)-1] = filepath.Join(tmp, names[0])
	}
	for _, n := range names {
		pkg := t.Outputs[n]
		if len(names) > 1 && filepath.Base(pkg) != n {
			return fmt.Errorf("internal: package %s does not build a binary named %s", pkg, n)
		}
		args = append(args, pkg)
	}
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Dir = t.ModuleDir
	// The same settings as the documented manual build, so the Go build cache is shared with it;
	// -trimpath also makes the cache independent of where the checkout lives.
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false", "GOWORK=off")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var tail tailBuffer
	out := io.MultiWriter(log, &tail) // one writer: exec then copies both streams in one goroutine
	cmd.Stdout, cmd.Stderr = out, out

	fmt.Fprintf(log, "buildcache: building %s into %s (several minutes if the Go build cache is cold)\n", strings.Join(names, ", "), dir)
	start := time.Now()
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("building %s: %w", strings.Join(names, ", "), ctx.Err())
		}
		return fmt.Errorf("go %s (in %s): %w\n%s", strings.Join(args, " "), t.ModuleDir, err, tail.String())
	}
	for _, n := range names {
		if err := os.Rename(filepath.Join(tmp, n), filepath.Join(dir, n)); err != nil {
			return err
		}
	}
	fmt.Fprintf(log, "buildcache: built %s in %s\n", strings.Join(names, ", "), time.Since(start).Round(time.Second))
	return nil
}

// tailBuffer keeps the last few KiB written to it, for error messages.
type tailBuffer struct{ b []byte }

const tailMax = 8 << 10

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > tailMax {
		t.b = t.b[len(t.b)-tailMax:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(bytes.TrimSpace(t.b)) }
