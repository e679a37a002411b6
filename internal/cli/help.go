package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/pullsecret/pullsecret/internal/config"
)

// ExitCodes documents the exit codes, for --help and docs/cli.md (a test
// keeps the table there equal to this one).
var ExitCodes = []struct {
	Code    int
	Meaning string
}{
	{ExitOK, "success: every namespace was done (or none matched)"},
	{ExitFailed, "one or more namespaces failed (the report says which), or the run was cancelled or could not write its outputs"},
	{ExitBadInput, "bad command line, input or kubeconfig; nothing was contacted or written"},
	{ExitCredentials, "no Google credentials: refused, unreachable, or no GitHub OIDC token; nothing was written"},
	{ExitClusterUnreachable, "the API server could not be reached or did not answer in time"},
	{ExitForbidden, "the API server refused the cluster credentials (401) or RBAC denied the run (403)"},
}

const helpIntro = `pullsecret mints a short-lived Google access token and writes it as a
kubernetes.io/dockerconfigjson pull secret for gcr.io and Artifact Registry
into one, many or all namespaces, then adds it to ServiceAccounts'
imagePullSecrets (keeping everyone else's entries).

Usage:
  pullsecret [flags]
  pullsecret status [--output json]     (what the cluster holds; status --help)
  pullsecret completion bash|zsh|fish
  pullsecret refresher render [flags]   # the refresher's manifests, for GitOps

Examples:
  # Write the secret into every preview namespace with a key kept out of argv
  pullsecret --credentials-json-file key.json --namespaces 'preview-*'

  # The key from a secret store, on standard input
  vault read -field=key secret/gcp |
    pullsecret --credentials-json-file - --namespaces 'preview-*'

  # Preview teardown, with the result as JSON for a script
  pullsecret --namespaces preview-42 --mode delete --output json
`

const helpEnv = `Every input flag can also be set as an environment variable: INPUT_ and the
flag's name in capitals with underscores (--token-lifetime is
INPUT_TOKEN_LIFETIME), which is how the GitHub Action passes inputs. A flag
given on the command line wins over its variable.
`

// writeHelp prints --help: what pullsecret does, then the flags by topic
// (config.Groups, then the CLI's own), each flag on its own line with its
// default, its description below it wrapped to width, as kubectl prints
// them; then the environment and the exit codes.
func writeHelp(w io.Writer, fs *pflag.FlagSet, width int) {
	if width <= 0 {
		width = 80
	}
	byGroup := map[string][]string{}
	var titles []string
	for _, g := range config.Groups {
		titles = append(titles, g.Title)
	}
	titles = append(titles, groupOutput)
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		g := groupOf(f)
		if !slices.Contains(titles, g) {
			titles = append(titles, g) // a flag without a group still shows
		}
		byGroup[g] = append(byGroup[g], flagHelp(f, width))
	})

	fmt.Fprint(w, helpIntro)
	for _, title := range titles {
		if len(byGroup[title]) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s flags:\n%s", title, strings.Join(byGroup[title], ""))
	}
	fmt.Fprintf(w, "\n%s\nExit codes:\n", helpEnv)
	for _, c := range ExitCodes {
		fmt.Fprintf(w, "  %d  %s\n", c.Code, wrap(c.Meaning, width-5, "     "))
	}
}

// flagHelp is one flag's entry: "  -o, --output string (default "text")",
// then its description indented below.
func flagHelp(f *pflag.Flag, width int) string {
	var b strings.Builder
	b.WriteString("  ")
	if f.Shorthand != "" {
		fmt.Fprintf(&b, "-%s, ", f.Shorthand)
	}
	b.WriteString("--" + f.Name)
	varname, usage := pflag.UnquoteUsage(f)
	if f.NoOptDefVal == "" && varname != "" {
		b.WriteString(" " + varname)
	}
	if def := defaultText(f); def != "" {
		b.WriteString(" (default " + def + ")")
	}
	const indent = "      "
	fmt.Fprintf(&b, "\n%s%s\n", indent, wrap(usage, width-len(indent)-1, indent))
	return b.String()
}

// defaultText is a flag's default as --help shows it: nothing for an
// empty default or a false boolean, quoted for strings.
func defaultText(f *pflag.Flag) string {
	switch {
	case f.DefValue == "", f.NoOptDefVal != "" && f.DefValue == "false":
		return ""
	case f.Value.Type() == "string":
		return fmt.Sprintf("%q", f.DefValue)
	}
	return f.DefValue
}

// wrap breaks s into lines of at most width columns (a word longer than
// that stays whole), indenting every line but the first.
func wrap(s string, width int, indent string) string {
	var b strings.Builder
	n := 0
	for i, word := range strings.Fields(s) {
		if i > 0 && n+1+len(word) > width {
			b.WriteString("\n" + indent)
			n = 0
		} else if i > 0 {
			b.WriteByte(' ')
			n++
		}
		b.WriteString(word)
		n += len(word)
	}
	return b.String()
}

func groupOf(f *pflag.Flag) string {
	if f == nil || len(f.Annotations[config.AnnotationGroup]) == 0 {
		return "Other"
	}
	return f.Annotations[config.AnnotationGroup][0]
}
