package googleauth

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// gkeWorkloadPool reports whether the metadata server's email is a GKE
// workload pool ("PROJECT_ID.svc.id.goog") rather than a service account:
// under Workload Identity Federation for GKE with no Google service account
// bound to the pod's Kubernetes ServiceAccount, the metadata server names
// the pool and hands out a federated token of the pod's own principal
// (https://cloud.google.com/kubernetes-engine/docs/concepts/workload-identity#metadata_server).
func gkeWorkloadPool(email string) (string, bool) {
	return email, strings.HasSuffix(email, ".svc.id.goog") && !strings.Contains(email, "@")
}

// gkeFederatedToken uses the metadata server's federated token as it is:
// there is no service account to call generateAccessToken for (IAM
// Credentials knows no account by the pool's name), so neither
// token_lifetime nor scopes can be applied.
func gkeFederatedToken(ctx context.Context, in *Input, d Deps, pool, token string, expiresIn int64) *Token {
	tok := &Token{
		AccessToken: token,
		Principal:   "the pod's Kubernetes ServiceAccount in workload pool " + pool,
		Method:      "Application Default Credentials (GKE metadata server, Workload Identity Federation without a service account)",
		Scopes:      []string{cloudPlatformScope},
	}
	if expiresIn > 0 {
		tok.Expiry = d.Now().Add(time.Duration(expiresIn) * time.Second).Truncate(time.Second)
	}
	if info, err := tokenInfo(ctx, d.HTTPClient, tokenInfoURL(in.OAuthTokenEndpoint), token); err == nil && info.Scope != "" {
		tok.Scopes = strings.Fields(info.Scope)
	}
	tok.Warnings = append(tok.Warnings, fmt.Sprintf(
		"the GKE metadata server gave a federated token of workload pool %s (no Google service account is bound to this Kubernetes ServiceAccount): it is used as it is, so %s (%s) does not apply — only a service account's token can be minted for a chosen lifetime — and the token expires when the metadata server says (%s). Bind a Google service account (annotation iam.gke.io/gcp-service-account) to choose the lifetime.",
		pool, in.name(FieldTokenLifetime), in.TokenLifetime, expiryText(tok.Expiry, d.Now())))
	return tok
}

func expiryText(exp, now time.Time) string {
	if exp.IsZero() {
		return "unknown"
	}
	return "in " + exp.Sub(now).Round(time.Second).String()
}
