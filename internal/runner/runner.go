// Package runner orchestrates one pullsecret run: connect to the cluster,
// choose namespaces, mint one token, then write the secret and reference it
// in every namespace with bounded concurrency, reporting per namespace.
package runner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"k8s.io/client-go/rest"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/container"
	"github.com/pullsecret/pullsecret/internal/googleauth"
	"github.com/pullsecret/pullsecret/internal/kube"
	"github.com/pullsecret/pullsecret/internal/sakey"
)

// Reporter is how a run talks to its user: GitHub workflow commands in an
// action, plain text on a terminal. Everything printed passes through it so
// masking is applied in one place.
type Reporter interface {
	Mask(secret string)
	Group(title string)
	EndGroup()
	Infof(format string, args ...any)
	Warningf(format string, args ...any)
	SetOutput(name, value string)
	AddStepSummary(markdown string)
}

// Deps are the process-level dependencies, injected so tests run the real
// code path against fakes and a real API server.
type Deps struct {
	Reporter   Reporter
	Getenv     func(string) string
	ReadFile   func(string) ([]byte, error)
	IDToken    googleauth.IDTokenFetcher
	HTTPClient *http.Client
	Now        func() time.Time
	// Host probes the machine for the loopback redirect; its nil fields
	// fall back to the real probes (container.Host.WithDefaults).
	container.Host
	Version string
	// KubeRequestTimeout bounds each API call, retries included; zero
	// means kube.DefaultRequestTimeout. Tests shorten it.
	KubeRequestTimeout time.Duration
	// WrapTransport, when set, wraps every HTTP transport the run uses,
	// to Google and to the API server (--debug logs requests with it).
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// BeforeWrite, when set, is asked right before a namespace is written
	// (apply mode); an error leaves the namespace alone, skipped. The
	// refresher re-checks its coverage with it.
	BeforeWrite func(ctx context.Context, namespace string) error
	// WrittenBy, when set, is the writer recorded on every secret
	// (labels.WrittenBy); empty: the run's own (see writtenBy).
	WrittenBy string
}

