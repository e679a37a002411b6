package repocheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// usesLine is a `uses:` of a third-party action, pinned as it must be: a
// full commit SHA (tags move; a SHA cannot) and the version it is, as a
// comment for people and for dependabot.
var (
	usesLine       = regexp.MustCompile(`^\s*(?:-\s+)?uses:\s*(\S+)(.*)$`)
	pinned         = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$`)
	versionComment = regexp.MustCompile(`^\s+#\s+v[0-9]+(\.[0-9]+){0,2}\s*$`)
)

// TestWorkflowsPinnedAndLeastPrivilege checks every workflow and action.yml:
// third-party actions pinned by full commit SHA with a version comment,
// workflow-level permissions empty and each job granting only its own.
func TestWorkflowsPinnedAndLeastPrivilege(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob(".github/workflows/*.yml")
	if len(files) < 3 {
		t.Fatalf("found %d workflows, want ci, e2e and release at least", len(files))
	}
	actions := []string{"action.yml", "setup/action.yml"}
	for _, f := range append(files, actions...) {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(raw), "\n") {
			m := usesLine.FindStringSubmatch(line)
			if m == nil || strings.HasPrefix(m[1], "./") || strings.HasPrefix(m[1], "docker://") {
				continue
			}
			if !pinned.MatchString(m[1]) || !versionComment.MatchString(m[2]) {
				t.Errorf("%s:%d: %q is not pinned as owner/repo@<40-hex SHA> # vX.Y.Z", f, i+1, strings.TrimSpace(line))
			}
		}
	}
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		var wf struct {
			Permissions *map[string]string `json:"permissions"`
			Jobs        map[string]struct {
				Permissions *map[string]string `json:"permissions"`
			} `json:"jobs"`
		}
		if err := yaml.Unmarshal(raw, &wf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if wf.Permissions == nil || len(*wf.Permissions) != 0 {
			t.Errorf("%s: workflow-level permissions must be {} (each job grants its own)", f)
		}
		for name, job := range wf.Jobs {
			if job.Permissions == nil {
				t.Errorf("%s: job %s has no permissions:", f, name)
			}
		}
	}
}

// TestGoInstallable: `go install github.com/pullsecret/pullsecret@vX.Y.Z`
// ignores replace directives of the installed module and refuses to build
// one that has them, so go.mod must have none; the module path must be the
// repository's and the main package at its root.
func TestGoInstallable(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	if lines[0] != "module github.com/pullsecret/pullsecret" {
		t.Errorf("go.mod starts %q", lines[0])
	}
	for i, l := range lines {
		if f := strings.Fields(l); len(f) > 0 && (f[0] == "replace" || f[0] == "exclude") {
			t.Errorf("go.mod:%d: %q breaks go install module@version", i+1, l)
		}
	}
}
