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

// DeleteResult says what teardown did in one namespace.
type DeleteResult struct {
	Secret SecretResult
	// Unreferenced are the ServiceAccounts our entry was removed from.
	Unreferenced []string
}

const deleteFix = "nothing was changed; choose the secret_name pullsecret wrote, or set force to delete it and its ServiceAccount references"

// DeletePullSecret tears down in one namespace, starting from st as read by
// ReadStates or ReadState (with every ServiceAccount: "*"). Ownership comes
// first: a secret that is not ours fails with nothing changed, because
// removing its references would stop that namespace's pods from pulling.
// Then our entry leaves every ServiceAccount (none is left pointing at a
// deleted secret), then the secret goes. An absent secret still has its
// dangling references removed. On error, the result holds what was already
// changed.
func DeletePullSecret(ctx context.Context, c *Client, ns string, spec DeleteSpec, st *State) (DeleteResult, error) {
	var res DeleteResult
	if st.Secret != nil {
		if err := checkOwnership(st.Secret, spec.Force, deleteFix); err != nil {
			return res, fmt.Errorf("refusing to delete secret %q: %w", spec.Name, err)
		}
	}
	var err error
	if res.Unreferenced, err = removeReferences(ctx, c, st.ServiceAccounts, spec.Name, spec.DryRun); err != nil {
		return res, err
	}
	if st.Secret == nil {
		res.Secret = SecretAbsent
		return res, nil
	}
	if res.Secret, err = deleteInspected(ctx, c, st.Secret, spec); err != nil {
		return res, fmt.Errorf("failed to delete secret %q: %w", spec.Name, err)
	}
	return res, nil
}

// removeReferences drops name from the ServiceAccounts, keeping everyone
// else's entries (conflicts are re-read and retried).
func removeReferences(ctx context.Context, c *Client, sas []*corev1.ServiceAccount, name string, dryRun bool) ([]string, error) {
	var changed []string
	for _, sa := range sas {
		if _, listed := RemovePullSecret(sa.ImagePullSecrets, name); !listed {
			continue
		}
		ok, err := UpdatePullSecrets(ctx, c, sa, dryRun, func(refs []corev1.LocalObjectReference) ([]corev1.LocalObjectReference, bool) {
			return RemovePullSecret(refs, name)
		})
		if apierrors.IsNotFound(err) && !Vanished(err) {
			continue // the ServiceAccount itself was deleted meanwhile
		}
		if err != nil {
			return changed, fmt.Errorf("failed to remove %q from ServiceAccount %q: %w", name, sa.Name, err)
		}
		if ok {
			changed = append(changed, sa.Name)
		}
	}
	return changed, nil
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
