package kube

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
)

// Client is pullsecret's API client. It knows core/v1 only: the typed
// clientset (k8s.io/client-go/kubernetes) links every API group's types
// and doubles the binary for objects pullsecret never touches.
//
// To reach another group (batch/v1, rbac.authorization.k8s.io/v1), register
// its AddToScheme in newScheme, build a rest.Interface for its
// GroupVersion with restClientFor, and expose a Resource per kind as
// Secrets does below.
type Client struct {
	core rest.Interface
	json rest.Interface
	// budget holds the per-call limit (rc.Timeout): how long one call, its
	// retries after connection errors included, may take.
	budget *budget
}

var (
	scheme         = newScheme()
	codecs         = serializer.NewCodecFactory(scheme)
	parameterCodec = runtime.NewParameterCodec(scheme)
)

func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	// Registers core/v1 with the meta/v1 option types (ListOptions, ...).
	if err := corev1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}

// NewClient builds a core/v1 client from rc (which it does not modify).
func NewClient(rc *rest.Config) (*Client, error) {
	core, err := restClientFor(rc, corev1.SchemeGroupVersion, "/api")
	if err != nil {
		return nil, err
	}
	c := rest.CopyConfig(rc)
	c.GroupVersion, c.APIPath = &corev1.SchemeGroupVersion, "/api"
	c.ContentType, c.AcceptContentTypes = runtime.ContentTypeJSON, runtime.ContentTypeJSON
	c.NegotiatedSerializer = codecs.WithoutConversion()
	json, err := rest.RESTClientFor(c)
	if err != nil {
		return nil, err
	}
	limit := rc.Timeout
	if limit <= 0 {
		limit = DefaultRequestTimeout
	}
	return &Client{core: core, json: json, budget: newBudget(limit)}, nil
}

// JSON is a client that speaks JSON only, for requests by absolute path to
// objects outside core/v1 (the refresher's CronJob, RBAC and Events): their
// types are not in this client's scheme, so they travel as JSON the caller
// encodes and decodes.
func (c *Client) JSON() rest.Interface { return c.json }

func restClientFor(rc *rest.Config, gv schema.GroupVersion, apiPath string) (*rest.RESTClient, error) {
	c := rest.CopyConfig(rc)
	c.GroupVersion, c.APIPath = &gv, apiPath
	// Protobuf is what kube-apiserver reads and writes fastest; JSON stays
	// acceptable for servers (or proxies) that do not speak it. Apply
	// patches are always sent as JSON.
	c.ContentType = runtime.ContentTypeProtobuf
	c.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	c.NegotiatedSerializer = codecs.WithoutConversion()
	return rest.RESTClientFor(c)
}

// Namespaces is the cluster-scoped namespaces resource.
func (c *Client) Namespaces() Resource[corev1.Namespace, corev1.NamespaceList] {
	return Resource[corev1.Namespace, corev1.NamespaceList]{client: c.core, resource: "namespaces", budget: c.budget}
}

// Secrets are the secrets of ns; "" means every namespace (List only).
func (c *Client) Secrets(ns string) Resource[corev1.Secret, corev1.SecretList] {
	return Resource[corev1.Secret, corev1.SecretList]{client: c.core, resource: "secrets", namespace: ns, budget: c.budget}
}

// ServiceAccounts are the ServiceAccounts of ns; "" means every namespace
// (List only).
func (c *Client) ServiceAccounts(ns string) Resource[corev1.ServiceAccount, corev1.ServiceAccountList] {
	return Resource[corev1.ServiceAccount, corev1.ServiceAccountList]{client: c.core, resource: "serviceaccounts", namespace: ns, budget: c.budget}
}

