package repocheck

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

type workflowStep struct {
	ID   string            `json:"id"`
	Name string            `json:"name"`
	Uses string            `json:"uses"`
	If   string            `json:"if"`
	With map[string]any    `json:"with"`
	Env  map[string]string `json:"env"`
	Run  string            `json:"run"`
}

func releaseSteps(t *testing.T) []workflowStep {
	t.Helper()
	raw, err := os.ReadFile(".github/workflows/release.yml")
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		Jobs map[string]struct {
			Steps []workflowStep `json:"steps"`
		} `json:"jobs"`
	}
	if err := yaml.Unmarshal(raw, &wf); err != nil {
		t.Fatal(err)
	}
	if len(wf.Jobs) != 1 {
		t.Fatalf("release.yml has %d jobs, want one (its steps' order is what is checked)", len(wf.Jobs))
	}
	for _, j := range wf.Jobs {
		return j.Steps
	}
	return nil
}

// TestReleaseWorkflowMovesV1Last: users follow @v1 (the action) and the
// image's v1 tag, so v1 moves only after the image is signed, the signature
// verifies, and the image pulls by digest with no credentials (a private
// GHCR package would break every user); the release commit is reachable
// from a branch, and the binaries are built with go.mod's toolchain.
func TestReleaseWorkflowMovesV1Last(t *testing.T) {
	t.Parallel()
	steps := releaseSteps(t)
	find := func(what string, match func(workflowStep) bool) int {
		i := slices.IndexFunc(steps, match)
		if i < 0 {
			t.Errorf("release.yml has no step that %s", what)
		}
		return i
	}
	readToolchain := find("reads go.mod's toolchain line", func(s workflowStep) bool {
		return s.ID == "go" && strings.Contains(s.Run, "s/^toolchain go//p' go.mod") && strings.Contains(s.Run, "exit 1")
	})
	setupGo := find("sets up that Go", func(s workflowStep) bool {
		return strings.HasPrefix(s.Uses, "actions/setup-go@") && s.With["go-version"] == "${{ steps.go.outputs.version }}"
	})
	toolchain := find("checks go is go.mod's toolchain", func(s workflowStep) bool {
		return s.Env["WANT"] == "go${{ steps.go.outputs.version }}" && strings.Contains(s.Run, "go env GOVERSION") && strings.Contains(s.Run, "exit 1")
	})
	build := find("runs scripts/release", func(s workflowStep) bool { return strings.Contains(s.Run, "scripts/release ") })
	sign := find("signs the image", func(s workflowStep) bool { return strings.Contains(s.Run, "cosign sign --yes") })
	anonymous := find("pulls the image anonymously by digest", func(s workflowStep) bool {
		return strings.Contains(s.Run, "DOCKER_CONFIG=$(mktemp -d)") && strings.Contains(s.Run, `docker pull "$IMAGE"`) &&
			strings.Contains(s.Run, "Change visibility") && s.Env["IMAGE"] == "${{ steps.build.outputs.image }}"
	})
	verify := find("verifies the image signature", func(s workflowStep) bool {
		return strings.Contains(s.Run, "cosign verify ") && strings.Contains(s.Run, "--certificate-identity")
	})
	branch := find("keeps the release commit on releases/vX", func(s workflowStep) bool {
		return strings.Contains(s.Run, `branch="releases/${VERSION%%.*}"`) && strings.Contains(s.Run, `merge-base --is-ancestor "$release"`)
	})
	moveV1 := find("moves vX", func(s workflowStep) bool {
		return strings.Contains(s.Run, `git push --force origin "refs/tags/$major"`) && strings.Contains(s.Run, `imagetools create --tag "$REPO:$major"`)
	})
	if t.Failed() {
		return
	}
	order := []struct {
		name string
		i    int
	}{{"read the toolchain", readToolchain}, {"setup-go", setupGo}, {"toolchain check", toolchain}, {"build", build}, {"sign", sign}, {"anonymous pull", anonymous}, {"verify", verify}, {"releases/vX", branch}, {"move vX", moveV1}}
	for k := 1; k < len(order); k++ {
		if order[k-1].i >= order[k].i {
			t.Errorf("step %q (#%d) must come before %q (#%d)", order[k-1].name, order[k-1].i+1, order[k].name, order[k].i+1)
		}
	}
	if moveV1 != len(steps)-1 {
		t.Errorf("moving vX is step #%d of %d: it must be the last", moveV1+1, len(steps))
	}
	if !strings.Contains(steps[moveV1].If, "contains(inputs.version, '-')") {
		t.Errorf("moving vX must be skipped for pre-releases (if: %q)", steps[moveV1].If)
	}
	// Nothing but the last step touches the major tag, and nothing before
	// the checks pushes anything.
	major := regexp.MustCompile(`refs/tags/(\$\{VERSION%%\.\*\}|\$major)|:\$major`)
	for i, s := range steps {
		if i != moveV1 && major.MatchString(s.Run) {
			t.Errorf("step #%d %q moves the major tag; only the last step may", i+1, s.Name)
		}
		if i < verify && strings.Contains(s.Run, "git push") {
			t.Errorf("step #%d %q pushes before the image is verified", i+1, s.Name)
		}
	}
}

// TestGoModNamesPatchedToolchain: release binaries are built with a patched
// Go (security fixes), named by go.mod's toolchain line; the go line stays
// the x.y.0 that users building from source need at least.
func TestGoModNamesPatchedToolchain(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goLine := regexp.MustCompile(`(?m)^go ([0-9]+\.[0-9]+)\.0$`).FindSubmatch(raw)
	tc := regexp.MustCompile(`(?m)^toolchain go([0-9]+\.[0-9]+)\.([0-9]+)$`).FindSubmatch(raw)
	if goLine == nil || tc == nil {
		t.Fatalf("go.mod needs `go X.Y.0` and `toolchain goX.Y.Z` lines")
	}
	if string(tc[1]) != string(goLine[1]) || string(tc[2]) == "0" {
		t.Errorf("toolchain go%s.%s is not a patch release of go %s", tc[1], tc[2], goLine[1])
	}
}

// TestImagesPinnedByDigest: what the Dockerfile builds from is pinned by
// digest (a re-pushed tag would change the shipped binary), and the release
// commit's deploy/cronjob.yaml runs the release image by digest
// (scripts/release rewrites main's tag; tools/release tests the rewrite).
func TestImagesPinnedByDigest(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	digest := regexp.MustCompile(`@sha256:[0-9a-f]{64}$`)
	stages := map[string]bool{"scratch": true}
	for i, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 2 && f[0] == "ARG" && strings.Contains(f[1], "_IMAGE="):
			if !digest.MatchString(f[1]) {
				t.Errorf("Dockerfile:%d: %s is not pinned by digest", i+1, f[1])
			}
		case len(f) >= 2 && f[0] == "FROM":
			if len(f) >= 4 && strings.EqualFold(f[2], "AS") {
				stages[f[3]] = true
			}
			if !stages[f[1]] && !strings.HasPrefix(f[1], "${") && !digest.MatchString(f[1]) {
				t.Errorf("Dockerfile:%d: FROM %s is not pinned by digest", i+1, f[1])
			}
		}
	}
	script, err := os.ReadFile("scripts/release")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`-cronjob "$tmp/cronjob.yaml"`, `deploy/cronjob.yaml"`} {
		if !strings.Contains(string(script), want) {
			t.Errorf("scripts/release does not pin deploy/cronjob.yaml in the release commit (no %q)", want)
		}
	}
}
