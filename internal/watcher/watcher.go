// Package watcher is the watching refresher (refresh_mode: watch): a
// controller that keeps one pull secret, and its references, in every
// namespace its ConfigMap covers, as namespaces and ServiceAccounts appear
// and drift, and rewrites them all with one new token when half of the
// token's lifetime has passed.
//
// It decides; package kube sends (informers, the Lease, every write), and
// the Writer the caller gives it mints the token and writes one namespace
// (package runner: the same path as the cron refresher's runs).
package watcher

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/util/workqueue"

	"github.com/pullsecret/pullsecret/internal/kube"
	"github.com/pullsecret/pullsecret/internal/labels"
	"github.com/pullsecret/pullsecret/internal/refresher"
)

// Writer mints the token and writes namespaces with it.
type Writer interface {
	// Mint mints one token, the one later Writes use, and returns its
	// expiry and the lifetime it was asked for (token_lifetime; zero:
	// unknown). It is the controller's only call to Google.
	Mint(ctx context.Context) (expiry time.Time, lifetime time.Duration, err error)
	// Current reports whether secret already holds the current token's
	// pull secret.
	Current(secret *corev1.Secret) bool
	// Write writes the secret into namespace, then references it from
	// st.ServiceAccounts; st is the namespace as the informers saw it
	// (writes are conditional on it, and retried on fresh data).
	Write(ctx context.Context, namespace string, st *kube.State) (Written, error)
}

// Written is what one Write changed.
type Written struct {
	Secret kube.SecretResult
	// Patched are the ServiceAccounts that gained the reference.
	Patched []string
	// Skipped, when set, says why the namespace was left alone (a secret
	// of that name pullsecret does not manage).
	Skipped string
}

// Config is one controller.
type Config struct {
	// Namespace and Name locate the refresher's ConfigMap (its coverage);
	// Name is also the Lease's.
	Namespace, Name string
	SecretName      string

	Client  *kube.Client
	Watches *kube.Watches
	Writer  Writer

	// LeaderElect runs the Lease election; without it this replica leads.
	LeaderElect bool
	Identity    string

	// Observer (nil: none) and Recoverer (nil: no pod recovery).
	Observer  Observer
	Recoverer PodRecoverer

	// Infof and Warnf print (through the reporter, which redacts);
	// Redact redacts what goes to the ConfigMap's status and Events.
	Infof, Warnf func(format string, args ...any)
	Redact       func(string) string
	Now          func() time.Time

	// Workers write namespaces concurrently (0: 4).
	Workers int
	// CoverageResync is how often the ConfigMap is re-read while it cannot
	// be watched (0: 30 s): a refresher whose Role predates the watch on
	// its ConfigMap still follows its coverage, slowly.
	CoverageResync time.Duration
}

// Timings of failure handling: a failed namespace is retried after 1 s,
// doubling to 5 min; a failed mint likewise. The same failure is recorded
// (Event and status) at most once per recordEvery.
const (
	backoffBase  = time.Second
	backoffMax   = 5 * time.Minute
	recordEvery  = 5 * time.Minute
	recordAtMost = 30 * time.Second
)

// Controller is a running watching refresher.
type Controller struct {
	cfg   Config
	obs   Observer
	queue workqueue.TypedRateLimitingInterface[string]

	mu       sync.Mutex
	cov      *refresher.Coverage // nil: none usable (ConfigMap gone or invalid)
	covData  map[string]string
	covRead  bool
	covErr   error // why the ConfigMap's coverage is not usable
	cm       *corev1.ConfigMap
	watching map[kube.WatchSpec]*kube.Informer
	// cmMu orders the coverage the ConfigMap's watch and the fallback's
	// re-reads deliver; cmFailing is set while its watch fails (then the
	// fallback re-reads it), cmWarned once that was logged.
	cmMu      sync.Mutex
	cmFailing atomic.Bool
	cmWarned  sync.Once
	// minted is set once a token was minted in this leadership term.
	minted bool
	// last success and failure recorded on the ConfigMap
	lastSuccess, lastExpiry string
	lastFailure             string
	lastFailureAt           time.Time

	// lead is the current leadership's context (nil: not leading); every
	// write runs under it, so none starts after the Lease is lost.
	lead atomic.Pointer[context.Context]
	// nsLocks serialise work on one namespace (queue workers and a
	// refresh cycle).
	nsLocks sync.Map
	// recheck is the coverage as last re-read before a write, at recheckAt.
	recheckMu sync.Mutex
	recheck   *refresher.Coverage
	recheckAt time.Time
}

// New builds a controller.
func New(cfg Config) *Controller {
	if cfg.Observer == nil {
		cfg.Observer = NopObserver{}
	}
	if cfg.Infof == nil {
		cfg.Infof = func(string, ...any) {}
	}
	if cfg.Warnf == nil {
		cfg.Warnf = func(string, ...any) {}
	}
	if cfg.Redact == nil {
		cfg.Redact = func(s string) string { return s }
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.CoverageResync <= 0 {
		cfg.CoverageResync = 30 * time.Second
	}
	return &Controller{
		cfg: cfg, obs: cfg.Observer,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](backoffBase, backoffMax),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: cfg.Name}),
		watching: map[kube.WatchSpec]*kube.Informer{},
	}
}

// Run runs the controller until ctx ends; then it releases the Lease and
// returns nil. It fails at once only when the ConfigMap cannot be read at
// start (not installed, or no permission).
func (c *Controller) Run(ctx context.Context) error {
	cm, err := c.cfg.Client.ConfigMap(ctx, c.cfg.Namespace, c.cfg.Name)
	if err != nil {
		return fmt.Errorf("failed to read the refresher's ConfigMap %s/%s: %w", c.cfg.Namespace, c.cfg.Name, err)
	}
	if cm == nil {
		return fmt.Errorf("the refresher's ConfigMap %s/%s does not exist: install the refresher (refresh: true) first", c.cfg.Namespace, c.cfg.Name)
	}
	c.lastSuccess, c.lastExpiry = cm.Annotations[labels.LastSuccess], cm.Annotations[labels.ExpiresAt]
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer c.stopWatches()
	defer c.queue.ShutDown()
	c.setCoverage(ctx, cm)

	var wg sync.WaitGroup
	for range c.cfg.Workers {
		wg.Go(func() { c.work() })
	}
	c.watchCoverage(ctx)
	wg.Go(func() { c.resyncCoverage(ctx) })
	if c.cfg.LeaderElect {
		kube.Elect(ctx, c.cfg.Client, kube.Election{
			Namespace: c.cfg.Namespace, Name: c.cfg.Name, Identity: c.cfg.Identity,
			Lead: c.leadWhile, Leading: c.obs.Leading,
		})
	} else {
		c.obs.Leading(true)
		c.leadWhile(ctx)
		c.obs.Leading(false)
	}
	cancel()
	c.queue.ShutDown()
	wg.Wait()
	return nil
}
