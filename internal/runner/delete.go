package runner

import (
	"context"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/kube"
)

// deleteStateRequest: teardown removes our entry from every ServiceAccount.
func deleteStateRequest(cfg *config.Config) kube.StateRequest {
	return kube.StateRequest{SecretName: cfg.SecretName, ServiceAccounts: []string{"*"}}
}

// deleteIn is preview teardown in one namespace (see kube.DeletePullSecret
// for the order that keeps pods pulling). st is the namespace as read
// across the cluster; nil means read it here.
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
	out, err := kube.DeletePullSecret(ctx, c, t.Name, kube.DeleteSpec{Name: cfg.SecretName, Force: cfg.Force, DryRun: cfg.DryRun}, st)
	res.Secret, res.Patched = out.Secret, out.Unreferenced
	if err != nil {
		return res.failIn(ctx, c, err)
	}
	return res
}
