package actions

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pullsecret/pullsecret/internal/testing/check"
)

// parseOutputs reads GITHUB_OUTPUT the way the runner does
// (actions/runner SetOutputFileCommand: `name=value` lines, or
// `name<<DELIMITER`, value lines, a line equal to DELIMITER).
func parseOutputs(t *testing.T, text string) map[string]string {
	t.Helper()
	out := map[string]string{}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if l == "" {
			continue
		}
		if name, delim, ok := strings.Cut(l, "<<"); ok && !strings.Contains(name, "=") {
			var val []string
			i++
			for ; i < len(lines) && lines[i] != delim; i++ {
				val = append(val, lines[i])
			}
			if i == len(lines) {
				t.Fatalf("unterminated heredoc %q in %q", delim, text)
			}
			out[name] = strings.Join(val, "\n")
			continue
		}
		name, val, ok := strings.Cut(l, "=")
		if !ok {
			t.Fatalf("malformed line %q", l)
		}
		out[name] = val
	}
	return out
}

func githubEnv(dir string) map[string]string {
	return map[string]string{
		"GITHUB_ACTIONS":      "true",
		"GITHUB_OUTPUT":       filepath.Join(dir, "output"),
		"GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary"),
	}
}

// A value must not be able to end its heredoc early and add outputs of its
// own (go-githubactions uses one fixed, public delimiter).
func TestSetOutputCannotInject(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := githubEnv(dir)
	r := New(check.Getenv(env), &bytes.Buffer{}, &bytes.Buffer{})
	evil := "x\n_GitHubActionsFileCommandDelimeter_\nsecret_name<<EOF\nhijacked\nEOF\nghadelimiter_\ny"
	r.SetOutput("namespaces", evil)
	r.SetOutput("secret_name", "gcr-pull-secret")
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(env["GITHUB_OUTPUT"])
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"namespaces": evil, "secret_name": "gcr-pull-secret"}
	if diff := cmp.Diff(want, parseOutputs(t, string(b))); diff != "" {
		t.Errorf("outputs as the runner reads them (-want +got):\n%s\nfile:\n%s", diff, b)
	}
	// Each write has its own random delimiter.
	var delims []string
	for _, l := range strings.Split(string(b), "\n") {
		if _, d, ok := strings.Cut(l, "<<ghadelimiter_"); ok {
			delims = append(delims, d)
		}
	}
	if len(delims) != 2 || delims[0] == delims[1] || len(delims[0]) < 32 {
		t.Errorf("delimiters %q: want two distinct random ghadelimiter_ suffixes", delims)
	}
}

// A value that contains the delimiter is refused, never written.
func TestSetOutputRefusesValueContainingDelimiter(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := githubEnv(dir)
	r := New(check.Getenv(env), &bytes.Buffer{}, &bytes.Buffer{})
	r.newDelimiter = func() string { return "ghadelimiter_fixed" }
	r.SetOutput("namespaces", "a\nghadelimiter_fixed\nb")
	err := r.Err()
	if check.ErrDiff(err, `"namespaces"`, "delimiter") != "" {
		t.Fatalf("Err() = %v, want a refusal naming the output", err)
	}
	if b, _ := os.ReadFile(env["GITHUB_OUTPUT"]); len(b) != 0 {
		t.Errorf("wrote %q", b)
	}
}

// Outputs are written after the cluster was changed: a missing or
// unwritable GITHUB_OUTPUT must never panic, every other output and the
// summary are still written, and the failure is reported by Err.
func TestFileCommandsNeverPanic(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		env       func(dir string) map[string]string
		wantErr   string // "" means no error
		wantPrint string // what the log must show instead
	}{
		{
			name: "GITHUB_OUTPUT unset",
			env: func(dir string) map[string]string {
				e := githubEnv(dir)
				delete(e, "GITHUB_OUTPUT")
				return e
			},
			wantPrint: "secret_name=gcr-pull-secret",
		},
		{
			name: "GITHUB_OUTPUT is a directory",
			env: func(dir string) map[string]string {
				e := githubEnv(dir)
				e["GITHUB_OUTPUT"] = dir
				return e
			},
			wantErr: "GITHUB_OUTPUT",
		},
		{
			name: "GITHUB_OUTPUT in a missing directory",
			env: func(dir string) map[string]string {
				e := githubEnv(dir)
				e["GITHUB_OUTPUT"] = filepath.Join(dir, "missing", "output")
				return e
			},
			wantErr: "GITHUB_OUTPUT",
		},
		{
			name: "GITHUB_STEP_SUMMARY unwritable",
			env: func(dir string) map[string]string {
				e := githubEnv(dir)
				e["GITHUB_STEP_SUMMARY"] = dir
				return e
			},
			wantErr: "GITHUB_STEP_SUMMARY",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			env := tc.env(dir)
			var out, results bytes.Buffer
			r := New(check.Getenv(env), &out, &results)
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("panicked: %v", p)
					}
				}()
				r.SetOutput("secret_name", "gcr-pull-secret")
				r.SetOutput("namespaces", `["a"]`)
				r.AddStepSummary("### summary")
			}()
			err := r.Err()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("Err() = %v", err)
			case tc.wantErr != "" && (check.ErrDiff(err, tc.wantErr) != ""):
				t.Errorf("Err() = %v, want it to name %s", err, tc.wantErr)
			}
			if !strings.Contains(out.String()+results.String(), tc.wantPrint) {
				t.Errorf("printed %q, want %q", out.String()+results.String(), tc.wantPrint)
			}
			// Whatever failed, the other file still received its content.
			if env["GITHUB_STEP_SUMMARY"] != dir {
				if b, _ := os.ReadFile(env["GITHUB_STEP_SUMMARY"]); !strings.Contains(string(b), "### summary") {
					t.Errorf("summary not written: %q", b)
				}
			}
			if env["GITHUB_OUTPUT"] != "" && env["GITHUB_OUTPUT"] != dir && !strings.Contains(env["GITHUB_OUTPUT"], "missing") {
				b, _ := os.ReadFile(env["GITHUB_OUTPUT"])
				if got := parseOutputs(t, string(b)); got["namespaces"] != `["a"]` {
					t.Errorf("outputs = %v", got)
				}
			}
		})
	}
}
