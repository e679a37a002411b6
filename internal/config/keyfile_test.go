package config

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"

	"github.com/pullsecret/pullsecret/internal/testing/check"
)

func TestCredentialsFile(t *testing.T) {
	t.Parallel()
	files := map[string]string{"key.json": testKey, "empty.json": " \n"}
	readFile := func(p string) ([]byte, error) {
		if v, ok := files[p]; ok {
			return []byte(v), nil
		}
		return nil, fs.ErrNotExist
	}
	cases := []struct {
		name    string
		args    []string
		env     map[string]string
		stdin   string
		wantKey string
		wantErr []string
	}{
		{
			name:    "file",
			args:    []string{"--credentials-json-file", "key.json"},
			wantKey: testKey,
		},
		{
			name:    "stdin",
			args:    []string{"--credentials-json-file", "-"},
			stdin:   testKey + "\n",
			wantKey: testKey,
		},
		{
			name:    "no flag keeps the input",
			env:     map[string]string{"INPUT_CREDENTIALS_JSON": testKey},
			wantKey: testKey,
		},
		{
			name:    "missing file",
			args:    []string{"--credentials-json-file", "nope.json"},
			wantErr: []string{"--credentials-json-file", `"nope.json"`, "not exist"},
		},
		{
			name:    "empty file",
			args:    []string{"--credentials-json-file", "empty.json"},
			wantErr: []string{"--credentials-json-file", "empty"},
		},
		{
			name:    "empty stdin",
			args:    []string{"--credentials-json-file", "-"},
			wantErr: []string{"--credentials-json-file", "empty"},
		},
		{
			name:    "and the flag",
			args:    []string{"--credentials-json-file", "key.json", "--credentials-json", testKey},
			wantErr: []string{"--credentials-json-file", `"credentials_json"`},
		},
		{
			name:    "and the env",
			args:    []string{"--credentials-json-file", "key.json"},
			env:     map[string]string{"INPUT_CREDENTIALS_JSON": testKey},
			wantErr: []string{"--credentials-json-file", "INPUT_CREDENTIALS_JSON"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fset := pflag.NewFlagSet("t", pflag.ContinueOnError)
			lookup := Flags(fset, check.Lookup(tc.env))
			path := CredentialsFileFlag(fset)
			if err := fset.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			lookup, err := WithCredentialsFile(lookup, *path, strings.NewReader(tc.stdin), readFile)
			if tc.wantErr != nil {
				if d := check.ErrDiff(err, tc.wantErr...); d != "" {
					t.Fatal(d)
				}
				if strings.Contains(err.Error(), "BEGIN") || strings.Contains(err.Error(), "MIIB") {
					t.Errorf("error quotes the key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c, err := Load(lookup)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantKey, string(c.CredentialsJSON)); diff != "" {
				t.Errorf("key (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSecretsOnCommandLine(t *testing.T) {
	t.Parallel()
	fset := pflag.NewFlagSet("t", pflag.ContinueOnError)
	Flags(fset, func(string) (string, bool) { return "", false })
	CredentialsFileFlag(fset)
	if err := fset.Parse([]string{"--access-token", "ya29.x", "--credentials-json-file", "k", "--namespaces", "a"}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"--access-token"}, SecretsOnCommandLine(fset)); diff != "" {
		t.Error(diff)
	}
}
