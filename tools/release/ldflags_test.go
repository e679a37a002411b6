package main

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// repoRoot is the pullsecret module this tool releases.
const repoRoot = "../.."

const modulePath = "github.com/pullsecret/pullsecret"

// TestLinkerFlagsNameRealVariables fails when an -X the release passes (or
// the Dockerfile's build for `uses: ./`) names a variable that does not
// exist in pullsecret's source: the linker ignores such a flag without a
// word, and the binary silently ships without the value.
func TestLinkerFlagsNameRealVariables(t *testing.T) {
	t.Parallel()
	var targets []string
	flags := ldflags(buildOptions{Version: "v1.2.3", Commit: testCommit}, time.Unix(testEpoch, 0), "ghcr.io/pullsecret/pullsecret@sha256:"+strings.Repeat("0", 64))
	for i, f := range flags {
		if f == "-X" && i+1 < len(flags) {
			targets = append(targets, flags[i+1])
		}
	}
	docker, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`-X\s+(\S+)`).FindAllStringSubmatch(string(docker), -1) {
		targets = append(targets, m[1])
	}
	if len(targets) < 7 {
		t.Fatalf("found %d -X flags (%q), want the release's four and the Dockerfile's three", len(targets), targets)
	}
	for _, x := range targets {
		sym, _, _ := strings.Cut(x, "=")
		dot := strings.LastIndex(sym, ".")
		if dot < 0 {
			t.Errorf("-X %s: want PACKAGE.VARIABLE=VALUE", x)
			continue
		}
		if err := stringVarExists(sym[:dot], sym[dot+1:]); err != "" {
			t.Errorf("-X %s: %s", x, err)
		}
	}
}

// stringVarExists says what is wrong with pkg.name as an -X target: the
// package must be pullsecret's (main is not: its variables cannot be
// imported, so nothing else could read them), and name a package-level
// string variable there.
func stringVarExists(pkg, name string) string {
	rel, ok := strings.CutPrefix(pkg, modulePath+"/")
	if !ok {
		return "not a package of " + modulePath
	}
	dir := filepath.Join(repoRoot, filepath.FromSlash(rel))
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		return "no Go files in " + dir
	}
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return "cannot parse the package: " + err.Error()
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for _, n := range vs.Names {
					if n.Name != name {
						continue
					}
					if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "string" {
						return "is not declared as a string variable (var " + name + " string)"
					}
					return ""
				}
			}
		}
	}
	return "no package-level variable " + name + " in " + dir
}

// The released CLI, built from pullsecret's real source with the release's
// flags, reports the version, commit, date and image it was stamped with:
// the image is what its refresher runs when refresh_image is empty.
func TestReleasedCLIReportsItsBuild(t *testing.T) {
	t.Parallel()
	if !isAMD64() {
		t.Skip("runs the linux/amd64 binary")
	}
	out := filepath.Join(t.TempDir(), "dist")
	a, err := build(buildOptions{Version: "v1.2.3", Commit: testCommit, Epoch: testEpoch, Src: repoRoot, Out: out,
		Repo: "ghcr.io/pullsecret/pullsecret", SourceURL: "https://github.com/pullsecret/pullsecret",
		Platforms: []platform{{"linux", "amd64", true}}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := exec.Command(filepath.Join(out, "pullsecret_linux_amd64"), "--version", "--output", "json").Output()
	if err != nil {
		t.Fatalf("--version: %v", err)
	}
	var v struct{ Version, Commit, Date, Image string }
	if err := json.Unmarshal(got, &v); err != nil {
		t.Fatalf("--version -o json: %v\n%s", err, got)
	}
	want := struct{ Version, Commit, Date, Image string }{"v1.2.3", testCommit, "2026-01-01T00:00:00Z", "ghcr.io/pullsecret/pullsecret@" + a.Digest.String()}
	if v != want {
		t.Errorf("the released CLI reports %+v, want %+v", v, want)
	}
}
