// Package actions speaks to whoever runs pullsecret: the GitHub Actions
// runner (workflow commands, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY) or, as a
// CLI or pre-deploy hook, a plain terminal. Every line it prints is redacted
// of registered secrets first, in both modes.
package actions

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"

	githubactions "github.com/sethvargo/go-githubactions"
)

// Reporter implements runner.Reporter.
type Reporter struct {
	mu      sync.Mutex
	github  bool
	action  *githubactions.Action
	out     io.Writer // logs
	results io.Writer // plain-mode outputs
	secrets []string
}

// New returns a reporter. In GitHub mode (GITHUB_ACTIONS=true) it issues
// workflow commands to out. Otherwise it never prints `::add-mask::` —
// that would put the secret itself into a plain CI log — and writes outputs
// as name=value lines to results.
func New(getenv func(string) string, out, results io.Writer) *Reporter {
	return &Reporter{
		github:  getenv("GITHUB_ACTIONS") == "true",
		action:  githubactions.New(githubactions.WithGetenv(getenv), githubactions.WithWriter(out)),
		out:     out,
		results: results,
	}
}

// Action exposes the underlying action (for GetIDToken and inputs).
func (r *Reporter) Action() *githubactions.Action { return r.action }

// GitHub reports whether workflow commands are in use.
func (r *Reporter) GitHub() bool { return r.github }

// Mask registers a secret. Values too short to be credentials are ignored:
// masking "a" would garble every log line.
func (r *Reporter) Mask(secret string) {
	secret = strings.TrimSpace(secret)
	// GitHub masks line by line, so each line of a multi-line secret is a
	// secret of its own (and is redacted on its own here too).
	values := []string{secret}
	if strings.Contains(secret, "\n") {
		values = append(values, strings.Split(secret, "\n")...)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range values {
		v = strings.TrimSpace(v)
		if len(v) < 6 || slices.Contains(r.secrets, v) {
			continue
		}
		r.secrets = append(r.secrets, v)
		if r.github && !strings.Contains(v, "\n") {
			r.action.AddMask(v)
		}
	}
	// Longest first, so a secret containing another is replaced whole.
	sort.Slice(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
}

// Redact replaces every registered secret in s.
func (r *Reporter) Redact(s string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, sec := range r.secrets {
		s = strings.ReplaceAll(s, sec, "***")
	}
	return s
}

func (r *Reporter) Group(title string) {
	if r.github {
		r.action.Group(r.Redact(title))
		return
	}
	r.printf("== %s\n", r.Redact(title))
}

func (r *Reporter) EndGroup() {
	if r.github {
		r.action.EndGroup()
	}
}

func (r *Reporter) Infof(format string, args ...any) {
	r.printf("%s\n", r.Redact(fmt.Sprintf(format, args...)))
}

func (r *Reporter) Warningf(format string, args ...any) {
	msg := r.Redact(fmt.Sprintf(format, args...))
	if r.github {
		r.action.Warningf("%s", msg)
		return
	}
	r.printf("warning: %s\n", msg)
}

// Errorf reports the run's failure once, as an ::error:: annotation.
func (r *Reporter) Errorf(format string, args ...any) {
	msg := r.Redact(fmt.Sprintf(format, args...))
	if r.github {
		r.action.Errorf("%s", msg)
		return
	}
	r.printf("error: %s\n", msg)
}

func (r *Reporter) SetOutput(name, value string) {
	value = r.Redact(value)
	if r.github {
		r.action.SetOutput(name, value)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.results, "%s=%s\n", name, value)
}

// AddStepSummary appends to GITHUB_STEP_SUMMARY when there is one (GitHub,
// or a CI that emulates it); on a terminal it prints the table.
func (r *Reporter) AddStepSummary(markdown string) {
	markdown = r.Redact(markdown)
	if r.action.Getenv("GITHUB_STEP_SUMMARY") != "" {
		r.action.AddStepSummary(markdown)
		return
	}
	if !r.github {
		r.printf("\n%s\n", markdown)
	}
}

func (r *Reporter) printf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.out, format, args...)
}
