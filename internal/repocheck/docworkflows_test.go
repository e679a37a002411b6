package repocheck

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// currentMajors is the one list of the third-party actions our docs and
// workflows show, at the major a user should use today. When a new major
// ships, change it here: TestDocWorkflowSnippets then names every snippet and
// workflow to update. Sources (late 2026): actions/checkout v7 (dependabot
// "Bump actions/checkout from 6 to 7", June 2026); google-github-actions/auth
// v3 and get-gke-credentials v3 (v3.0.0, Node 24); setup-gcloud v3;
// aws-actions/configure-aws-credentials v6 (6.0.0, 2026-02-04); azure/login
// v3 (3.0.0, 2026); azure/aks-set-context v5 (5.0.0); azure/use-kubelogin and
// helm/kind-action still v1; the rest as pinned (SHA and version comment) in
// .github/workflows, which dependabot keeps current.
var currentMajors = map[string]string{
	"actions/checkout":                          "v7",
	"actions/setup-go":                          "v7",
	"actions/cache":                             "v5",
	"actions/upload-artifact":                   "v7",
	"actions/attest-build-provenance":           "v4",
	"sigstore/cosign-installer":                 "v4",
	"google-github-actions/auth":                "v3",
	"google-github-actions/get-gke-credentials": "v3",
	"google-github-actions/setup-gcloud":        "v3",
	"aws-actions/configure-aws-credentials":     "v6",
	"azure/login":                               "v3",
	"azure/aks-set-context":                     "v5",
	"azure/use-kubelogin":                       "v1",
	"helm/kind-action":                          "v1",
}

// ourActions maps our own actions, as users reference them, to the metadata
// file declaring their inputs.
var ourActions = map[string]string{
	"pullsecret/pullsecret":       "action.yml",
	"pullsecret/pullsecret/setup": "setup/action.yml",
}

var (
	yamlFence    = regexp.MustCompile("(?ms)^```ya?ml[ \t]*\n(.*?)^```")
	workflowText = regexp.MustCompile(`(?m)^\s*(-\s+)?(uses|jobs|steps):`)
	majorTag     = regexp.MustCompile(`^v[0-9]+$`)
	commentMajor = regexp.MustCompile(`#\s+(v[0-9]+)(\.[0-9]+){0,2}\s*$`)
)

// TestDocWorkflowSnippets checks every workflow a user may paste from the
// README or docs/: it is YAML, every `with:` key of our actions is one of
// their inputs, and every third-party action is at its current major. The
// workflows of this repository are held to the same majors.
func TestDocWorkflowSnippets(t *testing.T) {
	t.Parallel()
	inputs := map[string][]string{}
	for ref, file := range ourActions {
		inputs[ref] = actionInputs(t, file)
	}
	docs, _ := filepath.Glob("docs/*.md")
	docs = append([]string{"README.md", "CONTRIBUTING.md"}, docs...)
	snippets := 0
	for _, doc := range docs {
		raw, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range yamlFence.FindAllSubmatchIndex(raw, -1) {
			body := string(raw[m[2]:m[3]])
			if !workflowText.MatchString(body) {
				continue
			}
			snippets++
			where := fmt.Sprintf("%s:%d", doc, 1+strings.Count(string(raw[:m[2]]), "\n"))
			for _, problem := range checkSnippet(body, inputs) {
				t.Errorf("%s: %s", where, problem)
			}
		}
	}
	if snippets < 10 {
		t.Errorf("found %d workflow snippets in the docs, want the README's and the recipes' at least", snippets)
	}
	workflows, _ := filepath.Glob(".github/workflows/*.yml")
	for _, f := range workflows {
		raw, _ := os.ReadFile(f)
		for i, line := range strings.Split(string(raw), "\n") {
			m := usesLine.FindStringSubmatch(line)
			if m == nil || strings.HasPrefix(m[1], "./") || strings.HasPrefix(m[1], "docker://") {
				continue
			}
			name, _, _ := strings.Cut(m[1], "@")
			c := commentMajor.FindStringSubmatch(m[2])
			if c == nil {
				continue // TestWorkflowsPinnedAndLeastPrivilege reports it
			}
			if want, ok := currentMajors[strings.ToLower(name)]; !ok {
				t.Errorf("%s:%d: %s is not in currentMajors: add it with its current major", f, i+1, name)
			} else if c[1] != want {
				t.Errorf("%s:%d: %s is at %s, the current major is %s", f, i+1, name, c[1], want)
			}
		}
	}
}

