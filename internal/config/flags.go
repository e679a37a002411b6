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
  pullsecret --credentials-json "$(cat key.json)" --namespaces 'preview-*'
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
