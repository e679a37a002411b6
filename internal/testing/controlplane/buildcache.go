package controlplane

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
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

// target is one nested module whose main packages are built into one cache directory.
type target struct {
	name      string            // cache directory under <cache>/bin, e.g. "k8s-v1.34.4"
	moduleDir string            // the nested module (its go.mod and go.sum are the cache key)
	ldflags   string            // part of the cache key: a flag change must rebuild
	outputs   map[string]string // binary name -> package path (relative to moduleDir or absolute import path)
}

// stampFile records which sources the binaries in a cache directory were built from.
const stampFile = ".source"

// ensure makes every output of t exist in <cache>/bin/<t.name> and returns that directory.
func (t target) ensure(ctx context.Context, cacheDir string, log io.Writer) (string, error) {
	key, err := t.sourceKey()
	if err != nil {
		return "", err
	}
	binRoot := filepath.Join(cacheDir, "bin")
	if err := os.MkdirAll(binRoot, 0o755); err != nil {
		return "", err
	}
	dir := filepath.Join(binRoot, t.name)
	// Fast path without the lock: binaries only appear by rename once built, so if all are there
	// under the right stamp they are complete, even while another process builds extra commands.
	if len(t.missing(dir, key)) == 0 {
		return dir, nil
	}
	unlock, err := lockFile(ctx, dir+".lock", log)
	if err != nil {
		return "", err
	}
	defer unlock()

	// A different go.sum or flag set means every binary in the directory is stale. Binaries
	// only ever appear by rename after a successful build, so the new stamp can go first.
	if stamp, err := os.ReadFile(filepath.Join(dir, stampFile)); err != nil || string(stamp) != key {
		if err := os.RemoveAll(dir); err != nil {
			return "", err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", err
		}
		if err := writeFileAtomic(filepath.Join(dir, stampFile), []byte(key), 0o644); err != nil {
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

// missing lists the outputs not yet in dir, or all of them if dir was built from other sources.
func (t target) missing(dir, key string) []string {
	var names []string
	stamp, err := os.ReadFile(filepath.Join(dir, stampFile))
	stale := err != nil || string(stamp) != key
	for name := range t.outputs {
		if _, err := os.Stat(filepath.Join(dir, name)); stale || err != nil {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// sourceKey hashes what determines the binaries' content.
func (t target) sourceKey() (string, error) {
	h := sha256.New()
	for _, f := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(t.moduleDir, f))
		if err != nil {
			return "", fmt.Errorf("reading the pinned module: %w", err)
		}
		fmt.Fprintf(h, "%s %d\n", f, len(b))
		h.Write(b)
	}
	fmt.Fprintf(h, "ldflags %s\nplatform %s/%s\n", t.ldflags, runtime.GOOS, runtime.GOARCH)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// build compiles names into a scratch directory next to dir, then renames them into dir so a
// reader never sees a half-written executable.
func (t target) build(ctx context.Context, dir string, names []string, log io.Writer) error {
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
	args := []string{"build", "-trimpath", "-ldflags", t.ldflags, "-o", tmp + string(filepath.Separator)}
	if len(names) == 1 {
		args[len(args)-1] = filepath.Join(tmp, names[0])
	}
	for _, n := range names {
		pkg := t.outputs[n]
		if len(names) > 1 && filepath.Base(pkg) != n {
			return fmt.Errorf("internal: package %s does not build a binary named %s", pkg, n)
		}
		args = append(args, pkg)
	}
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Dir = t.moduleDir
	// The same settings as the documented manual build, so the Go build cache is shared with it;
	// -trimpath also makes the cache independent of where the checkout lives.
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false", "GOWORK=off")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var tail tailBuffer
	out := io.MultiWriter(log, &tail) // one writer: exec then copies both streams in one goroutine
	cmd.Stdout, cmd.Stderr = out, out

	fmt.Fprintf(log, "controlplane: building %s into %s (several minutes if the Go build cache is cold)\n", strings.Join(names, ", "), dir)
	start := time.Now()
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("building %s: %w", strings.Join(names, ", "), ctx.Err())
		}
		return fmt.Errorf("go %s (in %s): %w\n%s", strings.Join(args, " "), t.moduleDir, err, tail.String())
	}
	for _, n := range names {
		if err := os.Rename(filepath.Join(tmp, n), filepath.Join(dir, n)); err != nil {
			return err
		}
	}
	fmt.Fprintf(log, "controlplane: built %s in %s\n", strings.Join(names, ", "), time.Since(start).Round(time.Second))
	return nil
}

// lockFile takes an exclusive flock on path, polling so that ctx can cancel the wait.
func lockFile(ctx context.Context, path string, log io.Writer) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	announced := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil // closing the descriptor releases the lock
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		if !announced {
			fmt.Fprintf(log, "controlplane: waiting for another process building into the cache (%s)\n", path)
			announced = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for %s: %w", path, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
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
