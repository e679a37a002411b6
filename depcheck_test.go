package main

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The layers, as go-containerregistry's depcheck guards its own: each rule
// is checked against `go list`'s transitive (non-test) dependencies of
// every package of this module, so an import that breaks a layer fails
// here, naming the package and what it reached.
//
//	flow:    main → cli → runner → {googleauth, watcher, refresher, kube, registry, dockerconfig, container} → leaves
//	leaves:  version, labels (keys only), actions, httplog, container, dockerconfig, registry, sakey, metrics
//
// Package                                          | may import (internal)           | must never reach
// -------------------------------------------------|---------------------------------|-----------------
// kube                                             | labels (a leaf of constants)    | anything else
// dockerconfig, registry, httplog, container,      | nothing                         | any internal package
// labels, version, actions, sakey, metrics         |                                 |
// googleauth                                       | sakey (it takes its own Input)  | config, runner, cli
// refresher                                        | (anything below runner)         | runner, cli
// watcher                                          | kube, labels, refresher, config | runner, cli, googleauth
// podrecovery                                      | kube, labels, refresher         | runner, cli, watcher, metrics
// every package but main                           |                                 | cli
// main (the shipped binary)                        |                                 | internal/testing/...
const depModule = "github.com/pullsecret/pullsecret"

type layerRule struct {
	pkgs []string // relative to the module; "" is main
	// allowed, when not nil, is every internal package pkgs may reach.
	allowed []string
	// forbidden are package prefixes pkgs must not reach.
	forbidden []string
}

var layerRules = []layerRule{
	{pkgs: []string{"internal/kube"}, allowed: []string{"internal/labels"}},
	{pkgs: []string{"internal/dockerconfig", "internal/registry", "internal/httplog", "internal/container",
		"internal/labels", "internal/version", "internal/actions", "internal/sakey", "internal/metrics"}, allowed: []string{}},
	{pkgs: []string{"internal/googleauth"}, allowed: []string{"internal/sakey"}},
	{pkgs: []string{"internal/refresher"}, forbidden: []string{"internal/runner", "internal/cli"}},
	// The controller decides; kube sends, and the Writer it is given
	// (runner's) mints and writes: it never calls Google itself.
	{pkgs: []string{"internal/watcher"}, allowed: []string{"internal/kube", "internal/labels", "internal/refresher",
		"internal/config", "internal/testrig", "internal/registry", "internal/sakey", "internal/version"}},
	// podrecovery is consumed by the watcher through its PodRecoverer
	// interface; it never reaches the watcher, the wiring or the metrics.
	{pkgs: []string{"internal/podrecovery"}, forbidden: []string{"internal/runner", "internal/cli", "internal/watcher", "internal/metrics"}},
	{pkgs: []string{""}, forbidden: []string{"internal/testing"}},
}

// depsOf maps every package of the module (relative path, "" for main) to
// the module's packages it depends on, transitively, test files excluded.
func depsOf(t *testing.T) map[string][]string {
	t.Helper()
	touchSources(t)
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}{{range .Deps}} {{.}}{{end}}", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg, ok := depRel(f[0])
		if !ok {
			continue
		}
		deps[pkg] = []string{}
		for _, d := range f[1:] {
			if r, ok := depRel(d); ok {
				deps[pkg] = append(deps[pkg], r)
			}
		}
	}
	return deps
}

// touchSources reads every directory and stats every Go file of the
// module: go test caches a result by the files the test itself opened, and
// go list's reads do not count, so without this a new import elsewhere
// would be answered from the cache.
func touchSources(t *testing.T) {
	t.Helper()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata"):
			return filepath.SkipDir
		case !d.IsDir() && strings.HasSuffix(path, ".go"):
			_, err = os.Stat(path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func depRel(importPath string) (string, bool) {
	if importPath == depModule {
		return "", true
	}
	r, ok := strings.CutPrefix(importPath, depModule+"/")
	return r, ok
}

func depUnder(pkg, prefix string) bool { return pkg == prefix || strings.HasPrefix(pkg, prefix+"/") }

func TestLayers(t *testing.T) {
	t.Parallel()
	deps := depsOf(t)
	for _, r := range layerRules {
		for _, pkg := range r.pkgs {
			reached, ok := deps[pkg]
			if !ok {
				t.Errorf("rule names %q, which go list does not know: update the table", pkg)
				continue
			}
			for _, d := range reached {
				if r.allowed != nil && !slices.Contains(r.allowed, d) {
					t.Errorf("%s reaches %s; it may import only %v (see the table in depcheck_test.go)", depName(pkg), d, r.allowed)
				}
				for _, f := range r.forbidden {
					if depUnder(d, f) {
						t.Errorf("%s reaches %s, which it must never import (see the table in depcheck_test.go)", depName(pkg), d)
					}
				}
			}
		}
	}
	// Nothing imports cli but main: the command line is the top layer.
	for pkg, reached := range deps {
		if pkg != "" && slices.Contains(reached, "internal/cli") {
			t.Errorf("%s reaches internal/cli; only main may import it", depName(pkg))
		}
	}
	// Guard the guard: if go list printed nothing useful the rules would
	// pass vacuously.
	if len(deps[""]) < 10 {
		t.Errorf("go list found %d internal packages under main, want the product's (%v)", len(deps[""]), deps[""])
	}
}

func depName(pkg string) string {
	if pkg == "" {
		return "main"
	}
	return pkg
}
