package runner

import (
	"path/filepath"
	"strings"
)

// ContainerPath maps a runner-host path into a docker action's container.
// Earlier steps export host paths (KUBECONFIG, GOOGLE_APPLICATION_CREDENTIALS
// under $GITHUB_WORKSPACE), but the runner mounts the workspace at
// /github/workspace. Outside a docker action paths are returned unchanged.
func ContainerPath(p string, getenv func(string) string) string {
	ws := getenv("GITHUB_WORKSPACE")
	if ws != "/github/workspace" || p == "" || strings.HasPrefix(p, ws) {
		return p
	}
	// The host workspace is $RUNNER_WORKSPACE/<repository name>.
	if rw := getenv("RUNNER_WORKSPACE"); rw != "" {
		if repo := getenv("GITHUB_REPOSITORY"); repo != "" {
			hostWS := filepath.Join(rw, filepath.Base(repo))
			if rel, ok := under(p, hostWS); ok {
				return filepath.Join(ws, rel)
			}
		}
	}
	// Runners lay out work/<repo>/<repo>; recognise it even without the
	// variables (self-hosted runners with custom work folders set them).
	parts := strings.Split(filepath.Clean(p), string(filepath.Separator))
	for i := 0; i+2 < len(parts); i++ {
		if parts[i] == "work" && parts[i+1] != "" && parts[i+1] == parts[i+2] && parts[i+1] != "_temp" {
			return filepath.Join(append([]string{ws}, parts[i+3:]...)...)
		}
	}
	return p
}

func under(p, dir string) (string, bool) {
	rel, err := filepath.Rel(dir, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", false
	}
	return rel, true
}
