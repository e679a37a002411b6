package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/kube"
	"github.com/pullsecret/pullsecret/internal/testrig"
	"github.com/pullsecret/pullsecret/internal/watcher"
)

// WatchArgs are what the watching refresher adds to a refresher's
// arguments (the refresh command's --watch flags).
type WatchArgs struct {
	// Kubeconfig, when set, is the cluster out of cluster (development
	// and tests); empty: in-cluster, else $KUBECONFIG.
	Kubeconfig string
	// RecoverPods turns on stuck-pod recovery (podRecoverer).
	RecoverPods bool
	// MetricsAddress, when set, serves /metrics, /healthz and /readyz.
	MetricsAddress string
	// LeaderElect elects one writer among the replicas with a Lease.
	LeaderElect bool
}

// RunWatchingRefresher is the watching refresher (refresh_mode: watch):
// the controller of package watcher, writing with the cron refresher's
// path (the same generated credential configuration, the same writer),
// until ctx ends. Then it releases its Lease and returns nil.
func RunWatchingRefresher(ctx context.Context, a *RefresherArgs, d Deps) error {
	d.defaults()
	w := WatchArgs{LeaderElect: true}
	if a.Watch != nil {
		w = *a.Watch
	}
	conn, err := connectRefresher(w.Kubeconfig, d)
	if err != nil {
		return err
	}
	if a.Provider != "" && len(a.Credentials) == 0 {
		tokenFile, cleanup, err := projectedTokenOutOfCluster(ctx, conn.Client, a, d)
		if err != nil {
			return err
		}
		defer cleanup()
		copied := *a
		copied.TokenFile = tokenFile
		a = &copied
	}
	watches, err := kube.NewWatches(conn.Config)
	if err != nil {
		return err
	}
	secretName := a.Fixed[config.InSecretName]
	if secretName == "" {
		secretName = config.DefaultSecretName
	}
	// Every secret it writes names it as the writer (pullsecret status).
	d.WrittenBy = RefresherWriter(a.Namespace, a.Name)
	obs, metrics := metricsObserver(a.Name)
	var rec watcher.PodRecoverer
	if w.RecoverPods {
		rec = podRecoverer(RecoverOptions{Client: conn.Client, SecretName: secretName, Registries: config.SplitList(a.Fixed[config.InRegistries]), Reporter: d.Reporter, Now: d.Now})
	}
	c := watcher.New(watcher.Config{
		Namespace: a.Namespace, Name: a.Name, SecretName: secretName,
		Client: conn.Client, Watches: watches,
		Writer:      &watchWriter{a: a, d: d, c: conn.Client},
		LeaderElect: w.LeaderElect, Identity: identity(d.Getenv),
		Observer: obs, Recoverer: rec,
		Infof: d.Reporter.Infof, Warnf: d.Reporter.Warningf, Redact: func(s string) string { return redact(d, s) },
		Now: d.Now, Workers: workers(a),
	})
	if w.MetricsAddress != "" {
		bound, stop, err := serveHealth(ctx, w.MetricsAddress, c, metrics)
		if err != nil {
			return err
		}
		defer stop()
		d.Reporter.Infof("Serving /healthz, /readyz and /metrics on %s", bound)
	}
	d.Reporter.Infof("Watching refresher %s/%s (secret %q) on %s", a.Namespace, a.Name, secretName, conn.Config.Host)
	return c.Run(ctx)
}

// connectRefresher connects with kubeconfig (a path; empty: in-cluster,
// else $KUBECONFIG), as a cron refresher run does.
func connectRefresher(kubeconfig string, d Deps) (*kube.Connection, error) {
	boot, err := config.Load(func(n string) (string, bool) {
		if n == config.InKubeconfig && kubeconfig != "" {
			return kubeconfig, true
		}
		return "", false
	})
	if err != nil {
		return nil, err
	}
	return connect(boot, d)
}

// identity is this replica's in the Lease: its pod's name (the
// Deployment passes POD_NAME), else hostname_pid.
func identity(getenv func(string) string) string {
	if p := getenv("POD_NAME"); p != "" {
		return p
	}
	h, _ := os.Hostname()
	return h + "_" + strconv.Itoa(os.Getpid())
}

