package watcher

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/pullsecret/pullsecret/internal/labels"
	"github.com/pullsecret/pullsecret/internal/refresher"
)

// defaultInterval refreshes a credential that states no expiry.
const defaultInterval = 30 * time.Minute

// maxResultLen bounds the last-result annotation, as a cron run's.
const maxResultLen = 1024

// recordTimeout bounds recording a status after the leadership ended.
const recordTimeout = 10 * time.Second

// leadWhile is the leader's loop, until ctx ends (the Lease is lost or
// the controller stops): mint one token, write every covered namespace
// with it, and again when half of its lifetime has passed. Namespaces
// that appear in between get the same token. A failed mint is retried
// after 1 s, doubling to 5 min.
func (c *Controller) leadWhile(ctx context.Context) {
	c.lead.Store(&ctx)
	defer func() {
		c.lead.Store(nil)
		c.mu.Lock()
		c.minted = false
		c.mu.Unlock()
	}()
	if c.cfg.LeaderElect {
		c.cfg.Infof("Leading: holding Lease %s/%s as %s", c.cfg.Namespace, c.cfg.Name, c.cfg.Identity)
	}
	backoff := backoffBase
	for {
		if !c.waitReady(ctx) {
			return
		}
		start := c.cfg.Now()
		expiry, lifetime, err := c.cfg.Writer.Mint(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			c.fail(ctx, ReasonGoogle, err)
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, backoffMax)
			continue
		}
		backoff = backoffBase
		interval, next := schedule(start, expiry, lifetime)
		c.mu.Lock()
		c.minted = true
		c.mu.Unlock()
		c.obs.TokenMinted(expiry)
		c.obs.Interval(interval)
		c.refreshAll(ctx, expiry)
		if !sleep(ctx, next.Sub(c.cfg.Now())) {
			return
		}
	}
}

// minInterval is the shortest time between two mints, whatever the token
// says: never a hot loop, even on a token that came expired.
const minInterval = 10 * time.Second

// schedule is when to mint again after a mint that started at start and
// got a token until expiry, asked for lifetime: when half of the lifetime
// has passed since Google issued it (expiry - lifetime, not when this
// replica asked). A token whose life is not the one asked for (the GKE
// metadata server's own, which token_lifetime does not govern) is
// refreshed when half of what was left at the mint has passed.
func schedule(start, expiry time.Time, lifetime time.Duration) (interval time.Duration, next time.Time) {
	switch left := expiry.Sub(start); {
	case expiry.IsZero():
		interval, next = defaultInterval, start.Add(defaultInterval)
	case lifetime > 0 && (left-lifetime).Abs() < time.Minute:
		interval, next = lifetime/2, expiry.Add(-lifetime/2)
	default:
		interval, next = left/2, start.Add(left/2)
	}
	if next.Before(start.Add(minInterval)) {
		next = start.Add(minInterval)
	}
	return max(interval, minInterval), next
}

// waitReady records a coverage that is not usable (a bad ConfigMap) when
// this replica starts to lead, then waits until the coverage is usable and every watch listed,
// or readyWait passed: a watch that cannot list (a namespace's RBAC is
// missing) then fails that namespace, not every other.
func (c *Controller) waitReady(ctx context.Context) bool {
	c.mu.Lock()
	covErr := c.covErr
	c.mu.Unlock()
	if covErr != nil {
		c.fail(ctx, ReasonConfig, covErr)
	}
	deadline := time.Now().Add(readyWait)
	err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(context.Context) (bool, error) {
		return c.coverage() != nil && (c.allSynced() || time.Now().After(deadline)), nil
	})
	return err == nil
}