// Resource is a typed view of one resource over a rest.Interface, with the
// calls pullsecret makes. T and L are an object type and its list type
// (e.g. corev1.Secret, corev1.SecretList); both must be registered in the
// client's scheme.
//
// Each call is retried after a connection error within the per-call limit
// when it is safe to repeat (see retry.go): reads always; Update because
// the object carries its resourceVersion; Delete when it has
// preconditions; Patch because every patch pullsecret sends is an apply of
// a fixed configuration or carries the resourceVersion it was computed
// from; Create (a POST) only when it never left.
type Resource[T, L any] struct {
	client    rest.Interface
	resource  string
	namespace string
	budget    *budget
}

// request addresses the resource. client-go's own retries are off: retryCall
// does them, within the client's budget (see retry.go).
func (r Resource[T, L]) request(req *rest.Request) *rest.Request {
	return req.NamespaceIfScoped(r.namespace, r.namespace != "").Resource(r.resource).MaxRetries(0)
}

// into decodes a response into a new T or L.
func into[O any](res rest.Result) (*O, error) {
	out := new(O)
	obj, ok := any(out).(runtime.Object)
	if !ok {
		return nil, fmt.Errorf("%T is not a Kubernetes object", out)
	}
	if err := res.Into(obj); err != nil {
		return nil, err
	}
	return out, nil
}

// Get reads one object.
func (r Resource[T, L]) Get(ctx context.Context, name string) (*T, error) {
	return retryCall(ctx, r.budget, read, func(ctx context.Context) (*T, error) {
		return into[T](r.request(r.client.Get()).Name(name).Do(ctx))
	})
}

// List lists objects (across namespaces when the Resource has none).
func (r Resource[T, L]) List(ctx context.Context, opts metav1.ListOptions) (*L, error) {
	return retryCall(ctx, r.budget, read, func(ctx context.Context) (*L, error) {
		return into[L](r.request(r.client.Get()).VersionedParams(&opts, parameterCodec).Do(ctx))
	})
}

// Create creates obj.
func (r Resource[T, L]) Create(ctx context.Context, obj *T, opts metav1.CreateOptions) (*T, error) {
	return retryCall(ctx, r.budget, sentOnce, func(ctx context.Context) (*T, error) {
		return into[T](r.request(r.client.Post()).VersionedParams(&opts, parameterCodec).Body(any(obj).(runtime.Object)).Do(ctx))
	})
}

// Update replaces obj (conditional on its resourceVersion).
func (r Resource[T, L]) Update(ctx context.Context, name string, obj *T, opts metav1.UpdateOptions) (*T, error) {
	kind := sentOnce
	if m, ok := any(obj).(metav1.Object); ok && m.GetResourceVersion() != "" {
		kind = conditionalWrite
	}
	return retryCall(ctx, r.budget, kind, func(ctx context.Context) (*T, error) {
		return into[T](r.request(r.client.Put()).Name(name).VersionedParams(&opts, parameterCodec).Body(any(obj).(runtime.Object)).Do(ctx))
	})
}

// Patch sends a patch of type pt; for server-side apply use Apply. The
// patch must be conditional (see Resource).
func (r Resource[T, L]) Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions) (*T, error) {
	return retryCall(ctx, r.budget, conditionalWrite, func(ctx context.Context) (*T, error) {
		return into[T](r.request(r.client.Patch(pt)).Name(name).VersionedParams(&opts, parameterCodec).Body(data).Do(ctx))
	})
}

// Apply sends a server-side apply configuration (JSON).
func (r Resource[T, L]) Apply(ctx context.Context, name string, config []byte, opts metav1.ApplyOptions) (*T, error) {
	po := opts.ToPatchOptions()
	return r.Patch(ctx, name, types.ApplyPatchType, config, po)
}

// Delete deletes one object.
func (r Resource[T, L]) Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error {
	kind := sentOnce
	if p := opts.Preconditions; p != nil && (p.UID != nil || p.ResourceVersion != nil) {
		kind = conditionalWrite
	}
	_, err := retryCall(ctx, r.budget, kind, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, r.request(r.client.Delete()).Name(name).Body(&opts).Do(ctx).Error()
	})
	return err
}
