package actions

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pullsecret/pullsecret/internal/testing/check"
)

// A log line is text, never a workflow command: a namespace name, an API
// server message or a Google error that puts "::" at the start of a line
// must not be able to issue ::add-mask::, ::stop-commands:: or ::error::.
func TestInfoLinesCannotIssueWorkflowCommands(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
	}{
		{
			name: "second line",
			text: "cluster says:\n::error::forged",
		},
		{
			name: "first line",
			text: "::stop-commands::abc",
		},
		{
			name: "indented",
			text: "x\n   ::set-env name=A::b",
		},
		{
			name: "crlf",
			text: "x\r\n::warning::forged",
		},
		{
			name: "lone carriage return",
			text: "x\r::add-mask::forged",
		},
		{
			name: "lone carriage return, indented",
			text: "x\r\t::error::forged\r",
		},
		{
			name: "old syntax at the start",
			text: "##[error]forged",
		},
		{
			name: "old syntax inside a line",
			text: "namespace x: ##[warning]forged",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"GITHUB_ACTIONS": "true"}
			var out bytes.Buffer
			r := New(check.Getenv(env), &out, &out)
			r.Infof("%s", tc.text)
			for _, line := range strings.FieldsFunc(out.String(), func(c rune) bool { return c == '\n' || c == '\r' }) {
				// The runner's two syntaxes: "::cmd::" at the start of the
				// trimmed line, "##[cmd]" anywhere in it.
				if strings.HasPrefix(strings.TrimSpace(line), "::") || strings.Contains(line, "##[") {
					t.Errorf("Infof(%q) printed a workflow command line %q", tc.text, line)
				}
			}
			if !strings.Contains(out.String(), "forged") && strings.Contains(tc.text, "forged") {
				t.Errorf("the text itself was dropped: %q", out.String())
			}
		})
	}
}
