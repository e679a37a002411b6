// Package container knows what running as a GitHub docker action means:
// the runner mounts host directories at other paths (Path), a kubeconfig
// may be invisible inside the container (CheckKubeconfigVisible), and
// loopback is the container itself, so a kind cluster on the runner host
// is reached through the default gateway (RedirectLoopback, Host).
package container

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
)

// Where the runner mounts host directories into a docker action.
const (
	containerWorkspace  = "/github/workspace"
	containerRunnerTemp = "/github/runner_temp" // newer runners only (actions/runner PR 4011)
)

// Path maps a runner-host path into a docker action's container.
// Earlier steps export host paths (KUBECONFIG, GOOGLE_APPLICATION_CREDENTIALS
// under $GITHUB_WORKSPACE; azure/k8s-set-context writes under $RUNNER_TEMP),
// but the runner mounts the workspace at /github/workspace and, on newer
// runners, $RUNNER_TEMP at /github/runner_temp. Outside a docker action
// paths are returned unchanged.
func Path(p string, getenv func(string) string) string {
	ws := getenv("GITHUB_WORKSPACE")
	if ws != containerWorkspace || p == "" || strings.HasPrefix(p, ws) || strings.HasPrefix(p, containerRunnerTemp) {
		return p
	}
	// The host workspace is $RUNNER_WORKSPACE/<repository name>.
	if rw := getenv("RUNNER_WORKSPACE"); rw != "" {
		if repo := getenv("GITHUB_REPOSITORY"); repo != "" {
			if rel, ok := under(p, filepath.Join(rw, filepath.Base(repo))); ok {
				return filepath.Join(ws, rel)
			}
		}
	}
	for _, hostTemp := range hostRunnerTemps(getenv) {
		if rel, ok := under(p, hostTemp); ok {
			return filepath.Join(containerRunnerTemp, rel)
		}
	}
	// Runners lay out work/<repo>/<repo> and work/_temp; recognise them even
	// without the variables (self-hosted runners with custom work folders
	// set them).
	parts := strings.Split(filepath.Clean(p), string(filepath.Separator))
	for i := 0; i+1 < len(parts); i++ {
		if parts[i] != "work" && parts[i] != "_work" {
			continue
		}
		if parts[i+1] == "_temp" {
			return filepath.Join(append([]string{containerRunnerTemp}, parts[i+2:]...)...)
		}
		if i+2 < len(parts) && parts[i] == "work" && parts[i+1] != "" && parts[i+1] == parts[i+2] {
			return filepath.Join(append([]string{ws}, parts[i+3:]...)...)
		}
	}
	return p
}

// hostRunnerTemps are where $RUNNER_TEMP is on the host: the variable
// itself when the runner passes the host path, and work/_temp next to
// the repository's work folder (the runner's fixed layout).
func hostRunnerTemps(getenv func(string) string) []string {
	var out []string
	if t := getenv("RUNNER_TEMP"); t != "" && t != containerRunnerTemp {
		out = append(out, t)
	}
	if rw := getenv("RUNNER_WORKSPACE"); rw != "" {
		out = append(out, filepath.Join(filepath.Dir(rw), "_temp"))
	}
	return out
}

func under(p, dir string) (string, bool) {
	rel, err := filepath.Rel(dir, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", false
	}
	return rel, true
}

// ErrKubeconfigNotVisible is a kubeconfig an earlier step wrote on the
// runner host where this docker action's container cannot see it.
var ErrKubeconfigNotVisible = errors.New("the kubeconfig is not visible inside this docker action's container")

// CheckKubeconfigVisible fails before anything else when a docker action
// is given a kubeconfig path the runner did not mount into its container,
// saying why and the ways out, instead of a bare "no such file" (or, worse,
// quietly falling back to another kubeconfig). original is the path as the
// step received it, mapped what Path made of it.
func CheckKubeconfigVisible(source, original, mapped string, getenv func(string) string, readFile func(string) ([]byte, error)) error {
	if getenv("GITHUB_WORKSPACE") != containerWorkspace {
		return nil
	}
	if _, err := readFile(mapped); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return nil // visible (other read errors are reported where it is loaded)
	}
	if !filepath.IsAbs(mapped) || mapped == containerWorkspace || strings.HasPrefix(mapped, containerWorkspace+"/") {
		// In the workspace, which the runner mounts: the file is not there
		// (yet), which is not a mount problem; loading it says so.
		return nil
	}
	var why string
	switch {
	case strings.HasPrefix(mapped, containerRunnerTemp):
		why = "it is under $RUNNER_TEMP, which this runner does not mount into docker actions (older or self-hosted runner)"
	case strings.HasPrefix(original, "/github/home/") || isHostHome(original):
		why = "it is in the runner's home directory (~/.kube/config), which is never mounted into docker actions"
	default:
		why = "it is on the runner host outside the directories the runner mounts into docker actions"
	}
	return fmt.Errorf("%w: %s %q does not exist in the container: %s. Ways out: write it into the workspace, pass it inline, or run the CLI (pullsecret/pullsecret/setup) in a run: step (see docs/TROUBLESHOOTING.md#kubeconfig-not-visible-in-the-docker-action)", ErrKubeconfigNotVisible, source, original, why)
}

// isHostHome recognises a runner user's home (~/.kube/config) on the host.
func isHostHome(p string) bool {
	for _, home := range []string{"/home/", "/Users/", "/root/"} {
		if strings.HasPrefix(p, home) && strings.Contains(p, "/.kube/") {
			return true
		}
	}
	return false
}

// CheckDefaultKubeconfigVisible covers a docker action given no kubeconfig
// at all: kubeconfig-writing steps (helm/kind-action, aws eks
// update-kubeconfig) leave it in the runner's ~/.kube/config, which the
// container cannot see, and outside a cluster nothing else is left.
func CheckDefaultKubeconfigVisible(getenv func(string) string, readFile func(string) ([]byte, error)) error {
	if getenv("GITHUB_WORKSPACE") != containerWorkspace || getenv("KUBERNETES_SERVICE_HOST") != "" {
		return nil
	}
	home := getenv("HOME")
	if home == "" {
		home = "/github/home"
	}
	p := filepath.Join(home, ".kube", "config")
	return CheckKubeconfigVisible("the default kubeconfig", p, p, getenv, readFile)
}
