package runner

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/kube"
)

// Teardown is sequenced here, as apply is in apply.go: package kube sends
// each request (CheckDeletable, UpdatePullSecrets, DeleteSecret), runner
// decides their order. Both orders exist for the same reason, that a
// ServiceAccount never points at a secret that is not there: apply writes
// the secret before referencing it, delete unreferences it before deleting
// it.

// deleteStateRequest: teardown removes our entry from every ServiceAccount.
func deleteStateRequest(cfg *config.Config) kube.StateRequest {
	return kube.StateRequest{SecretName: cfg.SecretName, ServiceAccounts: []string{"*"}}
}

// deleteIn is teardown in one namespace, starting from st as read across
// the cluster (nil means read it here). Ownership comes first: a secret
// that is not ours fails with nothing changed, because removing its
// references would stop that namespace's pods from pulling. Then our entry
// leaves every ServiceAccount (none is left pointing at a deleted secret),
// then the secret goes. An absent secret still has its dangling references
// removed. On error, the result holds what was already changed.
func deleteIn(ctx context.Context, cfg *config.Config, c *kube.Client, t kube.Target, st *kube.State) NamespaceResult {
	res := NamespaceResult{Namespace: t.Name, matched: t.Matched}
	if t.Missing {
		res.Secret = kube.SecretAbsent
		return res
	}
	if st == nil {
		var err error
		if st, err = kube.ReadState(ctx, c, t.Name, deleteStateRequest(cfg)); err != nil {
			return res.failIn(ctx, c, err)
		}
	}
	spec := kube.DeleteSpec{Name: cfg.SecretName, Force: cfg.Force, DryRun: cfg.DryRun}
	if st.Secret != nil {
		if err := kube.CheckDeletable(st.Secret, spec); err != nil {
			return res.failIn(ctx, c, err)
		}
	}
	var err error
	if res.Patched, err = removeReferences(ctx, c, st.ServiceAccounts, spec); err != nil {
		return res.failIn(ctx, c, err)
	}
	if st.Secret == nil {
		res.Secret = kube.SecretAbsent
		return res
	}
	if res.Secret, err = kube.DeleteSecret(ctx, c, st.Secret, spec); err != nil {
		return res.failIn(ctx, c, err)
	}
	return res
}

// removeReferences drops the secret from the ServiceAccounts, keeping
// everyone else's entries (conflicts are re-read and retried), and returns
// those it changed.
func removeReferences(ctx context.Context, c *kube.Client, sas []*corev1.ServiceAccount, spec kube.DeleteSpec) ([]string, error) {
	var changed []string
	for _, sa := range sas {
		if _, listed := kube.RemovePullSecret(sa.ImagePullSecrets, spec.Name); !listed {
			continue
		}
		ok, err := kube.UpdatePullSecrets(ctx, c, sa, spec.DryRun, func(refs []corev1Ref) ([]corev1Ref, bool) {
			return kube.RemovePullSecret(refs, spec.Name)
		})
		if apierrors.IsNotFound(err) && !kube.Vanished(err) {
			continue // the ServiceAccount itself was deleted meanwhile
		}
		if err != nil {
			return changed, fmt.Errorf("failed to remove %q from ServiceAccount %q: %w", spec.Name, sa.Name, err)
		}
		if ok {
			changed = append(changed, sa.Name)
		}
	}
	return changed, nil
}
