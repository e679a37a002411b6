package kube

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// podPage bounds one list response: a namespace with thousands of pods is
// read in pages rather than as one large answer.
const podPage = 500

// Pods are the pods of ns.
func (c *Client) Pods(ns string) Resource[corev1.Pod, corev1.PodList] {
	return Resource[corev1.Pod, corev1.PodList]{client: c.core, resource: "pods", namespace: ns, budget: c.budget}
}

// ListPods reads every pod of namespace ns, page by page. The error is the
// API server's.
func (c *Client) ListPods(ctx context.Context, ns string) ([]corev1.Pod, error) {
	var pods []corev1.Pod
	opts := metav1.ListOptions{Limit: podPage}
	for {
		page, err := c.Pods(ns).List(ctx, opts)
		if err != nil {
			return nil, err
		}
		pods = append(pods, page.Items...)
		if page.Continue == "" {
			return pods, nil
		}
		opts.Continue = page.Continue
	}
}

// DeletePodAt deletes pod ns/name only while it is still the object read
// (uid) in the state read (resourceVersion): a pod that changed since —
// recreated under the same name, its pull retried and succeeded — is a
// Conflict (apierrors.IsConflict) and is left alone. The error is the API
// server's.
func (c *Client) DeletePodAt(ctx context.Context, ns, name string, uid types.UID, resourceVersion string) error {
	return c.Pods(ns).Delete(ctx, name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &resourceVersion},
	})
}
