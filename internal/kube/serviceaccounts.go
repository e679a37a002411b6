package kube

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// AddPullSecret returns refs with name appended unless present. The list is
// treated as a set keyed by name, other entries and their order untouched.
func AddPullSecret(refs []corev1.LocalObjectReference, name string) ([]corev1.LocalObjectReference, bool) {
	if slices.ContainsFunc(refs, func(r corev1.LocalObjectReference) bool { return r.Name == name }) {
		return refs, false
	}
	out := slices.Clone(refs)
	return append(out, corev1.LocalObjectReference{Name: name}), true
}

// RemovePullSecret returns refs without any entry for name.
func RemovePullSecret(refs []corev1.LocalObjectReference, name string) ([]corev1.LocalObjectReference, bool) {
	out := slices.DeleteFunc(slices.Clone(refs), func(r corev1.LocalObjectReference) bool { return r.Name == name })
	return out, len(out) != len(refs)
}

// UpdatePullSecrets applies edit to one ServiceAccount's imagePullSecrets,
// starting from sa as already read (no extra GET) and re-reading only after
// a conflict.
//
// imagePullSecrets is listType=atomic with no merge key: a strategic-merge
// or server-side-apply patch would REPLACE the whole list and drop other
// teams' entries. So it is a read-modify-write Update, whose resourceVersion
// makes a concurrent writer's change a Conflict, retried on fresh data.
// It returns whether the ServiceAccount changed.
func UpdatePullSecrets(ctx context.Context, c *Client, sa *corev1.ServiceAccount, dryRun bool,
	edit func([]corev1.LocalObjectReference) ([]corev1.LocalObjectReference, bool)) (bool, error) {
	client := c.ServiceAccounts(sa.Namespace)
	current := sa.DeepCopy()
	changed := false
	ctx, resent := trackResent(ctx)
	err := onConflict(ctx, c.budget.limit, func(ctx context.Context) error {
		if current == nil {
			fresh, err := client.Get(ctx, sa.Name)
			if err != nil {
				return err
			}
			current = fresh
		}
		refs, ok := edit(current.ImagePullSecrets)
		if !ok {
			// Already as wanted: if an update whose answer was lost was
			// sent again, that update made it so.
			changed = resent.yes
			return nil
		}
		current.ImagePullSecrets = refs
		_, err := client.Update(ctx, current.Name, current, metav1.UpdateOptions{FieldManager: FieldManager, DryRun: dryRunOpt(dryRun)})
		changed = err == nil
		current = nil // on conflict, re-read
		return err
	})
	return changed, err
}

// ErrServiceAccountNotFound marks a named ServiceAccount that is missing.
var ErrServiceAccountNotFound = errors.New("ServiceAccount does not exist")

// WaitForServiceAccount waits, bounded, until sa exists: in a namespace just
// created, the ServiceAccount controller adds `default` asynchronously.
func WaitForServiceAccount(ctx context.Context, c *Client, ns, sa string, timeout time.Duration) error {
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		_, err := c.ServiceAccounts(ns).Get(ctx, sa)
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	})
	if err != nil {
		return fmt.Errorf("ServiceAccount %q did not appear within %s (is kube-controller-manager running?): %w", sa, timeout, err)
	}
	return nil
}
