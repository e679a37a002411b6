// Package cli is pullsecret's command line: flags and --help, --version,
// shell completion, --output json, --debug and the exit codes. The same
// binary is the GitHub Action (inputs from INPUT_* variables, workflow
// commands) and a Kubernetes Job; only the CLI's conventions live here.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/pullsecret/pullsecret/internal/actions"
	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/httplog"
	"github.com/pullsecret/pullsecret/internal/runner"
	"github.com/pullsecret/pullsecret/internal/testrig"
)

// Env is the process: arguments, standard streams and environment,
// injected so tests run Main in-process.
type Env struct {
	Args           []string
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	LookupEnv      func(string) (string, bool)
	ReadFile       func(string) ([]byte, error)
	// Width is the terminal's width for --help; zero means 80.
	Width int
	Build Build
	// Deps are passed to the runner as they are, with the reporter,
	// version and debug transport filled in; tests inject fakes here.
	Deps runner.Deps
}

// Output formats of --output.
const (
	OutputText = "text"
	OutputJSON = "json"
)

// groupOutput is the --help section of the CLI's own flags.
const groupOutput = "Output and program"

// options are the CLI's own flags, beside the inputs'.
type options struct {
	keyFile *string
	output  string
	debug   bool
	version bool
	help    bool
	// printWIFSetup prints the gcloud commands that register the
	// cluster's ServiceAccount token issuer with Google (refresh: true).
	printWIFSetup bool
	// releaseImage is the image this step runs from, by digest, which a
	// release's action.yml passes in its args (FlagReleaseImage).
	releaseImage string
	// ci, ciProject and ciIssuer select --print-wif-setup's CI provider.
	ci, ciProject, ciIssuer string
	// credentialProvider selects --print-wif-setup's kubelet credential
	// provider setup.
	credentialProvider bool
}

// FlagReleaseImage is the hidden flag through which a release's action.yml
// (runs.args, fixed by the release commit) tells the binary the image it
// runs from, by digest: the digest of an image cannot be stamped into the
// binary inside it. It is a flag, not an environment variable, because a
// workflow's env: and $GITHUB_ENV override an action's runs.env, and
// whoever sets them must not choose the image the refresher runs.
const FlagReleaseImage = "release-image"

// newFlagSet registers every flag: the inputs' (config.Flags) and the
// CLI's own.
func newFlagSet(lookupEnv func(string) (string, bool)) (*pflag.FlagSet, config.Lookup, *options) {
	fs := pflag.NewFlagSet("pullsecret", pflag.ContinueOnError)
	fs.SortFlags = false
	fs.SetOutput(io.Discard) // errors are reported once, by Main
	lookup := config.Flags(fs, lookupEnv)
	o := &options{keyFile: config.CredentialsFileFlag(fs)}
	fs.StringVarP(&o.output, "output", "o", OutputText, "Result format on standard output: 'text' (a table, then name=value lines) or 'json' (one object, see docs/cli.md). Logs always go to standard error.")
	fs.BoolVar(&o.debug, "debug", false, "Log every HTTP request to Google and the API server: method, host and path, status and duration (never bodies, headers or query strings). In GitHub Actions, debug logging (RUNNER_DEBUG=1) turns it on.")
	fs.BoolVar(&o.version, "version", false, "Print the version, commit and build date, then exit.")
	fs.BoolVarP(&o.help, "help", "h", false, "Print this help, then exit.")
	fs.BoolVar(&o.printWIFSetup, "print-wif-setup", false, "Print the gcloud commands that let the in-cluster refresher (refresh: true) authenticate with this cluster's ServiceAccount tokens, then exit.")
	fs.StringVar(&o.ci, "ci", "", "With --print-wif-setup: print the provider for another CI's OIDC tokens instead: gitlab, circleci or buildkite.")
	fs.StringVar(&o.ciProject, "ci-project", "", "With --ci: the project the provider admits (GitLab GROUP/PROJECT, CircleCI ORG_ID/PROJECT_ID, Buildkite ORG_SLUG/PIPELINE_SLUG).")
	fs.StringVar(&o.ciIssuer, "ci-issuer", "", "With --ci gitlab: a self-managed GitLab's URL (default https://gitlab.com).")
	fs.BoolVar(&o.credentialProvider, "credential-provider", false, "With --print-wif-setup: print the kubelet credential provider setup instead (Kubernetes 1.34+ nodes you configure pull with the pods' own ServiceAccount tokens, no pull secret): the provider, the CredentialProviderConfig for registries, the nodes' RBAC.")
	fs.StringVar(&o.releaseImage, FlagReleaseImage, "", "The image this release runs from, by digest (set by the release's action.yml).")
	_ = fs.MarkHidden(FlagReleaseImage)
	for _, name := range []string{"output", "debug", "version", "help", "print-wif-setup", "ci", "ci-project", "ci-issuer", "credential-provider"} {
		_ = fs.SetAnnotation(name, config.AnnotationGroup, []string{groupOutput})
	}
	_ = fs.SetAnnotation("output", config.AnnotationValues, []string{OutputText, OutputJSON})
	_ = fs.SetAnnotation("ci", config.AnnotationValues, []string{"gitlab", "circleci", "buildkite"})
	return fs, lookup, o
}

