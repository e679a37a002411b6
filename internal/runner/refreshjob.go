package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/kube"
	"github.com/pullsecret/pullsecret/internal/labels"
	"github.com/pullsecret/pullsecret/internal/refresher"
	"github.com/pullsecret/pullsecret/internal/testrig"
)

// maxResultLen bounds the last-result annotation (annotations are limited
// to 256 KiB in all, and a human reads this one).
const maxResultLen = 1024

// recordTimeout bounds recording the outcome after the run's own context
// ended (the Job was cancelled or hit its deadline).
const recordTimeout = 10 * time.Second

// RefresherArgs are a refresher run's arguments, everything the installer
// fixed in its CronJob (internal/cli parses them from the refresh
// command's flags).
type RefresherArgs struct {
	// Namespace and Name locate its ConfigMap: its coverage.
	Namespace, Name string
	Provider        string
	ServiceAccount  string
	// TokenFile is the projected ServiceAccount token.
	TokenFile string
	// Fixed are refresher.FixedInputs' values.
	Fixed map[string]string
	// Watch, when set, runs the watching refresher (refresh --watch):
	// RunWatchingRefresher.
	Watch *WatchArgs
	// Credentials, when set, are credential inputs (credentials_json)
	// the watching refresher mints with out of cluster instead of the
	// installed identity.
	Credentials map[string]string
}

// RunRefresher is one refresher run: identity, endpoints and registries
// come from its arguments (fixed by the installer in the CronJob), only the
// coverage from the ConfigMap, through an allowlist. It authenticates with
// a credential configuration generated here from the arguments (the
// projected ServiceAccount token exchanged at STS) or the GKE metadata
// server, rewrites the secrets, re-checking the coverage before each
// namespace, and records the outcome on the ConfigMap: status annotations
// always (also when the run is cancelled or its settings are invalid), an
// Event on failure, both redacted.
func RunRefresher(ctx context.Context, a *RefresherArgs, d Deps) error {
	d.defaults()
	boot, err := config.Load(func(string) (string, bool) { return "", false })
	if err != nil {
		return err
	}
	conn, err := connect(boot, d)
	if err != nil {
		return err
	}
	c := conn.Client
	cm, err := refresherConfigMap(ctx, c, a.Namespace, a.Name)
	if err != nil {
		return err
	}
	if cm == nil {
		return fmt.Errorf("the refresher's ConfigMap %s/%s does not exist: the refresher was removed (mode: delete with refresh: true) while this Job ran, or was never installed", a.Namespace, a.Name)
	}
	res, runErr := runCovered(ctx, a, cm.Data, d, c)
	now := d.Now().UTC()
	status := map[string]string{}
	if runErr == nil {
		status[labels.LastSuccess] = now.Format(time.RFC3339)
		status[labels.ExpiresAt] = formatExpiry(res.ExpiresAt)
		status[labels.LastResult] = fmt.Sprintf("refreshed %d namespace(s) at %s", len(res.Succeeded()), now.Format(time.RFC3339))
		if n := skipped(res); n > 0 {
			status[labels.LastResult] += fmt.Sprintf("; skipped %d (see the Job's log)", n)
		}
	} else {
		msg := redact(d, runErr.Error())
		if len(msg) > maxResultLen {
			msg = msg[:maxResultLen] + "…"
		}
		status[labels.LastResult] = "failed at " + now.Format(time.RFC3339) + ": " + msg
		// Keep what the last success recorded.
		for _, k := range []string{labels.LastSuccess, labels.ExpiresAt} {
			if v := cm.Annotations[k]; v != "" {
				status[k] = v
			}
		}
	}
	// Recorded even when the Job was cancelled or hit its deadline.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	var recordErr error
	if err := c.ApplyObject(rctx, refresher.Status(a.Namespace, a.Name, status), refresher.StatusFieldManager, false); err != nil {
		recordErr = fmt.Errorf("failed to record the refresher's status on ConfigMap %s/%s: %w", a.Namespace, a.Name, err)
	}
	if runErr != nil {
		if err := c.CreateEvent(rctx, refresher.FailureEvent(cm, "RefreshFailed", status[labels.LastResult], now)); err != nil {
			recordErr = errors.Join(recordErr, fmt.Errorf("failed to record an event on ConfigMap %s/%s: %w", cm.Namespace, cm.Name, err))
		}
	}
	return errors.Join(runErr, recordErr)
}

