package runner

import (
	"context"

	"k8s.io/client-go/kubernetes"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/kube"
)

// deleteIn is preview teardown in one namespace (see kube.DeletePullSecret
// for the order that keeps pods pulling).
func deleteIn(ctx context.Context, cfg *config.Config, cs kubernetes.Interface, t kube.Target) NamespaceResult {
	res := NamespaceResult{Namespace: t.Name, matched: t.Matched}
	if t.Missing {
		res.Secret = kube.SecretAbsent
		return res
	}
	out, err := kube.DeletePullSecret(ctx, cs, t.Name, kube.DeleteSpec{Name: cfg.SecretName, Force: cfg.Force, DryRun: cfg.DryRun})
	res.Secret, res.Patched = out.Secret, out.Unreferenced
	if err != nil {
		return res.failIn(ctx, cs, err)
	}
	return res
}
