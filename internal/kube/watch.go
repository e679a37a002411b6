package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// Watches are the watching refresher's informers: each lists and watches
// one resource, in one namespace or across the cluster, optionally one
// object name (a metadata.name field selector, which RBAC authorizes as
// that resource name: a refresher may watch its one secret name across
// the cluster and nothing else).
type Watches struct {
	core rest.Interface
}

// NewWatches builds the informers' client from rc. A watch is a
// long-lived response, so it has no client timeout (rc's per-call limit
// would cut every watch); the API server ends each watch after the
// timeoutSeconds the reflector asks for, and the reflector resumes it.
func NewWatches(rc *rest.Config) (*Watches, error) {
	c := rest.CopyConfig(rc)
	c.Timeout = 0
	core, err := restClientFor(c, corev1.SchemeGroupVersion, "/api")
	if err != nil {
		return nil, fmt.Errorf("failed to build the watch client: %w", err)
	}
	return &Watches{core: core}, nil
}

// WatchSpec says what one informer lists and watches.
type WatchSpec struct {
	// Resource is "namespaces", "secrets", "serviceaccounts" or
	// "configmaps" (WatchConfigMap).
	Resource string
	// Namespace is "" for every namespace (always for namespaces).
	Namespace string
	// Name, when set, narrows the watch to objects of that name.
	Name string
}

func (s WatchSpec) String() string {
	out := s.Resource
	if s.Namespace != "" {
		out += " in " + s.Namespace
	}
	if s.Name != "" {
		out += " named " + s.Name
	}
	return out
}

var examples = map[string]func() runtime.Object{
	"namespaces":      func() runtime.Object { return &corev1.Namespace{} },
	"secrets":         func() runtime.Object { return &corev1.Secret{} },
	"serviceaccounts": func() runtime.Object { return &corev1.ServiceAccount{} },
	"configmaps":      func() runtime.Object { return &corev1.ConfigMap{} },
}

// Informer is one running list/watch with its cache.
type Informer struct {
	Spec   WatchSpec
	inf    cache.SharedIndexInformer
	cancel context.CancelFunc
}

// Inform starts an informer for spec. changed is called with the object's
// namespace (its name, for a namespace) on every add, update and delete,
// and again every resync period (0: never): the caller reconciles that
// namespace. failed is told why a list or watch failed (forbidden, the
// server unreachable; the informer retries with backoff), not of the
// ordinary ends of a watch. It stops with ctx or Stop.
func (w *Watches) Inform(ctx context.Context, spec WatchSpec, resync time.Duration, changed func(namespace string), failed func(WatchSpec, error)) (*Informer, error) {
	return w.inform(ctx, spec, resync, func(obj any, _ bool) {
		m, err := meta.Accessor(obj)
		if err != nil {
			return
		}
		if spec.Resource == "namespaces" {
			changed(m.GetName())
		} else {
			changed(m.GetNamespace())
		}
	}, failed)
}

// WatchConfigMap watches the one ConfigMap namespace/name (by name: RBAC
// may grant list and watch on that name alone) and calls changed with it
// on every add and update, and with nil once it is deleted. Calls come
// one at a time, in the order the API server sent the changes; failed is
// as for Inform.
func (w *Watches) WatchConfigMap(ctx context.Context, namespace, name string, changed func(*corev1.ConfigMap), failed func(WatchSpec, error)) (*Informer, error) {
	return w.inform(ctx, WatchSpec{Resource: "configmaps", Namespace: namespace, Name: name}, 0, func(obj any, deleted bool) {
		cm, ok := obj.(*corev1.ConfigMap)
		switch {
		case deleted:
			changed(nil)
		case ok:
			changed(cm)
		}
	}, failed)
}

// inform starts an informer for spec that hands every change to handle
// (a deleted object's last known state, with deleted set).
func (w *Watches) inform(ctx context.Context, spec WatchSpec, resync time.Duration, handle func(obj any, deleted bool), failed func(WatchSpec, error)) (*Informer, error) {
	example, ok := examples[spec.Resource]
	if !ok {
		panic("kube: no informer for " + spec.Resource) // a programming error
	}
	lw := cache.NewFilteredListWatchFromClient(w.core, spec.Resource, spec.Namespace, func(o *metav1.ListOptions) {
		if spec.Name != "" {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", spec.Name).String()
		}
	})
	inf := cache.NewSharedIndexInformer(lw, example(), resync, cache.Indexers{})
	if err := inf.SetTransform(trimForCache); err != nil {
		return nil, fmt.Errorf("failed to watch %s: %w", spec, err)
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { handle(obj, false) },
		UpdateFunc: func(_, obj any) { handle(obj, false) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			handle(obj, true)
		},
	}); err != nil {
		return nil, fmt.Errorf("failed to watch %s: %w", spec, err)
	}
	if err := inf.SetWatchErrorHandlerWithContext(func(ctx context.Context, _ *cache.Reflector, err error) {
		if ctx.Err() != nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
			return
		}
		failed(spec, err)
	}); err != nil {
		return nil, fmt.Errorf("failed to watch %s: %w", spec, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	go inf.RunWithContext(ctx)
	return &Informer{Spec: spec, inf: inf, cancel: cancel}, nil
}

// Synced reports whether the informer's first list arrived.
func (i *Informer) Synced() bool { return i.inf.HasSynced() }

// Stop ends the informer's watch.
func (i *Informer) Stop() { i.cancel() }

// Get returns the cached object namespace/name (name alone for a
// namespace), or nil.
func (i *Informer) Get(namespace, name string) runtime.Object {
	key := name
	if namespace != "" {
		key = namespace + "/" + name
	}
	obj, ok, err := i.inf.GetStore().GetByKey(key)
	if err != nil || !ok {
		return nil
	}
	return obj.(runtime.Object)
}

// List returns every cached object.
func (i *Informer) List() []runtime.Object {
	var out []runtime.Object
	for _, o := range i.inf.GetStore().List() {
		out = append(out, o.(runtime.Object))
	}
	return out
}