func (d *Deps) defaults() {
	if d.Reporter == nil {
		d.Reporter = noopReporter{}
	}
	if d.Getenv == nil {
		d.Getenv = os.Getenv
	}
	if d.ReadFile == nil {
		d.ReadFile = os.ReadFile
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.WrapTransport != nil {
		// googleauth fills in the timeout of a client that sets none.
		var c http.Client
		if d.HTTPClient != nil {
			c = *d.HTTPClient
		}
		if c.Transport == nil {
			c.Transport = http.DefaultTransport
		}
		c.Transport = d.WrapTransport(c.Transport)
		d.HTTPClient = &c
	}
}

// MaskInputs masks secret inputs before anything else can print. GitHub
// masks `${{ secrets.X }}` itself, but not a key pasted through another
// expression, nor the lines of a multi-line key.
func MaskInputs(cfg *config.Config, r Reporter) {
	if len(cfg.CredentialsJSON) > 0 {
		sakey.Mask(cfg.CredentialsJSON, r.Mask)
	}
	if cfg.AccessToken != "" {
		r.Mask(cfg.AccessToken)
	}
}

// Run performs one run. The error is nil only if every namespace succeeded.
func Run(ctx context.Context, cfg *config.Config, d Deps) (*Result, error) {
	d.defaults()
	r := d.Reporter
	MaskInputs(cfg, r)
	if cfg.AllowHTTPEndpoints {
		r.Warningf("%s is set: Google endpoints may use plain http. This is for test rigs only; credentials cross the network unencrypted.", config.EnvAllowHTTPEndpoints)
	}
	for _, w := range cfg.Warnings() {
		r.Warningf("%s", w)
	}

	conn, err := connect(cfg, d)
	if err != nil {
		// Nothing was sent yet: the kubeconfig the inputs point at is
		// missing, invalid or names what does not exist.
		return nil, Classify(ErrBadInput, err)
	}
	r.Infof("Cluster: %s (kubeconfig from %s)", conn.Config.Host, conn.Source)
	if conn.Rewritten != "" {
		r.Infof("Loopback API server redirected for the container: %s", conn.Rewritten)
	}

	targets, err := resolveTargets(ctx, cfg, conn)
	if err != nil {
		return nil, err
	}
	res := &Result{SecretName: cfg.SecretName, Registries: cfg.Registries, Mode: cfg.Mode, DryRun: cfg.DryRun}
	var plan *refreshPlan
	if cfg.Refresh {
		// Before anything is written: a refresher that cannot be
		// installed is bad input.
		if plan, err = planRefresh(ctx, cfg, conn); err != nil {
			return nil, err
		}
	}
	if plan != nil && cfg.Mode == config.ModeDelete {
		// The refresher lets go of the namespaces first: a refresher run
		// after the secrets are gone would write them again.
		if err := plan.carryOut(ctx, r, res); err != nil {
			return res, err
		}
		plan = nil
	}
	if len(targets) == 0 {
		r.Warningf("No namespace matched %s; nothing to do.", describeRequest(cfg))
		if plan != nil {
			if err := plan.carryOut(ctx, r, res); err != nil {
				return res, err
			}
		}
		return res, report(r, res)
	}

	// The token and the namespaces' state are independent: fetch both at
	// once (the mint is the slower on a real network).
	reads := readStatesAsync(ctx, cfg, conn.Client, targets)
	var w *writer
	if cfg.Mode == config.ModeApply {
		r.Group("Minting a Google access token")
		w, err = newWriter(ctx, cfg, d)
		r.EndGroup()
		if err != nil {
			return nil, Classify(ErrCredentials, err)
		}
		res.ExpiresAt, res.Principal, res.Method = w.expiry, w.principal, w.method
		if err := verifyImages(ctx, cfg, d, w, res); err != nil {
			return res, errors.Join(err, report(r, res))
		}
	}
	states, err := reads.wait(r)
	if err != nil {
		return nil, explainForbidden(err, cfg.SecretName)
	}

	r.Group(fmt.Sprintf("%s %q in %d namespace(s)", verb(cfg), cfg.SecretName, len(targets)))
	// Each namespace is reported as it completes, counted on large runs.
	progress := &progress{r: r, cfg: cfg, total: len(targets)}
	res.Namespaces = forEach(ctx, targets, cfg.Concurrency, func(ctx context.Context, t kube.Target) NamespaceResult {
		var nr NamespaceResult
		if cfg.Mode == config.ModeDelete {
			nr = deleteIn(ctx, cfg, conn.Client, t, states[t.Name])
		} else if err := beforeWrite(ctx, d, t.Name); err != nil {
			nr = NamespaceResult{Namespace: t.Name, Skipped: err.Error()}
		} else {
			nr = w.applyIn(ctx, conn.Client, t, states[t.Name])
			if cfg.SkipForeignSecrets && t.Matched && errors.Is(nr.Err, kube.ErrNotOurs) {
				// A refresher run never fails over a secret it was never
				// asked to take over (no retry storm); it says so.
				nr.Err, nr.Skipped = nil, "a secret of this name that pullsecret does not manage is there; left alone"
				r.Warningf("%s: a secret %q that pullsecret does not manage is there; the refresher leaves it alone", t.Name, cfg.SecretName)
			}
		}
		progress.done(nr)
		return nr
	})
	for _, nr := range res.Namespaces {
		if errors.Is(nr.Err, errNotAttempted) {
			progress.done(nr)
		}
	}
	r.EndGroup()
	var refreshErr error
	if plan != nil {
		refreshErr = plan.carryOut(ctx, r, res)
	}
	if err := errors.Join(report(r, res), refreshErr); err != nil {
		return res, err
	}
	if err := res.Err(); err != nil && ctx.Err() != nil {
		// Say first that the run was stopped (SIGTERM when a job is
		// cancelled, a deadline), not that namespaces broke.
		return res, fmt.Errorf("run cancelled (%v) with %d of %d namespace(s) done, %d not attempted: %w",
			context.Cause(ctx), len(res.Succeeded()), len(res.Namespaces), res.notAttempted(), err)
	}
	if err := res.Err(); err != nil {
		return res, Classify(namespacesKind(res), explainForbidden(err, cfg.SecretName))
	}
	return res, nil
}

// stateReads is ReadStates running in the background.
type stateReads struct {
	done     chan struct{}
	states   map[string]*kube.State
	fallback string
	err      error
}

// readStatesAsync reads, across the cluster, the state of every target
// that exists (a namespace still to be created is read once it is).
func readStatesAsync(ctx context.Context, cfg *config.Config, c *kube.Client, targets []kube.Target) *stateReads {
	var names []string
	for _, t := range targets {
		if !t.Missing {
			names = append(names, t.Name)
		}
	}
	req := kube.StateRequest{SecretName: cfg.SecretName, ServiceAccounts: cfg.ServiceAccounts}
	if cfg.Mode == config.ModeDelete {
		req = deleteStateRequest(cfg)
	}
	sr := &stateReads{done: make(chan struct{})}
	go func() {
		defer close(sr.done)
		sr.states, sr.fallback, sr.err = kube.ReadStates(ctx, c, names, req)
	}()
	return sr
}

func (sr *stateReads) wait(r Reporter) (map[string]*kube.State, error) {
	<-sr.done
	if sr.fallback != "" {
		r.Infof("Reading namespaces one by one: %s", sr.fallback)
	}
	return sr.states, sr.err
}

func connect(cfg *config.Config, d Deps) (*kube.Connection, error) {
	kc, getenv, err := container.Kubeconfig(cfg.Kubeconfig, d.Getenv, d.ReadFile)
	if err != nil {
		return nil, err
	}
	host := d.Host.WithDefaults()
	conn, err := kube.Connect(kube.ClientOptions{
		Kubeconfig:  kc,
		Context:     cfg.Context,
		Concurrency: cfg.Concurrency,
		UserAgent:   "pullsecret/" + d.Version,
		Getenv:      getenv,
		InContainer: host.InContainer,
		Redirect: func(rc *rest.Config) (string, error) {
			return container.RedirectLoopback(rc, cfg.APIServerHost, host)
		},
		RequestTimeout: d.KubeRequestTimeout,
		Mask:           d.Reporter.Mask,
		WrapTransport:  d.WrapTransport,
	})
	if err != nil {
		return nil, fmt.Errorf("failed to connect to the cluster: %w", err)
	}
	conn.KeptLoopback = container.KeptLoopback(conn.Config.Host, cfg.APIServerHost, host)
	return conn, nil
}

func resolveTargets(ctx context.Context, cfg *config.Config, conn *kube.Connection) ([]kube.Target, error) {
	patterns := cfg.Namespaces
	if len(patterns) == 0 && cfg.NamespaceSelector == "" {
		patterns = []string{conn.Namespace}
	}
	var names, globs []string
	for _, p := range patterns {
		if config.IsGlob(p) {
			globs = append(globs, p)
		} else {
			names = append(names, p)
		}
	}
	targets, err := kube.ResolveNamespaces(ctx, conn.Client, kube.NamespaceRequest{
		Names: names, Globs: globs, Selector: cfg.NamespaceSelector, Excludes: cfg.ExcludeNamespaces,
	})
	if err != nil {
		return nil, Classify(clusterKind(err), explainForbidden(explainAPIError(conn, err), cfg.SecretName))
	}
	if cfg.SkipMissingNamespaces {
		targets = slices.DeleteFunc(targets, func(t kube.Target) bool { return t.Missing })
	}
	// A missing namespace is bad input: fail before writing anything.
	var missing []string
	for _, t := range targets {
		if t.Missing && cfg.Mode == config.ModeApply && !cfg.CreateNamespaces {
			missing = append(missing, fmt.Sprintf("%q", t.Name))
		}
	}
	if len(missing) > 0 {
		return nil, Classify(ErrBadInput, fmt.Errorf("input %q: namespace(s) %s do not exist; create them first or set %s: true", config.InNamespaces, strings.Join(missing, ", "), config.InCreateNamespaces))
	}
	return targets, nil
}

// explainAPIError adds the fix for the failure docker actions hit most.
func explainAPIError(conn *kube.Connection, err error) error {
	var opErr *net.OpError
	switch {
	case !errors.As(err, &opErr):
	case conn.Rewritten != "":
		return fmt.Errorf("cannot reach the API server through the host (%s): %w (for kind in the same job, see docs/TROUBLESHOOTING.md#loopback-api-server)", conn.Rewritten, err)
	case conn.KeptLoopback != "":
		return fmt.Errorf("cannot reach the API server at %s: %w. Input \"api_server_host\" is off, so inside this container that loopback address is the container itself, where no API server runs: set api_server_host to auto (the runner host) or to the host's address, or run the CLI in a run: step (see docs/TROUBLESHOOTING.md#loopback-api-server)", conn.KeptLoopback, err)
	}
	return err
}

func verb(cfg *config.Config) string {
	v := "Writing"
	if cfg.Mode == config.ModeDelete {
		v = "Deleting"
	}
	if cfg.DryRun {
		v += " (dry run)"
	}
	return v
}

func describeRequest(cfg *config.Config) string {
	parts := []string{}
	if len(cfg.Namespaces) > 0 {
		parts = append(parts, fmt.Sprintf("namespaces %v", cfg.Namespaces))
	}
	if cfg.NamespaceSelector != "" {
		parts = append(parts, fmt.Sprintf("selector %q", cfg.NamespaceSelector))
	}
	return strings.Join(parts, " and ")
}

// noopReporter discards everything: the Reporter of a caller that sets none.
type noopReporter struct{}

func (noopReporter) Mask(string)              {}
func (noopReporter) Group(string)             {}
func (noopReporter) EndGroup()                {}
func (noopReporter) Infof(string, ...any)     {}
func (noopReporter) Warningf(string, ...any)  {}
func (noopReporter) SetOutput(string, string) {}
func (noopReporter) AddStepSummary(string)    {}

func beforeWrite(ctx context.Context, d Deps, ns string) error {
	if d.BeforeWrite == nil {
		return nil
	}
	return d.BeforeWrite(ctx, ns)
}
