package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/pullsecret/pullsecret/internal/actions"
	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/refresher"
	"github.com/pullsecret/pullsecret/internal/runner"
)

// RefreshCommand is the argument that selects Job mode:
// `pullsecret refresh --config-map NAMESPACE/NAME --service-account SA
// [--provider P] --set NAME=VALUE…`, what the refresher's CronJob runs;
// with --watch, the watching refresher (its Deployment, or out of cluster
// `--kubeconfig PATH`).
const RefreshCommand = "refresh"

// refreshCommand is Job mode, what the in-cluster refresher's CronJob runs.
func refreshCommand(ctx context.Context, e Env) int {
	rep := actions.New(e.Getenv, e.Stderr, e.Stdout)
	d := e.Deps
	d.Reporter, d.Version = rep, e.Build.Resolve().Version
	err := errors.Join(refresh(ctx, e, d), rep.Err())
	if err != nil {
		rep.Errorf("%s", err)
	}
	return ExitCode(err)
}

// refresh parses the refresh command's flags (Go's flag package: the
// CronJob's command line is ours, not a user's: the installer fixes
// identity, endpoints and registries there) and runs the refresher.
func refresh(ctx context.Context, e Env, d runner.Deps) error {
	stderr := e.Stderr
	a, keyFile, err := parseRefreshArgs(e.Args[1:], stderr)
	if err != nil {
		return err
	}
	if keyFile != "" {
		// The usual key flag, for development out of cluster: minted
		// with instead of the installed identity.
		lookup, err := config.WithCredentialsFile(func(string) (string, bool) { return "", false }, keyFile, e.Stdin, e.ReadFile)
		if err != nil {
			return err
		}
		key, _ := lookup(config.InCredentialsJSON)
		a.Credentials = map[string]string{config.InCredentialsJSON: key}
	}
	if a.Watch == nil {
		return runner.RunRefresher(ctx, a, d)
	}
	if a.ServiceAccount == "" && a.Provider == "" && len(a.Fixed) == 0 {
		// `refresh --watch --config-map NS/NAME --kubeconfig PATH`: the
		// installed refresher's own arguments, parsed as its pod would.
		installed, err := runner.InstalledRefresherArgs(ctx, a, d)
		if err != nil {
			return err
		}
		if len(installed) > 0 && installed[0] == RefreshCommand {
			installed = installed[1:]
		}
		got, _, err := parseRefreshArgs(installed, stderr)
		if err != nil {
			return fmt.Errorf("the installed refresher %s/%s's arguments: %w", a.Namespace, a.Name, err)
		}
		if got.Namespace != a.Namespace || got.Name != a.Name {
			return fmt.Errorf("the installed refresher %s/%s's arguments name ConfigMap %s/%s", a.Namespace, a.Name, got.Namespace, got.Name)
		}
		got.TokenFile, got.Watch, got.Credentials = a.TokenFile, a.Watch, a.Credentials
		a = got
	}
	softMemoryLimit(e.Getenv)
	return runner.RunWatchingRefresher(ctx, a, d)
}

// parseRefreshArgs parses the refresh command's flags (a.Watch is nil
// without --watch) and returns --credentials-json-file's path.
func parseRefreshArgs(args []string, stderr io.Writer) (*runner.RefresherArgs, string, error) {
	fs := flag.NewFlagSet("pullsecret refresh", flag.ContinueOnError)
	fs.SetOutput(stderr)
	a := &runner.RefresherArgs{Fixed: map[string]string{}}
	ref := fs.String("config-map", "", "the refresher's ConfigMap (its coverage), NAMESPACE/NAME")
	fs.StringVar(&a.ServiceAccount, "service-account", "", "the Google service account the refresher impersonates (with --provider)")
	fs.StringVar(&a.Provider, "provider", "", "Workload Identity provider the projected token is exchanged at (empty: the metadata server)")
	fs.StringVar(&a.TokenFile, "token-file", refresher.TokenPath, "the projected ServiceAccount token")
	fs.Func("set", "an input the installer fixed, NAME=VALUE (repeated)", func(kv string) error {
		k, v, _ := strings.Cut(kv, "=")
		if !slices.Contains(refresher.FixedInputs, k) {
			return fmt.Errorf("%q is not an input the refresher takes from its arguments (%s)", k, strings.Join(refresher.FixedInputs, ", "))
		}
		a.Fixed[k] = v
		return nil
	})
	watch := fs.Bool("watch", false, "run the watching refresher (a controller) instead of one refresh")
	var w runner.WatchArgs
	fs.StringVar(&w.Kubeconfig, "kubeconfig", "", "with --watch: the cluster's kubeconfig, out of cluster (default: in-cluster, else $KUBECONFIG)")
	fs.BoolVar(&w.RecoverPods, "recover-pods", false, "with --watch: delete pods stuck in ImagePullBackOff for lack of the secret, so their owner recreates them")
	fs.StringVar(&w.MetricsAddress, "metrics-address", "", "with --watch: serve /metrics, /healthz and /readyz on this address (e.g. :9090)")
	fs.BoolVar(&w.LeaderElect, "leader-elect", true, "with --watch: elect one writer among the replicas with a Lease")
	keyFile := fs.String(config.FlagCredentialsJSONFile, "", "with --watch, out of cluster: mint with this service-account key (raw JSON or base64; - reads standard input) instead of the installed identity")
	if err := fs.Parse(args); err != nil {
		return nil, "", err
	}
	var ok bool
	a.Namespace, a.Name, ok = strings.Cut(*ref, "/")
	if !ok || a.Namespace == "" || !strings.HasPrefix(a.Name, refresher.Name+"-") {
		return nil, "", fmt.Errorf("pullsecret refresh: --config-map must be NAMESPACE/%s-…, not %q", refresher.Name, *ref)
	}
	if !*watch {
		var set []string
		fs.Visit(func(f *flag.Flag) {
			if slices.Contains([]string{"kubeconfig", "recover-pods", "metrics-address", "leader-elect", config.FlagCredentialsJSONFile}, f.Name) {
				set = append(set, "--"+f.Name)
			}
		})
		if len(set) > 0 {
			return nil, "", fmt.Errorf("pullsecret refresh: %s only with --watch", strings.Join(set, ", "))
		}
		return a, "", nil
	}
	a.Watch = &w
	return a, *keyFile, nil
}
