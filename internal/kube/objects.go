package kube

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Objects of any API group (the refresher's CronJob, RBAC, ConfigMap and
// Events) travel through the JSON client by absolute path, with bodies the
// caller renders: no typed clientset, so these calls port to a core-only
// client unchanged. The caller decides the order; these are the
// primitives.

// Object is one rendered Kubernetes object with where it lives.
type Object struct {
	APIVersion, Kind, Resource string
	Namespace, Name            string
	Body                       any
}

// Path is the object's REST path (for apply and delete).
func (o Object) Path() string {
	base := "/apis/" + o.APIVersion
	if o.APIVersion == "v1" {
		base = "/api/v1"
	}
	if o.Namespace != "" {
		base += "/namespaces/" + o.Namespace
	}
	return base + "/" + o.Resource + "/" + o.Name
}

// String names the object for logs: "CronJob pullsecret-system/pullsecret-refresher".
func (o Object) String() string {
	if o.Namespace == "" {
		return o.Kind + " " + o.Name
	}
	return o.Kind + " " + o.Namespace + "/" + o.Name
}

// ApplyObject server-side applies o as manager, taking over fields another
// manager holds (force): these objects are pullsecret's alone.
func (c *Client) ApplyObject(ctx context.Context, o Object, manager string, dryRun bool) error {
	body, err := json.Marshal(o.Body)
	if err != nil {
		return fmt.Errorf("failed to encode %s: %w", o, err)
	}
	req := c.json.Patch(types.ApplyPatchType).AbsPath(o.Path()).Param("fieldManager", manager).Param("force", "true").Body(body)
	if dryRun {
		req = req.Param("dryRun", metav1.DryRunAll)
	}
	if err := req.Do(ctx).Error(); err != nil {
		return fmt.Errorf("failed to apply %s: %w", o, err)
	}
	return nil
}

// DeleteObject deletes o, its dependents (a CronJob's Jobs and pods) in
// the background. An absent object is not an error: deleted says whether
// there was one.
func (c *Client) DeleteObject(ctx context.Context, o Object, dryRun bool) (deleted bool, err error) {
	req := c.json.Delete().AbsPath(o.Path()).Param("propagationPolicy", string(metav1.DeletePropagationBackground))
	if dryRun {
		req = req.Param("dryRun", metav1.DryRunAll)
	}
	switch err := req.Do(ctx).Error(); {
	case apierrors.IsNotFound(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("failed to delete %s: %w", o, err)
	}
	return true, nil
}

// ConfigMap reads namespace/name as JSON, or nil when it does not exist.
// The error is the API server's, for the caller to say what it wanted.
func (c *Client) ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error) {
	var cm corev1.ConfigMap
	err := c.getJSON(ctx, Object{APIVersion: "v1", Resource: "configmaps", Namespace: namespace, Name: name}.Path(), &cm)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &cm, nil
}

// CreateLabelledNamespace creates namespace name with labels, unless it
// exists (created is false then). The error is the API server's.
func (c *Client) CreateLabelledNamespace(ctx context.Context, name string, labels map[string]string, dryRun bool) (created bool, err error) {
	ns := &corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	body, err := json.Marshal(ns)
	if err != nil {
		return false, err
	}
	req := c.json.Post().AbsPath("/api/v1/namespaces").SetHeader("Content-Type", "application/json").Body(body)
	if dryRun {
		req = req.Param("dryRun", metav1.DryRunAll)
	}
	switch err := req.Do(ctx).Error(); {
	case apierrors.IsAlreadyExists(err):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// DeleteNamespaceIfLabelled deletes namespace name only when its label key
// is value (a namespace pullsecret created), and says whether it did. A
// namespace it cannot read is left alone.
func (c *Client) DeleteNamespaceIfLabelled(ctx context.Context, name, key, value string, dryRun bool) (deleted bool, err error) {
	var ns corev1.Namespace
	if err := c.getJSON(ctx, "/api/v1/namespaces/"+name, &ns); err != nil || ns.Labels[key] != value {
		return false, nil
	}
	req := c.json.Delete().AbsPath("/api/v1/namespaces/" + name)
	if dryRun {
		req = req.Param("dryRun", metav1.DryRunAll)
	}
	if err := req.Do(ctx).Error(); err != nil && !apierrors.IsNotFound(err) {
		return false, fmt.Errorf("failed to delete namespace %q: %w", name, err)
	}
	return true, nil
}

// CreateEvent records ev (rendered by the caller, holding no secret).
func (c *Client) CreateEvent(ctx context.Context, ev *corev1.Event) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	return c.json.Post().AbsPath("/api/v1/namespaces/"+ev.Namespace+"/events").SetHeader("Content-Type", "application/json").Body(body).Do(ctx).Error()
}

func (c *Client) getJSON(ctx context.Context, path string, into any) error {
	raw, err := c.json.Get().AbsPath(path).Do(ctx).Raw()
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, into)
}