// checkSnippet returns what is wrong with one fenced workflow snippet.
func checkSnippet(body string, inputs map[string][]string) []string {
	var doc any
	if err := yaml.Unmarshal([]byte(body), &doc); err != nil {
		return []string{fmt.Sprintf("not valid YAML: %v", err)}
	}
	var problems []string
	for _, step := range steps(doc) {
		uses, _ := step["uses"].(string)
		name, ref, _ := strings.Cut(uses, "@")
		switch {
		case strings.HasPrefix(uses, "./") || strings.HasPrefix(uses, "docker://"):
		case inputs[name] != nil:
			with, _ := step["with"].(map[string]any)
			for key := range with {
				if !slices.Contains(inputs[name], key) {
					problems = append(problems, fmt.Sprintf("%s has no input %q (%s)", name, key, ourActions[name]))
				}
			}
		default:
			want, ok := currentMajors[strings.ToLower(name)]
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("%s is not in currentMajors: add it with its current major", uses))
			case !majorTag.MatchString(ref):
				problems = append(problems, fmt.Sprintf("%s: show the major tag @%s, which users follow", uses, want))
			case ref != want:
				problems = append(problems, fmt.Sprintf("%s is not the current major %s", uses, want))
			}
		}
	}
	return problems
}

// steps finds every step (a mapping with `uses:`) anywhere in a snippet: a
// whole workflow, a job's `steps:`, or a bare list of steps.
func steps(node any) []map[string]any {
	var out []map[string]any
	switch n := node.(type) {
	case map[string]any:
		if _, ok := n["uses"].(string); ok {
			return []map[string]any{n}
		}
		for _, v := range n {
			out = append(out, steps(v)...)
		}
	case []any:
		for _, v := range n {
			out = append(out, steps(v)...)
		}
	}
	return out
}

func actionInputs(t *testing.T, file string) []string {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Inputs map[string]any `json:"inputs"`
	}
	if err := yaml.Unmarshal(raw, &meta); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var names []string
	for name := range meta.Inputs {
		names = append(names, name)
	}
	return names
}

// TestReadmeQuickStartIsAWorkflow: the README's first snippet is a whole
// workflow a user can paste. A docker action sees no cluster unless an
// earlier step gives the job a kubeconfig, so it authenticates to Google,
// fetches the GKE credentials, runs pullsecret, then deploys, in that order.
func TestReadmeQuickStartIsAWorkflow(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := yamlFence.FindSubmatch(raw)
	if m == nil {
		t.Fatal("README.md has no yaml snippet")
	}
	var wf struct {
		// YAML 1.1 reads an unquoted `on` key as true, as GitHub does not.
		On          any               `json:"true"`
		Permissions map[string]string `json:"permissions"`
		Jobs        map[string]struct {
			RunsOn string           `json:"runs-on"`
			Steps  []map[string]any `json:"steps"`
		} `json:"jobs"`
	}
	if err := yaml.Unmarshal(m[1], &wf); err != nil {
		t.Fatalf("quick start: %v", err)
	}
	if wf.On == nil || len(wf.Jobs) != 1 {
		t.Fatalf("quick start is not a whole workflow (on: and one job)")
	}
	if wf.Permissions["id-token"] != "write" {
		t.Errorf("quick start lacks permissions id-token: write, which Workload Identity Federation needs")
	}
	want := []string{"google-github-actions/auth", "google-github-actions/get-gke-credentials", "pullsecret/pullsecret", "run: kubectl"}
	for _, job := range wf.Jobs {
		if job.RunsOn == "" {
			t.Errorf("quick start job has no runs-on")
		}
		var got []string
		for _, s := range job.Steps {
			if uses, ok := s["uses"].(string); ok {
				name, _, _ := strings.Cut(uses, "@")
				if slices.Contains(want, name) {
					got = append(got, name)
				}
			}
			if run, ok := s["run"].(string); ok && strings.HasPrefix(run, "kubectl") {
				got = append(got, "run: kubectl")
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("quick start steps are %q, want %q in this order", got, want)
		}
	}
}
