// Package setup_test runs the setup action's install script the way its
// composite step does, against a local file server holding a release.
package setup_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

const version = "v1.4.2"

// release lays out what scripts/release publishes (assets) and what it
// writes into the release commit's setup/ (SHA256SUMS, VERSION).
type release struct {
	assets   map[string][]byte // served
	pinned   map[string][]byte // checksummed in setup/SHA256SUMS
	unpinned bool              // setup/ without SHA256SUMS (a branch, not a release)
}

func newRelease() release {
	r := release{assets: map[string][]byte{}, pinned: map[string][]byte{}}
	for _, name := range []string{"pullsecret_linux_amd64", "pullsecret_linux_arm64", "pullsecret_darwin_amd64",
		"pullsecret_darwin_arm64", "pullsecret_windows_amd64.exe", "pullsecret_windows_arm64.exe"} {
		body := []byte("#!/bin/sh\necho " + name + "\n")
		r.assets[name], r.pinned[name] = body, body
	}
	return r
}

type result struct {
	err            error
	stderr, stdout string
	path, outputs  string
	temp           string
}

// install serves rel under /releases/download/<version>/ and runs
// install.sh with a runner's environment for runnerOS/runnerArch.
func install(t *testing.T, rel release, runnerOS, runnerArch string) result {
	t.Helper()
	var requests []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests = append(requests, r.URL.Path)
		name, ok := strings.CutPrefix(r.URL.Path, "/releases/download/"+version+"/")
		body, found := rel.assets[name]
		if !ok || !found {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)

	work := t.TempDir()
	action := filepath.Join(work, "action")
	temp := filepath.Join(work, "runner_temp")
	for _, d := range []string{action, temp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	script, err := os.ReadFile("install.sh")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(action, "install.sh"), script, 0o755); err != nil {
		t.Fatal(err)
	}
	if !rel.unpinned {
		var sums strings.Builder
		for name, body := range rel.pinned {
			h := sha256.Sum256(body)
			fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(h[:]), name)
		}
		writeFile(t, filepath.Join(action, "SHA256SUMS"), sums.String())
		writeFile(t, filepath.Join(action, "VERSION"), version+"\n")
	}
	ghPath, ghOut := filepath.Join(work, "github_path"), filepath.Join(work, "github_output")
	writeFile(t, ghPath, "")
	writeFile(t, ghOut, "")

	cmd := exec.Command("bash", filepath.Join(action, "install.sh"))
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"PULLSECRET_SETUP_DIR=" + action,
		"PULLSECRET_DOWNLOAD_URL=" + srv.URL + "/releases/download/{version}",
		"RUNNER_OS=" + runnerOS, "RUNNER_ARCH=" + runnerArch,
		"RUNNER_TEMP=" + temp, "GITHUB_PATH=" + ghPath, "GITHUB_OUTPUT=" + ghOut,
	}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	res := result{err: cmd.Run(), stdout: stdout.String(), stderr: stderr.String(), temp: temp}
	p, _ := os.ReadFile(ghPath)
	o, _ := os.ReadFile(ghOut)
	res.path, res.outputs = string(p), string(o)
	return res
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestInstallsThePinnedBinary(t *testing.T) {
	t.Parallel()
	cases := []struct{ os, arch, asset, exe string }{
		{"Linux", "X64", "pullsecret_linux_amd64", "pullsecret"},
		{"Linux", "ARM64", "pullsecret_linux_arm64", "pullsecret"},
		{"macOS", "ARM64", "pullsecret_darwin_arm64", "pullsecret"},
		{"macOS", "X64", "pullsecret_darwin_amd64", "pullsecret"},
		{"Windows", "X64", "pullsecret_windows_amd64.exe", "pullsecret.exe"},
		{"Windows", "ARM64", "pullsecret_windows_arm64.exe", "pullsecret.exe"},
	}
	for _, tc := range cases {
		t.Run(tc.os+"/"+tc.arch, func(t *testing.T) {
			t.Parallel()
			rel := newRelease()
			r := install(t, rel, tc.os, tc.arch)
			if r.err != nil {
				t.Fatalf("install failed: %v\n%s", r.err, r.stderr)
			}
			bin := filepath.Join(r.temp, "pullsecret-"+version, "bin", tc.exe)
			got, err := os.ReadFile(bin)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(rel.assets[tc.asset]), string(got)); diff != "" {
				t.Errorf("installed binary (-want +got):\n%s", diff)
			}
			if fi, _ := os.Stat(bin); fi.Mode().Perm()&0o111 == 0 {
				t.Errorf("%s is not executable (%s)", bin, fi.Mode())
			}
			if diff := cmp.Diff(filepath.Dir(bin)+"\n", r.path); diff != "" {
				t.Errorf("GITHUB_PATH (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff("path="+bin+"\nversion="+version+"\n", r.outputs); diff != "" {
				t.Errorf("outputs (-want +got):\n%s", diff)
			}
		})
	}
}

