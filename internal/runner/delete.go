package runner

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/kube"
)

type corev1Ref = corev1.LocalObjectReference

// deleteIn is preview teardown: first drop our entry from every
// ServiceAccount that lists it (so none is left pointing at a deleted
// secret), keeping everyone else's entries, then delete the secret.
func deleteIn(ctx context.Context, cfg *config.Config, cs kubernetes.Interface, t kube.Target) NamespaceResult {
	res := NamespaceResult{Namespace: t.Name, matched: t.Matched}
	if t.Missing {
		res.Secret = kube.SecretAbsent
		return res
	}
	list, err := cs.CoreV1().ServiceAccounts(t.Name).List(ctx, metav1.ListOptions{})
	if err != nil {
		return res.fail(fmt.Errorf("failed to list ServiceAccounts: %w", err))
	}
	for i := range list.Items {
		sa := &list.Items[i]
		if _, listed := kube.RemovePullSecret(sa.ImagePullSecrets, cfg.SecretName); !listed {
			continue
		}
		changed, err := kube.UpdatePullSecrets(ctx, cs, sa, cfg.DryRun, func(refs []corev1Ref) ([]corev1Ref, bool) {
			return kube.RemovePullSecret(refs, cfg.SecretName)
		})
		if err != nil {
			return res.fail(fmt.Errorf("failed to remove %q from ServiceAccount %q: %w", cfg.SecretName, sa.Name, err))
		}
		if changed {
			res.Patched = append(res.Patched, sa.Name)
		}
	}
	if res.Secret, err = kube.DeleteSecret(ctx, cs, t.Name, cfg.SecretName, cfg.Force, cfg.DryRun); err != nil {
		return res.fail(fmt.Errorf("failed to delete secret %q: %w", cfg.SecretName, err))
	}
	return res
}
