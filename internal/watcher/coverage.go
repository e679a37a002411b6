package watcher

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/pullsecret/pullsecret/internal/kube"
	"github.com/pullsecret/pullsecret/internal/refresher"
)

// watchCoverage watches the ConfigMap (by name): a coverage change (an
// install run adding a namespace, a teardown narrowing it, the ConfigMap
// deleted) is re-planned as soon as the API server sends it.
func (c *Controller) watchCoverage(ctx context.Context) {
	_, err := c.cfg.Watches.WatchConfigMap(ctx, c.cfg.Namespace, c.cfg.Name, func(cm *corev1.ConfigMap) {
		c.cmFailing.Store(false)
		c.cmMu.Lock()
		defer c.cmMu.Unlock()
		c.setCoverage(ctx, cm)
	}, c.coverageWatchFailed)
	if err != nil {
		c.coverageWatchFailed(kube.WatchSpec{Resource: "configmaps", Namespace: c.cfg.Namespace, Name: c.cfg.Name}, err)
	}
}

// coverageWatchFailed turns the fallback on: while the ConfigMap cannot
// be watched (its Role predates the watch, the API server is
// unreachable), it is re-read every CoverageResync. Logged once.
func (c *Controller) coverageWatchFailed(_ kube.WatchSpec, err error) {
	c.cmFailing.Store(true)
	c.cmWarned.Do(func() {
		c.cfg.Warnf("cannot watch the refresher's ConfigMap %s/%s (re-reading it every %s while it cannot): %v",
			c.cfg.Namespace, c.cfg.Name, c.cfg.CoverageResync, err)
	})
}

// resyncCoverage is the fallback: every CoverageResync, while the
// ConfigMap's watch fails, it re-reads the ConfigMap and re-plans the
// watches when its coverage changed. A healthy watch costs no request.
func (c *Controller) resyncCoverage(ctx context.Context) {
	t := time.NewTicker(c.cfg.CoverageResync)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !c.cmFailing.Load() {
			continue
		}
		cm, err := c.cfg.Client.ConfigMap(ctx, c.cfg.Namespace, c.cfg.Name)
		if err != nil {
			if ctx.Err() == nil {
				c.cfg.Warnf("failed to re-read the refresher's ConfigMap %s/%s (the coverage stays as it was): %v", c.cfg.Namespace, c.cfg.Name, err)
			}
			continue
		}
		c.cmMu.Lock()
		if c.cmFailing.Load() {
			c.setCoverage(ctx, cm)
		}
		c.cmMu.Unlock()
	}
}

// setCoverage takes cm (nil: removed) as the coverage: when it changed,
// the watches follow it and every covered namespace is reconciled once
// the new watches have listed.
func (c *Controller) setCoverage(ctx context.Context, cm *corev1.ConfigMap) {
	c.mu.Lock()
	if cm != nil {
		c.cm = cm
	}
	var data map[string]string
	if cm != nil {
		data = cm.Data
		if data == nil {
			data = map[string]string{}
		}
	}
	if c.covRead && maps.Equal(data, c.covData) && (data == nil) == (c.covData == nil) {
		c.mu.Unlock()
		return
	}
	c.covData, c.covRead = data, true
	var cov *refresher.Coverage
	var covErr error
	switch {
	case cm == nil:
		c.cfg.Warnf("the refresher's ConfigMap %s/%s is gone (the refresher was removed): nothing is written until it is back", c.cfg.Namespace, c.cfg.Name)
	default:
		got, err := refresher.CoverageFrom(data)
		if err != nil {
			covErr = err
		} else {
			cov = &got
		}
	}
	c.cov, c.covErr = cov, nil
	if covErr != nil {
		c.covErr = fmt.Errorf("the refresher's ConfigMap %s/%s: %w", c.cfg.Namespace, c.cfg.Name, covErr)
	}
	specs := map[kube.WatchSpec]bool{}
	if cov != nil {
		for _, s := range plan(*cov, c.cfg.SecretName) {
			specs[s] = true
		}
	}
	var started []*kube.Informer
	for s, inf := range c.watching {
		if !specs[s] {
			inf.Stop()
			delete(c.watching, s)
		}
	}
	for s := range specs {
		if c.watching[s] != nil {
			continue
		}
		inf, err := c.cfg.Watches.Inform(ctx, s, 0, c.queue.Add, c.watchFailed)
		if err != nil {
			c.cfg.Warnf("%v", err)
			continue
		}
		c.watching[s] = inf
		started = append(started, inf)
	}
	c.mu.Unlock()
	if covErr != nil {
		c.fail(ctx, ReasonConfig, c.coverageErr())
		return
	}
	if cov != nil {
		c.cfg.Infof("Coverage: namespaces %q, selector %q, excluding %q; ServiceAccounts %q (%d watch(es))",
			cov.Namespaces, cov.Selector, cov.Excludes, cov.ServiceAccounts, len(specs))
	}
	// Once the new watches listed, every covered namespace is looked at
	// again (a namespace named just now, ServiceAccounts added).
	go func() {
		if waitSynced(ctx, started) {
			c.enqueueCovered()
		}
	}()
}