// readyWait bounds the wait for the watches' first lists.
const readyWait = 30 * time.Second

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// refreshAll writes every covered namespace with the token just minted
// (Workers at a time), has the PodRecoverer look at each, and records the
// outcome on the ConfigMap. A namespace that failed is retried through
// the queue, with its backoff.
func (c *Controller) refreshAll(ctx context.Context, expiry time.Time) {
	nss := c.covered()
	c.obs.NamespacesCovered(len(nss))
	work := make(chan string)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for range min(c.cfg.Workers, max(len(nss), 1)) {
		wg.Go(func() {
			for ns := range work {
				if err := c.reconcile(ctx, ns, true); err != nil && ctx.Err() == nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("%s: %w", ns, err))
					mu.Unlock()
					c.queue.AddRateLimited(ns)
				}
				c.recover(ctx, ns)
			}
		})
	}
	for _, ns := range nss {
		work <- ns
	}
	close(work)
	wg.Wait()
	if ctx.Err() != nil {
		return
	}
	if len(errs) > 0 {
		c.fail(ctx, ReasonKubernetes, fmt.Errorf("%d of %d namespace(s) failed: %w", len(errs), len(nss), errors.Join(errs...)))
		return
	}
	c.succeed(ctx, len(nss), expiry)
}

// succeed records a refresh of n namespaces on the ConfigMap, with the
// keys and wording of a cron run.
func (c *Controller) succeed(ctx context.Context, n int, expiry time.Time) {
	now := c.cfg.Now().UTC()
	status := map[string]string{
		labels.LastSuccess: now.Format(time.RFC3339),
		labels.ExpiresAt:   formatExpiry(expiry),
		labels.LastResult:  fmt.Sprintf("refreshed %d namespace(s) at %s", n, now.Format(time.RFC3339)),
	}
	c.mu.Lock()
	c.lastSuccess, c.lastExpiry, c.lastFailure = status[labels.LastSuccess], status[labels.ExpiresAt], ""
	c.mu.Unlock()
	c.obs.RefreshSucceeded(now)
	c.cfg.Infof("Refreshed %d namespace(s); the token expires at %s", n, status[labels.ExpiresAt])
	c.record(ctx, status, "")
}

// fail reports a failure: always to the Observer and the log; on the
// ConfigMap (status and a RefreshFailed Event) when leading, and at most
// once per recordAtMost, or per recordEvery for the same message, so a
// failure that persists is recorded without flooding the API server.
func (c *Controller) fail(ctx context.Context, reason string, err error) {
	c.obs.RefreshFailed(reason)
	msg := c.cfg.Redact(err.Error())
	if len(msg) > maxResultLen {
		msg = msg[:maxResultLen] + "…"
	}
	c.cfg.Warnf("refresh failed (%s): %s", reason, msg)
	if c.leading() == nil {
		return
	}
	now := c.cfg.Now().UTC()
	c.mu.Lock()
	since := now.Sub(c.lastFailureAt)
	if (msg == c.lastFailure && since < recordEvery) || since < recordAtMost {
		c.mu.Unlock()
		return
	}
	c.lastFailure, c.lastFailureAt = msg, now
	status := map[string]string{labels.LastResult: "failed at " + now.Format(time.RFC3339) + ": " + msg}
	// Keep what the last success recorded (the same field manager owns
	// them: an apply without them would remove them).
	if c.lastSuccess != "" {
		status[labels.LastSuccess] = c.lastSuccess
	}
	if c.lastExpiry != "" {
		status[labels.ExpiresAt] = c.lastExpiry
	}
	c.mu.Unlock()
	c.record(ctx, status, status[labels.LastResult])
}

// record applies status to the ConfigMap and, with an event message,
// records a RefreshFailed Event on it. Failing to record is logged: the
// controller goes on.
func (c *Controller) record(ctx context.Context, status map[string]string, event string) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if err := c.cfg.Client.ApplyObject(rctx, refresher.Status(c.cfg.Namespace, c.cfg.Name, status), refresher.StatusFieldManager, false); err != nil {
		c.cfg.Warnf("failed to record the refresher's status on ConfigMap %s/%s: %v", c.cfg.Namespace, c.cfg.Name, err)
	}
	c.mu.Lock()
	cm := c.cm
	c.mu.Unlock()
	if event == "" || cm == nil {
		return
	}
	if err := c.cfg.Client.CreateEvent(rctx, refresher.FailureEvent(cm, "RefreshFailed", event, c.cfg.Now())); err != nil {
		c.cfg.Warnf("failed to record an event on ConfigMap %s/%s: %v", cm.Namespace, cm.Name, err)
	}
}

func formatExpiry(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
