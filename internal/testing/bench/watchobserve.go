package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// arrivals records when the bench's own watches first saw, per
// namespace, the secret, the default ServiceAccount, and that
// ServiceAccount referencing the secret. Times are taken in the event
// handlers, so polling them later does not blur them.
type arrivals struct {
	mu                  sync.Mutex
	secret, sa, ref     map[string]time.Time
	secretName, saName  string
	secretEvents, saEvt int // every add/update seen (writes show up here)
}

func newArrivals(secretName string) *arrivals {
	return &arrivals{secret: map[string]time.Time{}, sa: map[string]time.Time{}, ref: map[string]time.Time{}, secretName: secretName, saName: "default"}
}

func (a *arrivals) sawSecret(obj any) {
	s, ok := obj.(*corev1.Secret)
	if !ok {
		return
	}
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.secretEvents++
	if _, seen := a.secret[s.Namespace]; !seen {
		a.secret[s.Namespace] = now
	}
}

func (a *arrivals) sawServiceAccount(obj any) {
	sa, ok := obj.(*corev1.ServiceAccount)
	if !ok {
		return
	}
	now := time.Now()
	refs := slices.ContainsFunc(sa.ImagePullSecrets, func(r corev1.LocalObjectReference) bool { return r.Name == a.secretName })
	a.mu.Lock()
	defer a.mu.Unlock()
	a.saEvt++
	if _, seen := a.sa[sa.Namespace]; !seen {
		a.sa[sa.Namespace] = now
	}
	if _, seen := a.ref[sa.Namespace]; refs && !seen {
		a.ref[sa.Namespace] = now
	}
}

// covered returns when ns had both its secret and the reference (zero if
// not yet).
func (a *arrivals) covered(ns string) (secret, ref time.Time, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	secret, ok1 := a.secret[ns]
	ref, ok2 := a.ref[ns]
	return secret, ref, ok1 && ok2
}

func (a *arrivals) hasServiceAccount(ns string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.sa[ns]
	return ok
}

// leaseWatch records every holder the refresher's Lease had, in order.
type leaseWatch struct {
	mu      sync.Mutex
	holders []holderAt
}

type holderAt struct {
	holder string
	at     time.Time
}

func (l *leaseWatch) saw(obj any) {
	lease, ok := obj.(*coordinationv1.Lease)
	if !ok {
		return
	}
	holder := ""
	if lease.Spec.HolderIdentity != nil {
		holder = *lease.Spec.HolderIdentity
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.holders); n == 0 || l.holders[n-1].holder != holder {
		l.holders = append(l.holders, holderAt{holder, now})
	}
}

// waitHolder waits until the Lease is held by c (as seen after since)
// and returns when that was first seen.
func (l *leaseWatch) waitHolder(ctx context.Context, c *controller, since time.Time) (time.Time, error) {
	id := c.id
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	for {
		l.mu.Lock()
		for _, h := range l.holders {
			if h.holder == id && !h.at.Before(since) {
				l.mu.Unlock()
				return h.at, nil
			}
		}
		last := holderAt{}
		if n := len(l.holders); n > 0 {
			last = l.holders[n-1]
		}
		l.mu.Unlock()
		if err := c.running(); err != nil {
			return time.Time{}, err
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("the Lease was not taken by %s (last holder %q since %s)", id, last.holder, last.at.Format(time.RFC3339))
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// released returns when the Lease was first seen without a holder after
// since (zero if never: the next holder took it directly).
func (l *leaseWatch) released(since time.Time) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, h := range l.holders {
		if h.holder == "" && !h.at.Before(since) {
			return h.at
		}
	}
	return time.Time{}
}

// observe starts the bench's watches: the secret by name and the default
// ServiceAccounts in every namespace, and the refresher's Lease.
func observe(ctx context.Context, cs kubernetes.Interface, secretName, leaseNS, leaseName string) (*arrivals, *leaseWatch, error) {
	a, l := newArrivals(secretName), &leaseWatch{}
	byName := func(name string) func(*metav1.ListOptions) {
		return func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
		}
	}
	core := cs.CoreV1().RESTClient()
	informers := []struct {
		lw      cache.ListerWatcher
		obj     runtime.Object
		handler func(any)
	}{
		{cache.NewFilteredListWatchFromClient(core, "secrets", metav1.NamespaceAll, byName(secretName)), &corev1.Secret{}, a.sawSecret},
		{cache.NewFilteredListWatchFromClient(core, "serviceaccounts", metav1.NamespaceAll, byName("default")), &corev1.ServiceAccount{}, a.sawServiceAccount},
		{leaseListWatch(cs, leaseNS, leaseName), &coordinationv1.Lease{}, l.saw},
	}
	var synced []cache.InformerSynced
	for _, i := range informers {
		inf := cache.NewSharedIndexInformer(i.lw, i.obj, 0, cache.Indexers{})
		h := i.handler
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: h, UpdateFunc: func(_, obj any) { h(obj) },
		}); err != nil {
			return nil, nil, err
		}
		go inf.Run(ctx.Done())
		synced = append(synced, inf.HasSynced)
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return nil, nil, fmt.Errorf("the bench's watches did not sync")
	}
	return a, l, nil
}

func leaseListWatch(cs kubernetes.Interface, ns, name string) cache.ListerWatcher {
	sel := fields.OneTermEqualSelector("metadata.name", name).String()
	leases := cs.CoordinationV1().Leases(ns)
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = sel
			return leases.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = sel
			return leases.Watch(ctx, o)
		},
	}
}
