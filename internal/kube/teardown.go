package kube

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DeleteSpec is the pull secret to tear down.
type DeleteSpec struct {
	Name   string
	Force  bool
	DryRun bool
}

const deleteFix = "nothing was changed; choose the secret_name pullsecret wrote, or set force to delete it and its ServiceAccount references"

// CheckDeletable refuses to tear down a secret that is not ours (unless
// spec.Force): removing its references would stop that namespace's pods
// from pulling, so the caller checks this before changing anything.
func CheckDeletable(s *corev1.Secret, spec DeleteSpec) error {
	if err := checkOwnership(s, spec.Force, deleteFix); err != nil {
		return fmt.Errorf("refusing to delete secret %q: %w", spec.Name, err)
	}
	return nil
}

// DeleteSecret deletes s, exactly the object CheckDeletable passed (see
// deleteInspected). An absent secret is SecretAbsent, not an error.
func DeleteSecret(ctx context.Context, c *Client, s *corev1.Secret, spec DeleteSpec) (SecretResult, error) {
	res, err := deleteInspected(ctx, c, s, spec)
	if err != nil {
		return res, fmt.Errorf("failed to delete secret %q: %w", spec.Name, err)
	}
	return res, nil
}

// errChanged marks a secret that stopped being ours during teardown.
var errChanged = errors.New("the secret changed during teardown")

// deleteInspected deletes exactly the object whose ownership was checked
// (UID and resourceVersion preconditions). If it changed meanwhile, it is
// re-read and re-checked: a secret someone else took over is not deleted.
func deleteInspected(ctx context.Context, c *Client, s *corev1.Secret, spec DeleteSpec) (SecretResult, error) {
	secrets := c.Secrets(s.Namespace)
	result := SecretDeleted
	ctx, resent := trackResent(ctx)
	err := onConflict(ctx, c.budget.limit, func(ctx context.Context) error {
		uid, rv := s.UID, s.ResourceVersion
		err := secrets.Delete(ctx, s.Name, metav1.DeleteOptions{
			Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv},
			DryRun:        dryRunOpt(spec.DryRun),
		})
		if !apierrors.IsConflict(err) {
			return err
		}
		fresh, getErr := readSecret(ctx, c, s.Namespace, s.Name)
		if getErr == nil && fresh == nil {
			result = SecretAbsent
			return nil
		}
		if getErr != nil {
			return getErr
		}
		if err := checkOwnership(fresh, spec.Force, "it was left in place"); err != nil {
			return fmt.Errorf("%w: %w", errChanged, err)
		}
		s = fresh
		return err // Conflict: retry against the fresh object
	})
	if apierrors.IsNotFound(err) {
		// Gone: deleted by someone else, or by our own delete whose
		// answer was lost and which was sent again.
		if resent.yes {
			return SecretDeleted, nil
		}
		return SecretAbsent, nil
	}
	return result, err
}
