package config

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// Flags registers one CLI flag per input (kebab-case) and returns a Lookup
// that prefers a flag given on the command line, then the INPUT_* variable
// (as GitHub sets it), then the default. lookupEnv is os.LookupEnv in
// production: an input set to "" on purpose must be told from an unset one.
func Flags(fs *flag.FlagSet, lookupEnv func(string) (string, bool)) Lookup {
	values := make(map[string]*inputValue, len(Inputs))
	for _, in := range Inputs {
		v := &inputValue{isBool: in.Default == "false"}
		values[in.Name] = v
		fs.Var(v, in.Flag(), flagUsage(in))
	}
	return func(name string) (string, bool) {
		set := false
		fs.Visit(func(f *flag.Flag) {
			if f.Name == strings.ReplaceAll(name, "_", "-") {
				set = true
			}
		})
		if set {
			return values[name].val, true
		}
		return lookupEnv(EnvName(name))
	}
}

// EnvName is the variable GitHub sets for an input.
func EnvName(input string) string {
	return "INPUT_" + strings.ToUpper(strings.ReplaceAll(input, " ", "_"))
}

func flagUsage(in Input) string {
	u := stripMarkdown(in.Description)
	if in.Default != "" && !in.Secret {
		u += fmt.Sprintf(" (default %q)", in.Default)
	}
	return u + " [env " + EnvName(in.Name) + "]"
}

func stripMarkdown(s string) string { return strings.ReplaceAll(s, "`", "'") }

// Usage prints --help: what the tool does, then every flag.
func Usage(w io.Writer, fs *flag.FlagSet) func() {
	return func() {
		fmt.Fprintf(w, `pullsecret mints a short-lived Google access token and writes it as a
kubernetes.io/dockerconfigjson pull secret for gcr.io and Artifact Registry
into one, many or all namespaces, then adds it to ServiceAccounts'
imagePullSecrets (keeping everyone else's entries).

Usage:
  pullsecret [flags]

Every flag can also be given as its INPUT_* environment variable, which is
how the GitHub Action passes them. Examples:
  pullsecret --credentials-json-file key.json --namespaces 'preview-*'
  vault read -field=key secret/gcp | pullsecret --credentials-json-file - --namespaces 'preview-*'
  pullsecret --namespaces preview-42 --mode delete

Flags:
`)
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
}

// inputValue is a string flag; boolean inputs may also be given bare
// (--dry-run), like any CLI user expects.
type inputValue struct {
	val    string
	isBool bool
}

func (v *inputValue) String() string     { return v.val }
func (v *inputValue) Set(s string) error { v.val = s; return nil }
func (v *inputValue) IsBoolFlag() bool   { return v.isBool }

// FlagCredentialsJSONFile is the CLI-only way to give the key without
// putting it in argv (where /proc/PID/cmdline and shell history show it).
const FlagCredentialsJSONFile = "credentials-json-file"

// CredentialsFileFlag registers --credentials-json-file.
func CredentialsFileFlag(fs *flag.FlagSet) *string {
	return fs.String(FlagCredentialsJSONFile, "", "Read the service-account key (raw JSON or base64) from this file, or from standard input with '-'. Keeps the key out of the command line.")
}

// WithCredentialsFile returns a lookup whose credentials_json is the
// content of path ("-" reads stdin). Giving the key twice is an error, as
// two credential sources are.
func WithCredentialsFile(lookup Lookup, path string, stdin io.Reader, readFile func(string) ([]byte, error)) (Lookup, error) {
	if path == "" {
		return lookup, nil
	}
	if v, ok := lookup(InCredentialsJSON); ok && strings.TrimSpace(v) != "" {
		return nil, fmt.Errorf("--%s and input %q (--%s or %s) are both set; give the key once", FlagCredentialsJSONFile, InCredentialsJSON, Input{Name: InCredentialsJSON}.Flag(), EnvName(InCredentialsJSON))
	}
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(io.LimitReader(stdin, 1<<20))
	} else {
		b, err = readFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("--%s: cannot read %q: %w", FlagCredentialsJSONFile, path, err)
	}
	if strings.TrimSpace(string(b)) == "" {
		return nil, fmt.Errorf("--%s: %q is empty", FlagCredentialsJSONFile, path)
	}
	key := string(b)
	return func(name string) (string, bool) {
		if name == InCredentialsJSON {
			return key, true
		}
		return lookup(name)
	}, nil
}

// SecretsOnCommandLine lists the secret inputs given as flags, which every
// local user can read in /proc/PID/cmdline.
func SecretsOnCommandLine(fs *flag.FlagSet) []string {
	var out []string
	fs.Visit(func(f *flag.Flag) {
		for _, in := range Inputs {
			if in.Secret && in.Flag() == f.Name {
				out = append(out, "--"+f.Name)
			}
		}
	})
	return out
}
