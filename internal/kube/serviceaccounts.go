package kube

import (
	"context"
	"fmt"
	"slices"
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

// UpdatePullSecrets applies edit to one ServiceAccount's imagePullSecrets.
//
// imagePullSecrets is listType=atomic with no merge key: a strategic-merge
// or server-side-apply patch would REPLACE the whole list and drop other
// teams' entries. So it is a read-modify-write Update, whose resourceVersion
// makes a concurrent writer's change a Conflict, retried on fresh data.
// It returns whether the ServiceAccount changed.
func UpdatePullSecrets(ctx context.Context, cs kubernetes.Interface, ns, sa string, dryRun bool,
	edit func([]corev1.LocalObjectReference) ([]corev1.LocalObjectReference, bool)) (bool, error) {
	changed := false
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		obj, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, sa, metav1.GetOptions{})
		if err != nil {
			return err
		}
		refs, ok := edit(obj.ImagePullSecrets)
		if !ok {
			changed = false
			return nil
		}
		obj.ImagePullSecrets = refs
		_, err = cs.CoreV1().ServiceAccounts(ns).Update(ctx, obj, metav1.UpdateOptions{FieldManager: FieldManager, DryRun: dryRunOpt(dryRun)})
		changed = err == nil
		return err
	})
	return changed, err
}

// ServiceAccountNames resolves the requested names: "*" means every
// ServiceAccount in the namespace now.
func ServiceAccountNames(ctx context.Context, cs kubernetes.Interface, ns string, requested []string) ([]string, error) {
	if !slices.Contains(requested, "*") {
		return requested, nil
	}
	list, err := cs.CoreV1().ServiceAccounts(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("failed to list ServiceAccounts: %w", err)
	}
	names := make([]string, 0, len(list.Items))
	for _, sa := range list.Items {
		names = append(names, sa.Name)
	}
	slices.Sort(names)
	return names, nil
}

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
