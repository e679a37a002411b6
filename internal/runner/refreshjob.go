package runner

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/refresher"
)

// RefreshCommand is the argument that selects Job mode:
// `pullsecret refresh --config-map NAMESPACE/NAME [--provider P] --set NAME=VALUE…`,
// what the refresher's CronJob runs.
const RefreshCommand = "refresh"

// maxResultLen bounds the last-result annotation (annotations are limited
// to 256 KiB in all, and a human reads this one).
const maxResultLen = 1024

// recordTimeout bounds recording the outcome after the run's own context
// ended (the Job was cancelled or hit its deadline).
const recordTimeout = 10 * time.Second

// jobArgs are a refresher run's arguments: everything the installer fixed.
type jobArgs struct {
	namespace, name string
	provider        string
	serviceAccount  string
	tokenFile       string
	fixed           map[string]string
}

func parseJobArgs(args []string, stderr io.Writer) (*jobArgs, error) {
	fs := flag.NewFlagSet("pullsecret refresh", flag.ContinueOnError)
	fs.SetOutput(stderr)
	a := &jobArgs{fixed: map[string]string{}}
	ref := fs.String("config-map", "", "the refresher's ConfigMap (its coverage), NAMESPACE/NAME")
	fs.StringVar(&a.serviceAccount, "service-account", "", "the Google service account the refresher impersonates (with --provider)")
	fs.StringVar(&a.provider, "provider", "", "Workload Identity provider the projected token is exchanged at (empty: the metadata server)")
	fs.StringVar(&a.tokenFile, "token-file", refresher.TokenPath, "the projected ServiceAccount token")
	fs.Func("set", "an input the installer fixed, NAME=VALUE (repeated)", func(kv string) error {
		k, v, _ := strings.Cut(kv, "=")
		if !slices.Contains(refresher.FixedInputs, k) {
			return fmt.Errorf("%q is not an input the refresher takes from its arguments (%s)", k, strings.Join(refresher.FixedInputs, ", "))
		}
		a.fixed[k] = v
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	var ok bool
	a.namespace, a.name, ok = strings.Cut(*ref, "/")
	if !ok || a.namespace == "" || !strings.HasPrefix(a.name, refresher.Name) {
		return nil, fmt.Errorf("pullsecret refresh: --config-map must be NAMESPACE/%s-…, not %q", refresher.Name, *ref)
	}
	return a, nil
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
func RunRefresher(ctx context.Context, args []string, stderr io.Writer, d Deps) error {
	a, err := parseJobArgs(args, stderr)
	if err != nil {
		return err
	}
	d.defaults()
	boot, err := config.Load(func(string) (string, bool) { return "", false })
	if err != nil {
		return err
	}
	conn, err := connect(boot, d)
	if err != nil {
		return err
	}
	rc := conn.Client.JSON()
	cm, err := refresher.ReadConfigMap(ctx, rc, a.namespace, a.name)
	if err != nil {
		return err
	}
	if cm == nil {
		return fmt.Errorf("the refresher's ConfigMap %s/%s does not exist: the refresher was removed (mode: delete with refresh: true) while this Job ran, or was never installed", a.namespace, a.name)
	}
	res, runErr := runCovered(ctx, a, cm.Data, d, rc)
	now := d.Now().UTC()
	status := map[string]string{}
	if runErr == nil {
		status[refresher.AnnotationLastSuccess] = now.Format(time.RFC3339)
		status[refresher.AnnotationExpiresAt] = formatExpiry(res.ExpiresAt)
		status[refresher.AnnotationLastResult] = fmt.Sprintf("refreshed %d namespace(s) at %s", len(res.Succeeded()), now.Format(time.RFC3339))
		if n := skipped(res); n > 0 {
			status[refresher.AnnotationLastResult] += fmt.Sprintf("; skipped %d (see the Job's log)", n)
		}
	} else {
		msg := redact(d, runErr.Error())
		if len(msg) > maxResultLen {
			msg = msg[:maxResultLen] + "…"
		}
		status[refresher.AnnotationLastResult] = "failed at " + now.Format(time.RFC3339) + ": " + msg
		// Keep what the last success recorded.
		for _, k := range []string{refresher.AnnotationLastSuccess, refresher.AnnotationExpiresAt} {
			if v := cm.Annotations[k]; v != "" {
				status[k] = v
			}
		}
	}
	// Recorded even when the Job was cancelled or hit its deadline.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	var recordErr error
	if err := refresher.RecordStatus(rctx, rc, a.namespace, a.name, status); err != nil {
		recordErr = fmt.Errorf("failed to record the refresher's status on ConfigMap %s/%s: %w", a.namespace, a.name, err)
	}
	if runErr != nil {
		recordErr = errors.Join(recordErr, refresher.RecordEvent(rctx, rc, cm, "RefreshFailed", status[refresher.AnnotationLastResult], now))
	}
	return errors.Join(runErr, recordErr)
}

// runCovered loads the run's configuration from the arguments and the
// ConfigMap's coverage, and runs it.
func runCovered(ctx context.Context, a *jobArgs, data map[string]string, d Deps, rc rest.Interface) (*Result, error) {
	cov, err := refresher.CoverageFrom(data)
	if err != nil {
		return nil, fmt.Errorf("the refresher's ConfigMap %s/%s: %w", a.namespace, a.name, err)
	}
	inputs := map[string]string{}
	for k, v := range cov.Data() {
		inputs[k] = v
	}
	for k, v := range a.fixed {
		inputs[k] = v
	}
	cfg, err := config.Load(func(n string) (string, bool) { v, ok := inputs[n]; return v, ok },
		config.SkipMissingNamespaces(), config.SkipForeignSecrets(), config.AllowHTTPEndpoints(d.Getenv(config.EnvAllowHTTPEndpoints) == "true"))
	if err != nil {
		return nil, fmt.Errorf("the refresher %s/%s has invalid settings:\n%w", a.namespace, a.name, err)
	}
	if a.provider != "" {
		if d, err = withGeneratedCredentials(d, a, cfg); err != nil {
			return nil, err
		}
	}
	d.BeforeWrite = func(ctx context.Context, ns string) error { return stillCovered(ctx, rc, a, ns) }
	return Run(ctx, cfg, d)
}

// credentialsPath names the generated credential configuration; it is
// never a file: ReadFile serves it from memory.
const credentialsPath = "/proc/self/fd/pullsecret-refresher-credentials.json"

// withGeneratedCredentials points Application Default Credentials at the
// external_account configuration generated from the arguments with the
// fixed template (refresher.CredentialConfig): nothing of it is read from
// the cluster.
func withGeneratedCredentials(d Deps, a *jobArgs, cfg *config.Config) (Deps, error) {
	cred, err := refresher.CredentialConfig(refresher.Settings{
		Provider: a.provider, ServiceAccount: a.serviceAccount, TokenLifetime: cfg.TokenLifetime,
		STSEndpoint: cfg.STSEndpoint, IAMCredentialsEndpoint: cfg.IAMCredentialsEndpoint,
	}, a.tokenFile)
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
func stillCovered(ctx context.Context, rc rest.Interface, a *jobArgs, ns string) error {
	cm, err := refresher.ReadConfigMap(ctx, rc, a.namespace, a.name)
	if err != nil {
		return err
	}
	if cm == nil {
		return errNoLongerCovered
	}
	cov, err := refresher.CoverageFrom(cm.Data)
	if err != nil {
		return fmt.Errorf("the refresher's ConfigMap %s/%s: %w", a.namespace, a.name, err)
	}
	var labels map[string]string
	if cov.Selector != "" && !cov.Covers(ns, nil) {
		var obj corev1.Namespace
		raw, err := rc.Get().AbsPath("/api/v1/namespaces/" + ns).Do(ctx).Raw()
		if err == nil {
			err = json.Unmarshal(raw, &obj)
		}
		if err != nil {
			return fmt.Errorf("failed to read namespace %q: %w", ns, err)
		}
		labels = obj.Labels
	}
	if !cov.Covers(ns, labels) {
		return errNoLongerCovered
	}
	return nil
}
