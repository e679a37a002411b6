// Command pullsecret writes a Google registry pull secret into Kubernetes
// namespaces. It runs as a GitHub Action (inputs from INPUT_* variables), a
// CLI or pre-deploy hook (flags), and a Kubernetes Job (in-cluster config).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/pullsecret/pullsecret/internal/actions"
	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/runner"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	rep := actions.New(os.Getenv, os.Stdout, os.Stdout)
	if err := realMain(ctx, os.Args[1:], os.Stdin, rep, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		rep.Errorf("%s", err)
		stop()
		os.Exit(1)
	}
}

func realMain(ctx context.Context, args []string, stdin io.Reader, rep *actions.Reporter, stderr io.Writer) error {
	if len(args) > 0 && args[0] == runner.RefreshCommand {
		// Job mode: the in-cluster refresher's CronJob.
		return runner.RunRefresher(ctx, args[1:], stderr, runner.Deps{Reporter: rep, Version: version})
	}
	fs := flag.NewFlagSet("pullsecret", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = config.Usage(stderr, fs)
	lookup := config.Flags(fs, os.LookupEnv)
	keyFile := config.CredentialsFileFlag(fs)
	showVersion := fs.Bool("version", false, "print the version and exit")
	printWIFSetup := fs.Bool("print-wif-setup", false, "print the gcloud commands that let the refresher (refresh: true) authenticate with this cluster's ServiceAccount tokens, and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *showVersion {
		fmt.Fprintln(stderr, "pullsecret", version)
		return flag.ErrHelp
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: pullsecret takes flags only (see --help)", fs.Arg(0))
	}
	if flags := config.SecretsOnCommandLine(fs); len(flags) > 0 {
		rep.Warningf("%s on the command line is readable by every local user (/proc/PID/cmdline, shell history): use --%s FILE (or - for stdin) or the INPUT_* variable", strings.Join(flags, ", "), config.FlagCredentialsJSONFile)
	}
	if *printWIFSetup {
		return runner.PrintWIFSetup(ctx, lookup, os.Stdout, runner.Deps{Reporter: rep, Version: version})
	}
	lookup, err := config.WithCredentialsFile(lookup, *keyFile, stdin, os.ReadFile)
	if err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	allowHTTP := os.Getenv(config.EnvAllowHTTPEndpoints) == "true"
	cfg, err := config.Load(lookup, config.AllowHTTPEndpoints(allowHTTP))
	if err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	_, err = runner.Run(ctx, cfg, runner.Deps{
		Reporter: rep,
		IDToken:  rep.Action(),
		Version:  version,
	})
	// Outputs the runner could not write fail the run too, after
	// everything else was reported: later steps would read them empty.
	return errors.Join(err, rep.Err())
}
