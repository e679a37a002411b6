package kube

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// workspacePath finds the kubeconfig file the input names. A relative path
// is the workspace's: GitHub starts every step, docker actions included, in
// $GITHUB_WORKSPACE, but runner emulators may mount the workspace
// elsewhere than /github/workspace and start the container in another
// directory, so a relative path not found where we stand is looked up in
// $GITHUB_WORKSPACE too. The error says where the file was looked for and
// the way out that fits: "put it under $GITHUB_WORKSPACE" only when it is
// not already there.
func workspacePath(path string, getenv func(string) string) (string, error) {
	_, err := os.Stat(path)
	if err == nil {
		return path, nil
	}
	ws := getenv("GITHUB_WORKSPACE")
	if ws != "" && !filepath.IsAbs(path) {
		path = filepath.Join(ws, path)
		if _, err = os.Stat(path); err == nil {
			return path, nil
		}
	}
	switch {
	case ws == "":
		return "", fmt.Errorf("input \"kubeconfig\": %q cannot be read (%v): check the path, or pass its content inline", path, err)
	case inWorkspace(path, ws):
		return "", fmt.Errorf("input \"kubeconfig\": %q is in $GITHUB_WORKSPACE but cannot be read (%v): the step that writes it has not run yet or wrote it elsewhere, or this runner does not share the workspace with docker actions (then run the CLI from pullsecret/pullsecret/setup in a run: step, or pass the content inline)", path, err)
	default:
		return "", fmt.Errorf("input \"kubeconfig\": %q cannot be read (%v); in a docker action, put it under $GITHUB_WORKSPACE (%s) or pass its content inline", path, err, ws)
	}
}

// inWorkspace reports whether path is under the workspace directory.
func inWorkspace(path, ws string) bool {
	rel, err := filepath.Rel(ws, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}