// plan is what to watch for cov, within the refresher's RBAC: named
// coverage watches each namespace, its secret and its ServiceAccounts by
// name; glob or selector coverage watches namespaces, and the one secret
// name and the ServiceAccount names across the cluster (every
// ServiceAccount for "*").
func plan(cov refresher.Coverage, secretName string) []kube.WatchSpec {
	var out []kube.WatchSpec
	scopes := []string{""}
	if cov.NamesOnly() {
		scopes = slices.Sorted(slices.Values(cov.Namespaces))
		for _, ns := range scopes {
			out = append(out, kube.WatchSpec{Resource: "namespaces", Name: ns})
		}
	} else {
		out = append(out, kube.WatchSpec{Resource: "namespaces"})
	}
	sas := cov.ServiceAccounts
	if slices.Contains(sas, "*") {
		sas = []string{""}
	}
	for _, ns := range scopes {
		out = append(out, kube.WatchSpec{Resource: "secrets", Namespace: ns, Name: secretName})
		for _, sa := range sas {
			out = append(out, kube.WatchSpec{Resource: "serviceaccounts", Namespace: ns, Name: sa})
		}
	}
	return out
}

func waitSynced(ctx context.Context, infs []*kube.Informer) bool {
	err := wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true, func(context.Context) (bool, error) {
		for _, i := range infs {
			if !i.Synced() {
				return false, nil
			}
		}
		return true, nil
	})
	return err == nil
}

// syncedFor reports whether every watch that sees namespace ns has
// listed: until then its state is not known. A watch of another namespace
// that cannot list (its RBAC is missing) does not hold ns back.
func (c *Controller) syncedFor(ns string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for s, i := range c.watching {
		sees := s.Namespace == ns || (s.Namespace == "" && (s.Resource != "namespaces" || s.Name == "" || s.Name == ns))
		if sees && !i.Synced() {
			return false
		}
	}
	return true
}

// allSynced reports whether every watch has listed.
func (c *Controller) allSynced() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, i := range c.watching {
		if !i.Synced() {
			return false
		}
	}
	return true
}

func (c *Controller) stopWatches() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for s, i := range c.watching {
		i.Stop()
		delete(c.watching, s)
	}
}

// coverage is the current coverage (nil: none usable).
func (c *Controller) coverage() *refresher.Coverage {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cov
}

// informers returns the watches of resource.
func (c *Controller) informers(resource string) []*kube.Informer {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*kube.Informer
	for s, i := range c.watching {
		if s.Resource == resource {
			out = append(out, i)
		}
	}
	return out
}

// namespace is ns as watched, or nil.
func (c *Controller) namespace(ns string) *corev1.Namespace {
	for _, i := range c.informers("namespaces") {
		if o, ok := i.Get("", ns).(*corev1.Namespace); ok {
			return o
		}
	}
	return nil
}

// covered are the covered namespaces as watched, sorted.
func (c *Controller) covered() []string {
	cov := c.coverage()
	if cov == nil {
		return nil
	}
	var out []string
	for _, i := range c.informers("namespaces") {
		for _, o := range i.List() {
			if ns, ok := o.(*corev1.Namespace); ok && live(ns) && cov.Covers(ns.Name, ns.Labels) {
				out = append(out, ns.Name)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (c *Controller) enqueueCovered() {
	for _, ns := range c.covered() {
		c.queue.Add(ns)
	}
}

func live(ns *corev1.Namespace) bool {
	return ns.DeletionTimestamp == nil && ns.Status.Phase != corev1.NamespaceTerminating
}

// state is namespace ns as watched: its secret and the ServiceAccounts
// cov names (those that exist).
func (c *Controller) state(ns string, cov refresher.Coverage) *kube.State {
	st := &kube.State{}
	for _, i := range c.informers("secrets") {
		if i.Spec.Namespace != "" && i.Spec.Namespace != ns {
			continue
		}
		if s, ok := i.Get(ns, c.cfg.SecretName).(*corev1.Secret); ok {
			st.Secret = s
		}
	}
	all := slices.Contains(cov.ServiceAccounts, "*")
	seen := map[string]bool{}
	for _, i := range c.informers("serviceaccounts") {
		if i.Spec.Namespace != "" && i.Spec.Namespace != ns {
			continue
		}
		for _, o := range i.List() {
			sa, ok := o.(*corev1.ServiceAccount)
			if !ok || sa.Namespace != ns || seen[sa.Name] || (!all && !slices.Contains(cov.ServiceAccounts, sa.Name)) {
				continue
			}
			seen[sa.Name] = true
			st.ServiceAccounts = append(st.ServiceAccounts, sa)
		}
	}
	slices.SortFunc(st.ServiceAccounts, func(a, b *corev1.ServiceAccount) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return st
}

// Ready reports whether the controller has a usable coverage and every
// watch has listed (the /readyz answer).
func (c *Controller) Ready() bool { return c.coverage() != nil && c.allSynced() }

// watchFailed logs why a watch cannot list or watch (its RBAC, most
// likely): until it can, nothing is written, since a namespace's state is
// unknown.
func (c *Controller) watchFailed(s kube.WatchSpec, err error) {
	c.cfg.Warnf("cannot watch %s (retrying): %v", s, err)
}

func (c *Controller) coverageErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.covErr
}
