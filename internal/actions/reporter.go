// Package actions speaks to whoever runs pullsecret: the GitHub Actions
// runner (workflow commands, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY) or, as a
// CLI or pre-deploy hook, a plain terminal. Every line it prints is redacted
// of registered secrets first, in both modes.
package actions

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"

	githubactions "github.com/sethvargo/go-githubactions"
)

// Reporter implements runner.Reporter. It never panics: outputs are
// written after the cluster was changed, and a reporting failure must not
// hide what the run did. Write failures are collected for Err.
type Reporter struct {
	mu      sync.Mutex
	github  bool
	getenv  func(string) string
	action  *githubactions.Action
	out     io.Writer // logs
	results io.Writer // plain-mode outputs
	secrets []string
	errs    []error
	// newDelimiter makes each heredoc delimiter; tests fix it.
	newDelimiter func() string
	warnedOutput bool
}

// New returns a reporter. In GitHub mode (GITHUB_ACTIONS=true) it issues
// workflow commands to out. Otherwise it never prints `::add-mask::` —
// that would put the secret itself into a plain CI log — and writes the
// results (outputs as name=value lines, then the summary table) to
// results, keeping out for logs: a CLI passes stdout and stderr.
func New(getenv func(string) string, out, results io.Writer) *Reporter {
	return &Reporter{
		github:       getenv("GITHUB_ACTIONS") == "true",
		getenv:       getenv,
		action:       githubactions.New(githubactions.WithGetenv(getenv), githubactions.WithWriter(io.Discard)),
		out:          out,
		results:      results,
		newDelimiter: randomDelimiter,
	}
}

// Err reports every output or summary that could not be written (joined),
// so the caller can fail the run after everything else was reported.
func (r *Reporter) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return errors.Join(r.errs...)
}

// Action exposes the underlying action, for GetIDToken only: its command
// writers panic on I/O errors, so it is given no writer.
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
			r.command("add-mask", v)
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

// Group starts a collapsible log group (a "== title" line on a terminal).
func (r *Reporter) Group(title string) {
	if r.github {
		r.lockedCommand("group", r.Redact(title))
		return
	}
	r.printf("== %s\n", r.Redact(title))
}

// EndGroup ends the group Group started.
func (r *Reporter) EndGroup() {
	if r.github {
		r.lockedCommand("endgroup", "")
	}
}

// Infof logs a line, redacted.
func (r *Reporter) Infof(format string, args ...any) {
	msg := r.Redact(fmt.Sprintf(format, args...))
	if r.github {
		msg = neutraliseCommands(msg)
	}
	r.printf("%s\n", msg)
}

// neutraliseCommands keeps text that reaches a log line (API server and
// Google messages, names) from being read as a workflow command. The
// runner reads its output line by line, ending a line at "\n", "\r\n" or a
// lone "\r" (.NET's ReadLine), and takes a line whose trimmed text starts
// with "::" as a command, and one containing "##[" anywhere as a command of
// the older syntax. Such a line gets a zero-width space in front, and every
// "##[" one between "##" and "[": the runner does not trim it and a reader
// does not see it.
func neutraliseCommands(msg string) string {
	var b strings.Builder
	for rest := msg; ; {
		end := strings.IndexAny(rest, "\r\n")
		line := rest
		if end >= 0 {
			line = rest[:end]
		}
		if strings.HasPrefix(strings.TrimSpace(line), "::") {
			b.WriteString("\u200b")
		}
		b.WriteString(strings.ReplaceAll(line, "##[", "##\u200b["))
		if end < 0 {
			return b.String()
		}
		b.WriteByte(rest[end])
		rest = rest[end+1:]
	}
}

// Warningf logs a warning: an annotation in GitHub, "warning: " on a
// terminal.
func (r *Reporter) Warningf(format string, args ...any) {
	msg := r.Redact(fmt.Sprintf(format, args...))
	if r.github {
		r.lockedCommand("warning", msg)
		return
	}
	r.printf("warning: %s\n", msg)
}

// Debugf logs a detail for --debug: a ::debug:: line in GitHub (shown when
// the run is re-run with debug logging), "debug: " on a terminal. Callers
// decide whether debugging is on.
func (r *Reporter) Debugf(format string, args ...any) {
	msg := r.Redact(fmt.Sprintf(format, args...))
	if r.github {
		r.lockedCommand("debug", msg)
		return
	}
	r.printf("debug: %s\n", msg)
}

// Errorf reports the run's failure once, as an ::error:: annotation.
func (r *Reporter) Errorf(format string, args ...any) {
	msg := r.Redact(fmt.Sprintf(format, args...))
	if r.github {
		r.lockedCommand("error", msg)
		return
	}
	r.printf("error: %s\n", msg)
}

// SetOutput writes an output to GITHUB_OUTPUT with a random heredoc
// delimiter. Outside GitHub, or where GITHUB_OUTPUT is unset (an old or
// emulated runner), it prints name=value to results instead.
func (r *Reporter) SetOutput(name, value string) {
	value = r.Redact(value)
	r.mu.Lock()
	defer r.mu.Unlock()
	path := r.getenv("GITHUB_OUTPUT")
	if !r.github || path == "" {
		if r.github && !r.warnedOutput {
			r.warnedOutput = true
			r.command("warning", "GITHUB_OUTPUT is not set: outputs are printed as name=value lines instead")
		}
		fmt.Fprintf(r.results, "%s=%s\n", name, value)
		return
	}
	text, err := keyValueCommand(name, value, r.newDelimiter())
	if err == nil {
		err = appendFile("GITHUB_OUTPUT", path, text)
	}
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("failed to set output %q: %w", name, err))
	}
}

// AddStepSummary appends to GITHUB_STEP_SUMMARY when there is one (GitHub,
// or a CI that emulates it); on a terminal it prints the table. The
// summary is Markdown appended as is: the runner does not parse it.
func (r *Reporter) AddStepSummary(markdown string) {
	markdown = r.Redact(markdown)
	r.mu.Lock()
	defer r.mu.Unlock()
	if path := r.getenv("GITHUB_STEP_SUMMARY"); path != "" {
		if err := appendFile("GITHUB_STEP_SUMMARY", path, markdown+"\n"); err != nil {
			r.errs = append(r.errs, fmt.Errorf("failed to write the step summary: %w", err))
		}
		return
	}
	if !r.github {
		fmt.Fprintf(r.results, "\n%s\n", markdown)
	}
}

func (r *Reporter) printf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.out, format, args...)
}

// lockedCommand issues a workflow command.
func (r *Reporter) lockedCommand(name, data string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.command(name, data)
}

// command writes ::name::data with r.mu held. A failed log write has
// nowhere to be reported; it is not a reason to stop the run.
func (r *Reporter) command(name, data string) {
	_, _ = fmt.Fprintf(r.out, "::%s::%s\n", name, escapeData(data))
}
