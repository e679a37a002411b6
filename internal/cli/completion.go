package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/pullsecret/pullsecret/internal/config"
)

// Shells completion scripts are generated for.
var shells = []string{"bash", "zsh", "fish"}

// completionCommand is `pullsecret completion SHELL`: a static script for
// that shell, generated from the flags (and so from the inputs table).
func completionCommand(e Env) int {
	args := e.Args[1:]
	if len(args) != 1 {
		return usageError(e.Stderr, fmt.Errorf("completion takes one shell: %s", strings.Join(shells, ", ")))
	}
	fs, _, _ := newFlagSet(func(string) (string, bool) { return "", false })
	var script string
	switch args[0] {
	case "bash":
		script = bashCompletion(fs)
	case "zsh":
		script = zshCompletion(fs)
	case "fish":
		script = fishCompletion(fs)
	default:
		return usageError(e.Stderr, fmt.Errorf("completion: unknown shell %q (want one of %s)", args[0], strings.Join(shells, ", ")))
	}
	if _, err := io.WriteString(e.Stdout, script); err != nil {
		return ExitFailed
	}
	return ExitOK
}

// completionFlag is what a script needs to know of a flag.
type completionFlag struct {
	name, short, summary string
	takesValue, file     bool
	values               []string
}

func completionFlags(fs *pflag.FlagSet) []completionFlag {
	var out []completionFlag
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		out = append(out, completionFlag{
			name:       f.Name,
			short:      f.Shorthand,
			summary:    summary(f.Usage),
			takesValue: f.NoOptDefVal == "",
			file:       len(f.Annotations[config.AnnotationFile]) > 0,
			values:     f.Annotations[config.AnnotationValues],
		})
	})
	return out
}

// summary is a usage text's first sentence, for the shells that show one.
func summary(usage string) string {
	for i := 0; ; {
		j := strings.Index(usage[i:], ". ")
		if j < 0 {
			break
		}
		end := i + j
		if !strings.HasSuffix(usage[:end], "e.g") && !strings.HasSuffix(usage[:end], "i.e") {
			usage = usage[:end]
			break
		}
		i = end + 2
	}
	return strings.TrimSuffix(usage, ".")
}

func bashCompletion(fs *pflag.FlagSet) string {
	var all, files, valued []string
	var enums strings.Builder
	for _, f := range completionFlags(fs) {
		all = append(all, "--"+f.name)
		if f.short != "" {
			all = append(all, "-"+f.short)
		}
		switch {
		case len(f.values) > 0:
			fmt.Fprintf(&enums, "        %s) COMPREPLY=($(compgen -W %q -- \"$cur\")); return ;;\n", flagAlternatives(f), strings.Join(f.values, " "))
		case f.file:
			files = append(files, flagAlternatives(f))
		case f.takesValue:
			valued = append(valued, flagAlternatives(f))
		}
	}
	return fmt.Sprintf(`# bash completion for pullsecret. Load it with
#   source <(pullsecret completion bash)
# or save it as /etc/bash_completion.d/pullsecret.
_pullsecret() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    if [[ ${COMP_WORDS[1]} == completion ]]; then
        [[ $COMP_CWORD -eq 2 ]] && COMPREPLY=($(compgen -W %q -- "$cur"))
        return
    fi
    case $prev in
%s        %s) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        %s) return ;;
    esac
    if [[ $COMP_CWORD -eq 1 && $cur != -* ]]; then
        COMPREPLY=($(compgen -W "completion status" -- "$cur"))
        return
    fi
    COMPREPLY=($(compgen -W %q -- "$cur"))
}
complete -F _pullsecret pullsecret
`, strings.Join(shells, " "), enums.String(), strings.Join(files, "|"), strings.Join(valued, "|"), strings.Join(all, " "))
}

func flagAlternatives(f completionFlag) string {
	if f.short != "" {
		return "--" + f.name + "|-" + f.short
	}
	return "--" + f.name
}

// zshQuote escapes a description for _arguments' 'spec[description]'.
var zshQuote = strings.NewReplacer(`'`, `'\''`, `[`, `\[`, `]`, `\]`, `\`, `\\`)

func zshCompletion(fs *pflag.FlagSet) string {
	var b strings.Builder
	b.WriteString(`#compdef pullsecret
# zsh completion for pullsecret. Load it with
#   source <(pullsecret completion zsh)
# or save it as _pullsecret in a directory of $fpath.
compdef _pullsecret pullsecret 2>/dev/null
_pullsecret() {
  if (( CURRENT > 2 )) && [[ ${words[2]} == completion ]]; then
    _values shell ` + strings.Join(shells, " ") + `
    return
  fi
  _arguments -s \
`)
	for _, f := range completionFlags(fs) {
		spec := "--" + f.name
		if f.short != "" {
			spec = fmt.Sprintf("(-%s --%s)'{-%s,--%s}'", f.short, f.name, f.short, f.name)
		}
		action := ""
		switch {
		case len(f.values) > 0:
			action = fmt.Sprintf(":%s:(%s)", f.name, strings.Join(f.values, " "))
		case f.file:
			action = ":file:_files"
		case f.takesValue:
			action = ":" + f.name + ": "
		}
		fmt.Fprintf(&b, "    '%s[%s]%s' \\\n", spec, zshQuote.Replace(f.summary), action)
	}
	b.WriteString(`    '1: :(completion status)'
}
if [[ ${funcstack[1]} == _pullsecret ]]; then _pullsecret "$@"; fi
`)
	return b.String()
}

// fishQuote escapes text inside fish single quotes.
var fishQuote = strings.NewReplacer(`\`, `\\`, `'`, `\'`)

func fishCompletion(fs *pflag.FlagSet) string {
	var b strings.Builder
	b.WriteString(`# fish completion for pullsecret. Load it with
#   pullsecret completion fish | source
# or save it as ~/.config/fish/completions/pullsecret.fish.
complete -c pullsecret -f
complete -c pullsecret -n __fish_use_subcommand -a completion -d 'Print a shell completion script'
complete -c pullsecret -n __fish_use_subcommand -a status -d 'Show the pull secrets and refreshers in the cluster'
complete -c pullsecret -n '__fish_seen_subcommand_from completion' -a '` + strings.Join(shells, " ") + `'
`)
	for _, f := range completionFlags(fs) {
		fmt.Fprintf(&b, "complete -c pullsecret -l %s", f.name)
		if f.short != "" {
			fmt.Fprintf(&b, " -s %s", f.short)
		}
		switch {
		case len(f.values) > 0:
			fmt.Fprintf(&b, " -x -a '%s'", strings.Join(f.values, " "))
		case f.file:
			b.WriteString(" -r -F")
		case f.takesValue:
			b.WriteString(" -x")
		}
		fmt.Fprintf(&b, " -d '%s'\n", fishQuote.Replace(f.summary))
	}
	return b.String()
}
