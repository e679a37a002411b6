package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/pullsecret/pullsecret/internal/actions"
	"github.com/pullsecret/pullsecret/internal/refresher"
	"github.com/pullsecret/pullsecret/internal/runner"
)

// RefreshCommand is the argument that selects Job mode:
// `pullsecret refresh --config-map NAMESPACE/NAME`, what the refresher's
// CronJob runs.
const RefreshCommand = "refresh"

// refreshCommand is Job mode: the in-cluster refresher's CronJob runs
// `pullsecret refresh --config-map NAMESPACE/NAME`.
func refreshCommand(ctx context.Context, e Env) int {
	rep := actions.New(e.Getenv, e.Stderr, e.Stdout)
	d := e.Deps
	d.Reporter, d.Version = rep, e.Build.Resolve().Version
	err := errors.Join(refresh(ctx, e.Args[1:], e.Stderr, d), rep.Err())
	if err != nil {
		rep.Errorf("%s", err)
	}
	return ExitCode(err)
}

// refresh parses the refresh command's flags (Go's flag package: the
// CronJob's command line is ours, not a user's) and runs the refresher.
func refresh(ctx context.Context, args []string, stderr io.Writer, d runner.Deps) error {
	fs := flag.NewFlagSet("pullsecret refresh", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ref := fs.String("config-map", "", "the refresher's ConfigMap, NAMESPACE/NAME")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ns, name, ok := strings.Cut(*ref, "/")
	if !ok || ns == "" || name != refresher.Name {
		return fmt.Errorf("pullsecret refresh: --config-map must be NAMESPACE/%s, not %q", refresher.Name, *ref)
	}
	return runner.RunRefresher(ctx, ns, d)
}
