// Package buildcache holds the small pieces the e2e image builders share:
// where the cache lives, input hashing, stamps, locking, running commands and
// asking docker about images.
package buildcache

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// RootModule is the module path of the repository root.
const RootModule = "github.com/pullsecret/pullsecret"

// Dir is ${PULLSECRET_CACHE:-$HOME/.cache/pullsecret}, absolute.
func Dir() (string, error) {
	dir := os.Getenv("PULLSECRET_CACHE")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no cache dir: set PULLSECRET_CACHE: %w", err)
		}
		dir = filepath.Join(home, ".cache", "pullsecret")
	}
	return filepath.Abs(dir)
}

// RepoRoot finds the pullsecret checkout at or above the working directory.
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
			return "", fmt.Errorf("no %s checkout at or above %s", RootModule, wd)
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

// Lock takes an exclusive flock on path, waiting as long as it takes; the
// e2e suite may start several builders at once.
func Lock(path string) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		fmt.Fprintf(os.Stderr, "waiting for another build holding %s\n", path)
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
	}
	return func() { f.Close() }, nil
}

// Cmd prepares a command whose output goes to stderr (stdout of the builders
// is reserved for the result, e.g. the image name).
func Cmd(dir, name string, args ...string) *exec.Cmd {
	c := exec.Command(name, args...)
	c.Dir = dir
	c.Stdout, c.Stderr = os.Stderr, os.Stderr
	return c
}

// Run runs a command (see Cmd) and wraps its failure with the command line.
func Run(dir, name string, args ...string) error {
	if err := Cmd(dir, name, args...).Run(); err != nil {
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}

// Output runs a command and returns its trimmed stdout; stderr is included in the error.
func Output(dir, name string, args ...string) (string, error) {
	c := exec.Command(name, args...)
	c.Dir = dir
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// ImageID is the ID docker has for ref, or "" when it has no such image.
func ImageID(ref string) string {
	id, err := Output("", "docker", "image", "inspect", "--format", "{{.Id}}", ref)
	if err != nil {
		return ""
	}
	return id
}

// ImageLabel marks every image the e2e builders make, so that superseded
// builds can be pruned without touching anyone else's images.
const ImageLabel = "io.pullsecret.e2e"

// PruneSuperseded removes our images that lost their tag to a newer build
// (best effort: an image still used by a container stays).
func PruneSuperseded() {
	_, _ = Output("", "docker", "image", "prune", "-f", "--filter", "label="+ImageLabel)
}

// GoEnv is the environment for our go builds: static binaries, the local
// toolchain only, and no VCS stamping so a build does not depend on git state.
func GoEnv() []string {
	return append(os.Environ(), "GOTOOLCHAIN=local", "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false", "GOWORK=off")
}

// GoBinary builds the main package pkg of the module in moduleDir into
// <cacheDir>/bin/<name>/<base of out>, unless a stamp shows the same sources
// and flags were built already. Sources = the module's go.mod, go.sum and
// every non-test .go file in it.
func GoBinary(cacheDir, name, moduleDir, pkg, binName, ldflags string) (string, error) {
	var key Key
	key.Add("ldflags", ldflags)
	key.Add("pkg", pkg)
	if err := key.Tree(moduleDir, func(rel string) bool {
		return rel == "go.mod" || rel == "go.sum" || (strings.HasSuffix(rel, ".go") && !strings.HasSuffix(rel, "_test.go"))
	}); err != nil {
		return "", err
	}
	dir := filepath.Join(cacheDir, "bin", name)
	out := filepath.Join(dir, binName)
	stamp := filepath.Join(dir, ".source")
	if _, err := os.Stat(out); err == nil && ReadStamp(stamp) == key.Sum() {
		return out, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	fmt.Fprintf(os.Stderr, "building %s (%s in %s)\n", out, pkg, moduleDir)
	tmp := out + ".tmp"
	c := Cmd(moduleDir, "go", "build", "-trimpath", "-ldflags", ldflags, "-o", tmp, pkg)
	c.Env = GoEnv()
	if err := c.Run(); err != nil {
		return "", fmt.Errorf("go build %s in %s: %w", pkg, moduleDir, err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", err
	}
	return out, WriteStamp(stamp, key.Sum())
}

// ErrNotRoot is returned when a step needs root (chroot, debootstrap).
var ErrNotRoot = errors.New("must run as root (debootstrap, chroot and docker need it)")