// A binary that is not the one the release pinned is refused, and nothing
// is installed or put on PATH.
func TestRefuses(t *testing.T) {
	t.Parallel()
	tampered := newRelease()
	tampered.assets["pullsecret_linux_amd64"] = []byte("#!/bin/sh\necho evil\n")
	unpinned := newRelease()
	unpinned.unpinned = true
	missing := newRelease()
	delete(missing.assets, "pullsecret_linux_amd64")
	notInSums := newRelease()
	delete(notInSums.pinned, "pullsecret_linux_amd64")
	cases := []struct {
		name     string
		rel      release
		os, arch string
		want     string
	}{
		{"tampered binary", tampered, "Linux", "X64", "checksum mismatch for pullsecret_linux_amd64"},
		{"setup from a branch", unpinned, "Linux", "X64", "pins no release"},
		{"asset missing on the server", missing, "Linux", "X64", "download of"},
		{"asset not in SHA256SUMS", notInSums, "Linux", "X64", "has no checksum for pullsecret_linux_amd64"},
		{"unknown architecture", newRelease(), "Linux", "ARM", `unsupported RUNNER_ARCH "ARM"`},
		{"unknown OS", newRelease(), "Plan9", "X64", `unsupported RUNNER_OS "Plan9"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := install(t, tc.rel, tc.os, tc.arch)
			if r.err == nil {
				t.Fatalf("install succeeded, want failure containing %q", tc.want)
			}
			if !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, "::error") {
				t.Errorf("stderr %q does not report %q as an error annotation", r.stderr, tc.want)
			}
			if r.path != "" || r.outputs != "" {
				t.Errorf("PATH %q / outputs %q written on failure", r.path, r.outputs)
			}
			entries, _ := os.ReadDir(r.temp)
			for _, e := range entries {
				t.Errorf("left behind in RUNNER_TEMP: %s", e.Name())
			}
		})
	}
}

// TestActionYAML checks the composite action runs this script with the
// Marketplace's limits respected.
func TestActionYAML(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var a struct {
		Description string
		Branding    struct{ Icon, Color string }
		Runs        struct {
			Using string
			Steps []struct {
				Shell, Run string
				Env        map[string]string
			}
		}
	}
	if err := yaml.Unmarshal(raw, &a); err != nil {
		t.Fatal(err)
	}
	if n := len(a.Description); n == 0 || n > 125 {
		t.Errorf("description is %d characters; the Marketplace allows 1..125", n)
	}
	if a.Branding.Icon == "" || a.Branding.Color == "" {
		t.Error("branding missing")
	}
	if a.Runs.Using != "composite" || len(a.Runs.Steps) != 1 || a.Runs.Steps[0].Shell != "bash" ||
		!strings.Contains(a.Runs.Steps[0].Run, "$PULLSECRET_SETUP_DIR/install.sh") ||
		a.Runs.Steps[0].Env["PULLSECRET_SETUP_DIR"] != "${{ github.action_path }}" {
		t.Errorf("runs: %+v", a.Runs)
	}
}
