// Package hostexec runs the host commands the e2e image builders need
// (docker, debootstrap, chroot, gcc) and asks docker about images. The cache
// itself (keys, stamps, locks, Go builds) is internal/testing/buildcache,
// shared with the control-plane harness.
package hostexec

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

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

// ErrNotRoot is returned when a step needs root (chroot, debootstrap).
var ErrNotRoot = errors.New("must run as root (debootstrap, chroot and docker need it)")
