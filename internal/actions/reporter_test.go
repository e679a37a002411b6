package actions

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pullsecret/pullsecret/internal/testing/check"
)

func TestReporterMasksAndRedacts(t *testing.T) {
	t.Parallel()
	const token = "ya29.a-very-secret-token-value"
	key := "-----BEGIN FAKE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nAnotherSecretLineOfTheKey\n-----END FAKE KEY-----"
	for _, github := range []bool{true, false} {
		name := map[bool]string{true: "github", false: "plain"}[github]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			env := map[string]string{
				"GITHUB_OUTPUT":       filepath.Join(dir, "output"),
				"GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary"),
			}
			if github {
				env["GITHUB_ACTIONS"] = "true"
			}
			var out, results bytes.Buffer
			r := New(check.Getenv(env), &out, &results)
			r.Mask(token)
			r.Mask(key)
			r.Mask("ab") // too short to be a credential: ignored
			r.Infof("got token %s", token)
			r.Warningf("line %s", "AnotherSecretLineOfTheKey")
			r.Errorf("failed with %s", key)
			r.Group("group " + token)
			r.EndGroup()
			r.SetOutput("leak", token)
			r.AddStepSummary("summary " + token)

			summary, _ := os.ReadFile(env["GITHUB_STEP_SUMMARY"])
			output, _ := os.ReadFile(env["GITHUB_OUTPUT"])
			printed := out.String() + results.String()
			var logs []string
			for _, line := range strings.Split(printed, "\n") {
				if strings.HasPrefix(line, "::add-mask::") {
					if !github {
						t.Errorf("plain mode printed a mask command, leaking the secret: %q", line)
					}
					continue
				}
				logs = append(logs, line)
			}
			everything := strings.Join(logs, "\n") + string(summary) + string(output)
			for _, secret := range []string{token, "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "AnotherSecretLineOfTheKey"} {
				if strings.Contains(everything, secret) {
					t.Errorf("secret %q leaked into output:\n%s", secret[:6], everything)
				}
			}
			if github {
				for _, want := range []string{"::add-mask::" + token, "::add-mask::MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "::add-mask::AnotherSecretLineOfTheKey"} {
					if !strings.Contains(printed, want+"\n") {
						t.Errorf("missing mask command %q", want[:20])
					}
				}
				if strings.Contains(printed, "::add-mask::ab\n") {
					t.Error("masked a two-letter value")
				}
				if !strings.Contains(printed, "::error::failed with ***") {
					t.Errorf("error annotation missing or unredacted:\n%s", printed)
				}
			} else if !strings.Contains(results.String(), "leak=***\n") {
				t.Errorf("plain outputs: %q", results.String())
			}
		})
	}
}

func TestReporterDebug(t *testing.T) {
	t.Parallel()
	const token = "ya29.a-very-secret-token-value"
	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{
			name: "github",
			env:  map[string]string{"GITHUB_ACTIONS": "true"},
			want: "::debug::HTTP GET host/path?t=***\n",
		},
		{
			name: "plain",
			env:  map[string]string{},
			want: "debug: HTTP GET host/path?t=***\n",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out, results bytes.Buffer
			r := New(check.Getenv(tc.env), &out, &results)
			r.Mask(token)
			out.Reset()
			r.Debugf("HTTP GET host/path?t=%s", token)
			if got := out.String(); got != tc.want {
				t.Errorf("logged %q, want %q", got, tc.want)
			}
			if results.Len() != 0 {
				t.Errorf("debug line in the results: %q", results.String())
			}
		})
	}
}
