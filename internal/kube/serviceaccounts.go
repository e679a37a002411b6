package kube

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
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
func UpdatePullSecrets(ctx context.Context, cs kubernetes.Interface, sa *corev1.ServiceAccount, dryRun bool,
	edit func([]corev1.LocalObjectReference) ([]corev1.LocalObjectReference, bool)) (bool, error) {
	client := cs.CoreV1().ServiceAccounts(sa.Namespace)
	current := sa.DeepCopy()
	changed := false
	err := retry.RetryOnConflict(conflictBackoff, func() error {
		if current == nil {
			fresh, err := client.Get(ctx, sa.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			current = fresh
		}
		refs, ok := edit(current.ImagePullSecrets)
		if !ok {
			changed = false
			return nil
		}
		current.ImagePullSecrets = refs
		_, err := client.Update(ctx, current, metav1.UpdateOptions{FieldManager: FieldManager, DryRun: dryRunOpt(dryRun)})
		changed = err == nil
		current = nil // on conflict, re-read
		return err
	})
	return changed, err
}

// GetServiceAccounts reads the requested ServiceAccounts: "*" means every
// ServiceAccount in the namespace now. A named one that does not exist is
// reported by name.
func GetServiceAccounts(ctx context.Context, cs kubernetes.Interface, ns string, requested []string) ([]*corev1.ServiceAccount, error) {
	client := cs.CoreV1().ServiceAccounts(ns)
	if slices.Contains(requested, "*") {
		list, err := client.List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("failed to list ServiceAccounts: %w", err)
		}
		out := make([]*corev1.ServiceAccount, len(list.Items))
		for i := range list.Items {
			out[i] = &list.Items[i]
		}
		slices.SortFunc(out, func(a, b *corev1.ServiceAccount) int { return strings.Compare(a.Name, b.Name) })
		return out, nil
	}
	out := make([]*corev1.ServiceAccount, 0, len(requested))
	for _, name := range requested {
		sa, err := client.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("%w: %q", ErrServiceAccountNotFound, name)
		}
		if err != nil {
			return nil, fmt.Errorf("failed to read ServiceAccount %q: %w", name, err)
		}
		out = append(out, sa)
	}
	return out, nil
}

// ErrServiceAccountNotFound marks a named ServiceAccount that is missing.
var ErrServiceAccountNotFound = errors.New("ServiceAccount does not exist")

// WaitForServiceAccount waits, bounded, until sa exists: in a namespace just
// created, the ServiceAccount controller adds `default` asynchronously.
func WaitForServiceAccount(ctx context.Context, cs kubernetes.Interface, ns, sa string, timeout time.Duration) error {
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, sa, metav1.GetOptions{})
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