// InstalledRefresherArgs are the container arguments of the installed
// refresher's workload (its CronJob, else its Deployment, named like its
// ConfigMap): what `refresh --watch --config-map NS/NAME` runs with out of
// cluster when no other argument is given.
func InstalledRefresherArgs(ctx context.Context, a *RefresherArgs, d Deps) ([]string, error) {
	d.defaults()
	var kubeconfig string
	if a.Watch != nil {
		kubeconfig = a.Watch.Kubeconfig
	}
	conn, err := connectRefresher(kubeconfig, d)
	if err != nil {
		return nil, err
	}
	args, err := conn.Client.WorkloadArgs(ctx, a.Namespace, a.Name)
	if err != nil {
		return nil, fmt.Errorf("failed to read the installed refresher %s/%s's arguments: %w", a.Namespace, a.Name, err)
	}
	if args == nil {
		return nil, fmt.Errorf("no refresher %s/%s is installed (no CronJob or Deployment of that name): install it with refresh: true, or give its arguments (--service-account, --provider, --set)", a.Namespace, a.Name)
	}
	return args, nil
}

// watchWriter is the controller's Writer: one writer (newWriter: one
// mint) at a time, written with applyIn as a cron run writes.
type watchWriter struct {
	a *RefresherArgs
	d Deps
	c *kube.Client
	w atomic.Pointer[writer]
}

func (ww *watchWriter) Mint(ctx context.Context) (time.Time, time.Duration, error) {
	inputs := map[string]string{}
	for k, v := range ww.a.Fixed {
		inputs[k] = v
	}
	for k, v := range ww.a.Credentials {
		inputs[k] = v
	}
	cfg, err := config.Load(func(n string) (string, bool) { v, ok := inputs[n]; return v, ok },
		config.SkipMissingNamespaces(), config.SkipForeignSecrets(), config.AllowHTTPEndpoints(testrig.Getenv(ww.d.Getenv, config.EnvAllowHTTPEndpoints) == "true"))
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("the refresher %s/%s has invalid settings:\n%w", ww.a.Namespace, ww.a.Name, err)
	}
	d := ww.d
	MaskInputs(cfg, d.Reporter)
	if ww.a.Provider != "" && len(ww.a.Credentials) == 0 {
		if d, err = withGeneratedCredentials(d, ww.a, cfg); err != nil {
			return time.Time{}, 0, err
		}
	}
	w, err := newWriter(ctx, cfg, d)
	if err != nil {
		return time.Time{}, 0, err
	}
	ww.w.Store(w)
	return w.expiry, cfg.TokenLifetime, nil
}

func (ww *watchWriter) Current(s *corev1.Secret) bool {
	w := ww.w.Load()
	return w != nil && s != nil && s.Type == corev1.SecretTypeDockerConfigJson && bytes.Equal(s.Data[corev1.DockerConfigJsonKey], w.spec.Payload)
}

func (ww *watchWriter) Write(ctx context.Context, ns string, st *kube.State) (watcher.Written, error) {
	w := ww.w.Load()
	if w == nil {
		// The controller writes only after its first mint.
		return watcher.Written{Skipped: "no token yet"}, nil
	}
	t := kube.Target{Name: ns, Matched: true}
	var nr NamespaceResult
	if ww.Current(st.Secret) {
		// Only references are missing: no secret write.
		nr = w.referenceIn(ctx, ww.c, st, NamespaceResult{Namespace: ns, Secret: kube.SecretUnchanged, matched: true})
	} else {
		nr = w.applyIn(ctx, ww.c, t, st)
	}
	out := watcher.Written{Secret: nr.Secret, Patched: nr.Patched, Skipped: nr.Skipped}
	if errors.Is(nr.Err, kube.ErrNotOurs) {
		// As a cron run: never a retry storm over a secret pullsecret
		// was never asked to take over.
		out.Skipped = fmt.Sprintf("a secret %q that pullsecret does not manage is there; the refresher leaves it alone", w.cfg.SecretName)
		return out, nil
	}
	return out, nr.Err
}

// workers is how many namespaces the controller writes at once: the
// installed concurrency (a refresh writes every namespace), 4 when unset.
func workers(a *RefresherArgs) int {
	if n, err := strconv.Atoi(a.Fixed[config.InConcurrency]); err == nil && n > 0 {
		return n
	}
	return 4
}