// Main runs pullsecret and returns its exit code (see ExitCode).
func Main(ctx context.Context, e Env) int {
	if len(e.Args) > 0 && e.Args[0] == "completion" {
		return completionCommand(e)
	}
	if len(e.Args) > 0 && e.Args[0] == RefreshCommand {
		return refreshCommand(ctx, e)
	}
	if len(e.Args) > 0 && e.Args[0] == StatusCommand {
		return statusCommand(ctx, e)
	}
	if len(e.Args) > 0 && e.Args[0] == RefresherCommand {
		return refresherCommand(e)
	}
	fs, lookup, o := newFlagSet(e.LookupEnv)
	if err := fs.Parse(e.Args); err != nil {
		return usageError(e.Stderr, err)
	}
	switch {
	case o.help:
		writeHelp(e.Stdout, fs, e.Width)
		return ExitOK
	case fs.NArg() > 0:
		return usageError(e.Stderr, fmt.Errorf("unexpected argument %q: pullsecret takes flags only (and the completion command)", fs.Arg(0)))
	case o.output != OutputText && o.output != OutputJSON:
		return usageError(e.Stderr, fmt.Errorf("--output %q: must be %s or %s", o.output, OutputText, OutputJSON))
	case o.version:
		return writeVersion(e.Stdout, e.Build.Resolve(), o.output)
	case o.credentialProvider && !o.printWIFSetup:
		return usageError(e.Stderr, errors.New("--credential-provider: only with --print-wif-setup"))
	case o.printWIFSetup && o.credentialProvider && o.ci != "":
		return usageError(e.Stderr, errors.New("--credential-provider and --ci: choose one; --ci prints a provider for another CI's tokens"))
	case o.printWIFSetup && o.ci != "":
		if err := runner.PrintCIWIFSetup(lookup, o.ci, o.ciProject, o.ciIssuer, e.Stdout); err != nil {
			return usageError(e.Stderr, err)
		}
		return ExitOK
	case o.printWIFSetup:
		rep := actions.New(e.Getenv, e.Stderr, e.Stdout)
		d := e.Deps
		d.Reporter, d.Version = rep, e.Build.Resolve().Version
		print := runner.PrintWIFSetup
		if o.credentialProvider {
			print = runner.PrintCredentialProviderSetup
		}
		if err := print(ctx, lookup, e.Stdout, d); err != nil {
			rep.Errorf("%s", err)
			return ExitCode(err)
		}
		return ExitOK
	}

	github := e.Getenv("GITHUB_ACTIONS") == "true"
	logs, results := e.Stderr, e.Stdout
	if github {
		// The runner reads workflow commands from standard output.
		logs = e.Stdout
	}
	if o.output == OutputJSON {
		results = io.Discard // the JSON object is the only result
	}
	rep := actions.New(e.Getenv, logs, results)

	cfg, res, err := run(ctx, e, fs, lookup, o, rep, o.debug || (github && e.Getenv("RUNNER_DEBUG") == "1"))
	// Outputs the runner could not write fail the run too, after
	// everything else was reported: later steps would read them empty.
	err = errors.Join(err, rep.Err())
	if o.output == OutputJSON {
		if werr := writeJSON(e.Stdout, newJSONResult(cfg, res, err, rep.Redact)); werr != nil {
			err = errors.Join(err, werr)
		}
	}
	if err != nil {
		rep.Errorf("%s", err)
	}
	return ExitCode(err)
}

// run loads the configuration and runs; cfg and res are nil when it
// failed before they existed.
func run(ctx context.Context, e Env, fs *pflag.FlagSet, lookup config.Lookup, o *options, rep *actions.Reporter, debug bool) (*config.Config, *runner.Result, error) {
	if flags := config.SecretsOnCommandLine(fs); len(flags) > 0 {
		rep.Warningf("%s on the command line is readable by every local user (/proc/PID/cmdline, shell history): use --%s FILE (or - for stdin) or the INPUT_* variable", strings.Join(flags, ", "), config.FlagCredentialsJSONFile)
	}
	lookup, err := config.WithCredentialsFile(lookup, *o.keyFile, e.Stdin, e.ReadFile)
	if err != nil {
		return nil, nil, fmt.Errorf("invalid configuration:\n%w", runner.Classify(runner.ErrBadInput, err))
	}
	allowHTTP := testrig.Getenv(e.Getenv, config.EnvAllowHTTPEndpoints) == "true"
	cfg, err := config.Load(lookup, config.AllowHTTPEndpoints(allowHTTP), config.ReleaseImage(o.releaseImage))
	if err != nil {
		return nil, nil, fmt.Errorf("invalid configuration:\n%w", runner.Classify(runner.ErrBadInput, err))
	}
	d := e.Deps
	d.Reporter = rep
	if d.IDToken == nil {
		d.IDToken = rep.Action()
	}
	d.Version = e.Build.Resolve().Version
	if debug {
		d.WrapTransport = httplog.Wrap(rep.Debugf)
	}
	res, err := runner.Run(ctx, cfg, d)
	return cfg, res, err
}

// usageError reports a command line that cannot be parsed, the way
// kubectl does: the problem, then where help is.
func usageError(w io.Writer, err error) int {
	fmt.Fprintf(w, "error: %v\nSee 'pullsecret --help' for usage.\n", err)
	return ExitBadInput
}
