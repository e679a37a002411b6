package watcher

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/pullsecret/pullsecret/internal/kube"
	"github.com/pullsecret/pullsecret/internal/refresher"
)

// work takes namespaces off the queue until it shuts down. A failed
// namespace goes back with the queue's per-item backoff (1 s doubling to
// 5 min): never a hot loop.
func (c *Controller) work() {
	for {
		ns, quit := c.queue.Get()
		if quit {
			return
		}
		ctx := c.leading()
		if ctx == nil {
			// A follower keeps its caches warm and writes nothing; the
			// leader it becomes looks at every namespace then.
			c.queue.Forget(ns)
			c.queue.Done(ns)
			continue
		}
		err := c.reconcile(*ctx, ns, false)
		switch {
		case err == nil:
			c.queue.Forget(ns)
		case (*ctx).Err() != nil:
			c.queue.Forget(ns)
		case errors.As(err, new(notListed)):
			// A watch just started (it lists, then the namespace is
			// looked at again), or cannot list (its warnings say why; a
			// refresh reports the namespace failed): not a new failure.
			c.queue.AddRateLimited(ns)
		default:
			c.fail(*ctx, ReasonKubernetes, fmt.Errorf("%s: %w", ns, err))
			c.queue.AddRateLimited(ns)
		}
		c.queue.Done(ns)
	}
}

func (c *Controller) leading() *context.Context {
	ctx := c.lead.Load()
	if ctx == nil || (*ctx).Err() != nil {
		return nil
	}
	return ctx
}

// reconcile brings namespace ns to the wanted state if it is covered and
// is not there: the secret with the current token, referenced by the
// covered ServiceAccounts that exist (one created later is referenced
// when it appears). It writes only what differs, after re-reading the
// coverage (in a refresh cycle, a re-read of the last second serves).
func (c *Controller) reconcile(ctx context.Context, ns string, cycle bool) error {
	unlock := c.lockNamespace(ns)
	defer unlock()
	cov := c.coverage()
	if cov == nil {
		return nil
	}
	if !c.syncedFor(ns) {
		return notListed(ns)
	}
	obj := c.namespace(ns)
	if obj == nil || !live(obj) || !cov.Covers(ns, obj.Labels) {
		return nil
	}
	c.mu.Lock()
	minted := c.minted
	c.mu.Unlock()
	if !minted {
		// The leader's first refresh, right after its mint, writes every
		// covered namespace.
		return nil
	}
	st := c.state(ns, *cov)
	if c.cfg.Writer.Current(st.Secret) && !slices.ContainsFunc(st.ServiceAccounts, c.lacksReference) {
		return nil
	}
	if err := c.stillCovered(ctx, ns, obj.Labels, cycle); err != nil {
		if errors.Is(err, errNoLongerCovered) {
			return nil
		}
		return err
	}
	w, err := c.cfg.Writer.Write(ctx, ns, st)
	if err != nil {
		return err
	}
	c.report(ns, w)
	if w.Secret == kube.SecretCreated {
		c.obs.NamespacesCovered(len(c.covered()))
	}
	if len(w.Patched) > 0 {
		c.recover(ctx, ns)
	}
	return nil
}

func (c *Controller) lacksReference(sa *corev1.ServiceAccount) bool {
	return !slices.ContainsFunc(sa.ImagePullSecrets, func(r corev1.LocalObjectReference) bool { return r.Name == c.cfg.SecretName })
}

func (c *Controller) report(ns string, w Written) {
	if w.Skipped != "" {
		c.cfg.Warnf("%s: %s", ns, w.Skipped)
		return
	}
	wroteSecret := false
	switch w.Secret {
	case kube.SecretCreated, kube.SecretUpdated, kube.SecretReplaced:
		wroteSecret = true
		c.obs.Wrote(KindSecret, 1)
	}
	if len(w.Patched) > 0 {
		c.obs.Wrote(KindServiceAccount, len(w.Patched))
	}
	if !wroteSecret && len(w.Patched) == 0 {
		return
	}
	c.cfg.Infof("%s: secret %q %s; referenced by ServiceAccount(s) %q", ns, c.cfg.SecretName, w.Secret, w.Patched)
}

// recover has the PodRecoverer (when on) delete ns's pods stuck before
// the reference existed.
func (c *Controller) recover(ctx context.Context, ns string) {
	if c.cfg.Recoverer == nil {
		return
	}
	n, err := c.cfg.Recoverer.Recover(ctx, ns)
	if n > 0 {
		c.obs.PodsRecovered(n)
	}
	if err != nil && ctx.Err() == nil {
		c.cfg.Warnf("%s: failed to recover stuck pods: %v", ns, err)
	}
}

// notListed: a watch namespace notListed needs has not listed.
type notListed string

func (ns notListed) Error() string {
	return fmt.Sprintf("the watches of namespace %q have not listed yet, so nothing is written there; the warnings that start with cannot watch say why", string(ns))
}

// errNoLongerCovered: the ConfigMap no longer covers the namespace.
var errNoLongerCovered = errors.New("no longer covered")

// stillCovered re-reads the coverage right before a namespace is written
// (as a cron run does): a teardown that just removed the namespace from
// the ConfigMap is honoured even when the ConfigMap's watch has not
// delivered that change yet. In a refresh cycle (every namespace at once) one read serves
// the writes of the next second; the namespace's labels are the watch's.
func (c *Controller) stillCovered(ctx context.Context, ns string, labels map[string]string, cycle bool) error {
	c.recheckMu.Lock()
	defer c.recheckMu.Unlock()
	if !cycle || c.recheck == nil || c.cfg.Now().Sub(c.recheckAt) > time.Second {
		cm, err := c.cfg.Client.ConfigMap(ctx, c.cfg.Namespace, c.cfg.Name)
		if err != nil {
			return fmt.Errorf("failed to re-read the refresher's ConfigMap %s/%s: %w", c.cfg.Namespace, c.cfg.Name, err)
		}
		if cm == nil {
			return errNoLongerCovered
		}
		cov, err := refresher.CoverageFrom(cm.Data)
		if err != nil {
			return fmt.Errorf("the refresher's ConfigMap %s/%s: %w", c.cfg.Namespace, c.cfg.Name, err)
		}
		c.recheck, c.recheckAt = &cov, c.cfg.Now()
	}
	if !c.recheck.Covers(ns, labels) {
		return errNoLongerCovered
	}
	return nil
}

func (c *Controller) lockNamespace(ns string) func() {
	m, _ := c.nsLocks.LoadOrStore(ns, &sync.Mutex{})
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}
