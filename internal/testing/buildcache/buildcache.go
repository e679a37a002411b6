// Package buildcache is the one cache of everything the test tiers build
// from pinned sources: the Kubernetes and etcd binaries of the control-plane
// harness, and the binaries and images of the e2e node image (its builder,
// a nested module, imports this package too). Everything lives under
// ${PULLSECRET_CACHE:-$HOME/.cache/pullsecret}; each artifact is keyed by a
// hash of its inputs recorded in a stamp, and builders of the same artifact
// are serialized by a lock file, so parallel test packages and tiers wait for
// one build instead of racing.
//
// A stamp is one line: the input hash, then, for a docker image, the ID of
// the image built from those inputs.
package buildcache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// RootModule is the module path of the repository root.
const RootModule = "github.com/pullsecret/pullsecret"

// Dir is the cache root: dir if set, else $PULLSECRET_CACHE, else
// ~/.cache/pullsecret; absolute.
func Dir(dir string) (string, error) {
	if dir == "" {
		dir = os.Getenv("PULLSECRET_CACHE")
	}
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no cache dir: set PULLSECRET_CACHE: %w", err)
		}
		dir = filepath.Join(home, ".cache", "pullsecret")
	}
	return filepath.Abs(dir)
}

// RepoRoot finds the pullsecret checkout at or above the working directory
// (tests run in their package's directory, nested modules in theirs).
func RepoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.HasPrefix(b, []byte("module "+RootModule+"\n")) {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("no %s checkout at or above %s: run from the pullsecret checkout", RootModule, wd)
		}
	}
}

// Key accumulates the inputs of a build step into one hash.
type Key struct{ b strings.Builder }

// Add records a labelled value.
func (k *Key) Add(label, value string) { fmt.Fprintf(&k.b, "%s=%q\n", label, value) }

// File records a file's content hash.
func (k *Key) File(path string) error {
	sum, err := FileSHA256(path)
	if err != nil {
		return err
	}
	k.Add("file "+filepath.Base(path), sum)
	return nil
}

// Tree records every regular file under dir (path relative to dir, mode and
// content) whose name passes keep (nil keeps all).
func (k *Key) Tree(dir string, keep func(rel string) bool) error {
	var rels []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if keep == nil || keep(rel) {
			rels = append(rels, rel)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(rels)
	for _, rel := range rels {
		fi, err := os.Stat(filepath.Join(dir, rel))
		if err != nil {
			return err
		}
		sum, err := FileSHA256(filepath.Join(dir, rel))
		if err != nil {
			return err
		}
		k.Add("tree "+rel, fmt.Sprintf("%v %s", fi.Mode().Perm(), sum))
	}
	return nil
}

// Sum is the hex SHA-256 of everything added.
func (k *Key) Sum() string {
	h := sha256.Sum256([]byte(k.b.String()))
	return hex.EncodeToString(h[:])
}

// FileSHA256 is the hex SHA-256 of a file's content.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ReadStamp returns the content of a stamp file, "" if absent.
func ReadStamp(path string) string {
	b, _ := os.ReadFile(path)
	return strings.TrimSpace(string(b))
}

// WriteStamp atomically replaces a stamp file.
func WriteStamp(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content+"\n"), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Lock takes an exclusive flock on path, polling so that ctx can cancel the
// wait, and says once on log that it waits. Closing the returned function's
// descriptor releases the lock, also when the process dies.
func Lock(ctx context.Context, path string, log io.Writer) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	announced := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		if !announced {
			fmt.Fprintf(log, "buildcache: waiting for another process building into the cache (%s)\n", path)
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
