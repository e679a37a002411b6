package config

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// Flag annotations read by --help and shell completion. Every flag, the
// inputs' and the CLI's own, carries AnnotationGroup; the others are set
// where they help completion.
const (
	// AnnotationGroup is the --help section a flag is listed under.
	AnnotationGroup = "pullsecret/group"
	// AnnotationValues lists the values a flag accepts, for completion.
	AnnotationValues = "pullsecret/values"
	// AnnotationFile marks a flag whose value is a file path.
	AnnotationFile = "pullsecret/file"
)

// Group is a topic of --help: the inputs from From up to the next group's
// From, in the order of Inputs. A new input joins the group of the inputs
// around it, so the table alone decides where it is listed.
type Group struct {
	Title string
	From  string
}

// Groups are the --help sections of the inputs, in order.
var Groups = []Group{
	{Title: "Credentials", From: InWorkloadIdentityProvider},
	{Title: "Cluster", From: InKubeconfig},
	{Title: "Targets", From: InNamespaces},
	{Title: "Secret", From: InSecretName},
	{Title: "Behaviour", From: InMode},
}

// GroupOf is the title of the group an input belongs to.
func GroupOf(input string) string {
	title := Groups[0].Title
	for _, in := range Inputs {
		for _, g := range Groups {
			if g.From == in.Name {
				title = g.Title
			}
		}
		if in.Name == input {
			return title
		}
	}
	return ""
}

// enumerations are the values of inputs that take one of a fixed set, for
// completion; validate.go refuses anything else.
var enumerations = map[string][]string{
	InCredentialMode: {string(CredentialAccessToken), string(CredentialJSONKey)},
	InMode:           {string(ModeApply), string(ModeDelete)},
	InRefreshMode:    {RefreshCron, RefreshWatch},
	InAPIServerHost:  {"auto", "off"},
}

// Flags registers one CLI flag per input (kebab-case) and returns a Lookup
// that prefers a flag given on the command line, then the INPUT_* variable
// (as GitHub sets it), then the default. lookupEnv is os.LookupEnv in
// production: an input set to "" on purpose must be told from an unset one.
func Flags(fs *pflag.FlagSet, lookupEnv func(string) (string, bool)) Lookup {
	values := make(map[string]*inputValue, len(Inputs))
	for _, in := range Inputs {
		v := &inputValue{kind: kindOf(in)}
		values[in.Name] = v
		f := fs.VarPF(v, in.Flag(), "", stripMarkdown(in.Description))
		if !in.Secret {
			// pflag prints "(default …)" from this, once.
			f.DefValue = in.Default
		}
		if v.kind == "bool" {
			f.NoOptDefVal = "true" // --dry-run alone means true
		}
		annotate(fs, in.Flag(), AnnotationGroup, GroupOf(in.Name))
		switch {
		case enumerations[in.Name] != nil:
			annotate(fs, in.Flag(), AnnotationValues, enumerations[in.Name]...)
		case in.Name == InKubeconfig:
			annotate(fs, in.Flag(), AnnotationFile, "true")
		}
	}
	return func(name string) (string, bool) {
		if fs.Changed(Input{Name: name}.Flag()) {
			return values[name].val, true
		}
		return lookupEnv(EnvName(name))
	}
}

// annotate sets a flag annotation; the flag was just registered, so the
// lookup cannot fail.
func annotate(fs *pflag.FlagSet, flag, key string, values ...string) {
	_ = fs.SetAnnotation(flag, key, values)
}

// kindOf is the value type --help shows for an input, read off its
// default: inputs are strings on the wire, but "duration" or "int" tells a
// reader more.
func kindOf(in Input) string {
	switch {
	case in.Default == "false" || in.Default == "true":
		return "bool"
	case in.Default == "":
		return "string"
	}
	if _, err := strconv.Atoi(in.Default); err == nil {
		return "int"
	}
	if _, err := time.ParseDuration(in.Default); err == nil {
		return "duration"
	}
	return "string"
}

// EnvName is the variable GitHub sets for an input.
func EnvName(input string) string {
	return "INPUT_" + strings.ToUpper(strings.ReplaceAll(input, " ", "_"))
}

func stripMarkdown(s string) string { return strings.ReplaceAll(s, "`", "'") }

// inputValue holds an input given as a flag, unparsed: the flag and the
// INPUT_* variable go through the same parsing and validation.
type inputValue struct {
	val  string
	kind string
}

func (v *inputValue) String() string     { return v.val }
func (v *inputValue) Set(s string) error { v.val = s; return nil }
func (v *inputValue) Type() string       { return v.kind }

// IsBoolFlag lets a boolean input be given bare (--dry-run).
func (v *inputValue) IsBoolFlag() bool { return v.kind == "bool" }

// FlagCredentialsJSONFile is the CLI-only way to give the key without
// putting it in argv (where /proc/PID/cmdline and shell history show it).
const FlagCredentialsJSONFile = "credentials-json-file"

// CredentialsFileFlag registers --credentials-json-file.
func CredentialsFileFlag(fs *pflag.FlagSet) *string {
	p := fs.String(FlagCredentialsJSONFile, "", "Read the service-account key (raw JSON or base64) from this file, or from standard input with '-'. Keeps the key out of the command line.")
	annotate(fs, FlagCredentialsJSONFile, AnnotationGroup, Groups[0].Title)
	annotate(fs, FlagCredentialsJSONFile, AnnotationFile, "true")
	return p
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
func SecretsOnCommandLine(fs *pflag.FlagSet) []string {
	var out []string
	fs.Visit(func(f *pflag.Flag) {
		for _, in := range Inputs {
			if in.Secret && in.Flag() == f.Name {
				out = append(out, "--"+f.Name)
			}
		}
	})
	return out
}