// runCovered loads the run's configuration from the arguments and the
// ConfigMap's coverage, and runs it.
func runCovered(ctx context.Context, a *RefresherArgs, data map[string]string, d Deps, c *kube.Client) (*Result, error) {
	cov, err := refresher.CoverageFrom(data)
	if err != nil {
		return nil, fmt.Errorf("the refresher's ConfigMap %s/%s: %w", a.Namespace, a.Name, err)
	}
	inputs := map[string]string{}
	for k, v := range cov.Data() {
		inputs[k] = v
	}
	for k, v := range a.Fixed {
		inputs[k] = v
	}
	cfg, err := config.Load(func(n string) (string, bool) { v, ok := inputs[n]; return v, ok },
		config.SkipMissingNamespaces(), config.SkipForeignSecrets(), config.AllowHTTPEndpoints(testrig.Getenv(d.Getenv, config.EnvAllowHTTPEndpoints) == "true"))
	if err != nil {
		return nil, fmt.Errorf("the refresher %s/%s has invalid settings:\n%w", a.Namespace, a.Name, err)
	}
	if a.Provider != "" {
		if d, err = withGeneratedCredentials(d, a, cfg); err != nil {
			return nil, err
		}
	}
	d.BeforeWrite = func(ctx context.Context, ns string) error { return stillCovered(ctx, c, a, ns) }
	d.WrittenBy = RefresherWriter(a.Namespace, a.Name)
	return Run(ctx, cfg, d)
}

// RefresherWriter is what a refresher records as a secret's writer
// (labels.WrittenBy).
func RefresherWriter(namespace, name string) string { return "refresher:" + namespace + "/" + name }

// credentialsPath names the generated credential configuration; it is
// never a file: ReadFile serves it from memory.
const credentialsPath = "/proc/self/fd/pullsecret-refresher-credentials.json"

// withGeneratedCredentials points Application Default Credentials at the
// external_account configuration generated from the arguments with the
// fixed template (refresher.CredentialConfig): nothing of it is read from
// the cluster.
func withGeneratedCredentials(d Deps, a *RefresherArgs, cfg *config.Config) (Deps, error) {
	cred, err := refresher.CredentialConfig(refresher.Settings{
		Provider: a.Provider, ServiceAccount: a.ServiceAccount, TokenLifetime: cfg.TokenLifetime,
		STSEndpoint: cfg.STSEndpoint, IAMCredentialsEndpoint: cfg.IAMCredentialsEndpoint,
	}, a.TokenFile)
	if err != nil {
		return d, fmt.Errorf("failed to generate the refresher's credential configuration: %w", err)
	}
	getenv, readFile := d.Getenv, d.ReadFile
	d.Getenv = func(k string) string {
		if k == "GOOGLE_APPLICATION_CREDENTIALS" {
			return credentialsPath
		}
		return getenv(k)
	}
	d.ReadFile = func(p string) ([]byte, error) {
		if p == credentialsPath {
			return cred, nil
		}
		return readFile(p)
	}
	return d, nil
}

func skipped(res *Result) int {
	n := 0
	for _, ns := range res.Namespaces {
		if ns.Skipped != "" {
			n++
		}
	}
	return n
}

func redact(d Deps, s string) string {
	if r, ok := d.Reporter.(interface{ Redact(string) string }); ok {
		return r.Redact(s)
	}
	return s
}

// errNoLongerCovered stops a write into a namespace a teardown removed
// from the refresher while this run went on.
var errNoLongerCovered = errors.New("no longer covered by the refresher (removed while this run went on); left alone")

// stillCovered re-reads the coverage right before a namespace is written.
func stillCovered(ctx context.Context, c *kube.Client, a *RefresherArgs, ns string) error {
	cm, err := refresherConfigMap(ctx, c, a.Namespace, a.Name)
	if err != nil {
		return err
	}
	if cm == nil {
		return errNoLongerCovered
	}
	cov, err := refresher.CoverageFrom(cm.Data)
	if err != nil {
		return fmt.Errorf("the refresher's ConfigMap %s/%s: %w", a.Namespace, a.Name, err)
	}
	var nsLabels map[string]string
	if cov.Selector != "" && !cov.Covers(ns, nil) {
		obj, err := c.Namespaces().Get(ctx, ns)
		if err != nil {
			return fmt.Errorf("failed to read namespace %q: %w", ns, err)
		}
		nsLabels = obj.Labels
	}
	if !cov.Covers(ns, nsLabels) {
		return errNoLongerCovered
	}
	return nil
}
