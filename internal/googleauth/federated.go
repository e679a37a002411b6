package googleauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	githubactions "github.com/sethvargo/go-githubactions"
	"golang.org/x/oauth2/google/externalaccount"
)

const (
	cloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform"
	jwtTokenType       = "urn:ietf:params:oauth:token-type:jwt"
)

// mintFederated exchanges the GitHub OIDC token at STS and, with a service
// account, impersonates it through IAM Credentials generateAccessToken.
func mintFederated(ctx context.Context, in *Input, d Deps) (*Token, error) {
	ec := externalaccount.Config{
		Audience:             "//iam.googleapis.com/" + in.WorkloadIdentityProvider,
		SubjectTokenType:     jwtTokenType,
		TokenURL:             in.STSEndpoint,
		SubjectTokenSupplier: &githubSupplier{fetcher: d.IDToken, audience: in.audience(), mask: d.Mask},
		Scopes:               in.Scopes,
	}
	subject := "the GitHub OIDC token"
	ciToken := in.SubjectTokenFile != "" || in.SubjectTokenEnv != ""
	if ciToken {
		ci := &ciTokenSupplier{in: in, d: d}
		// Checked (and masked) before anything is sent, so that a bad
		// token is an error of its input, not one wrapped inside x/oauth2's.
		if _, err := ci.SubjectToken(ctx, externalaccount.SupplierOptions{}); err != nil {
			return nil, err
		}
		ec.SubjectTokenSupplier, subject = ci, "the CI's OIDC token"
	}
	tok := &Token{Method: "Workload Identity Federation", Scopes: in.Scopes}
	if in.ServiceAccount != "" {
		ec.ServiceAccountImpersonationURL = impersonationURL(in.IAMCredentialsEndpoint, in.ServiceAccount)
		ec.ServiceAccountImpersonationLifetimeSeconds = int(in.TokenLifetime.Seconds())
		tok.Method += " with service account impersonation"
		tok.Principal = in.ServiceAccount
	} else {
		// STS only issues cloud-platform federated tokens; there is no
		// narrower scope without a service account.
		ec.Scopes = []string{cloudPlatformScope}
		tok.Scopes = ec.Scopes
		tok.Principal = "principal of " + in.WorkloadIdentityProvider
		tok.Warnings = append(tok.Warnings, fmt.Sprintf(
			"no %q given: the pull secret holds a direct federated token, which expires with the GitHub OIDC token it was exchanged for — GitHub issues those for 5 minutes, so the secret stops working within 5 minutes of this step (%s is ignored). Pods scheduled after that cannot pull. Set %q to impersonate a service account (recommended).",
			in.name(FieldServiceAccount), in.name(FieldTokenLifetime), in.name(FieldServiceAccount)))
	}
	ts, err := externalaccount.NewTokenSource(ctx, ec)
	if err != nil {
		return nil, fmt.Errorf("failed to configure Workload Identity Federation: %w", err)
	}
	t, err := fetch(ts, d)
	if err != nil {
		hint := ""
		switch {
		case ciToken && (strings.Contains(err.Error(), "is stale to sign-in") || strings.Contains(err.Error(), "is in the future")):
			// Its exp was checked against this clock: STS's differs.
			hint = " (STS judges the CI's OIDC token by its own clock: check this machine's clock, and the CI's issuer's)"
		case strings.Contains(err.Error(), "is stale to sign-in") || strings.Contains(err.Error(), "expired"):
			// GitHub's tokens live 5 minutes; one that is already too old
			// when STS sees it points at a slow step or a skewed clock.
			hint = " (the GitHub OIDC token had expired: GitHub issues them for 5 minutes, so check the runner's clock and that nothing delays this step after the token is fetched)"
		case subjectTooLong(err):
			hint = " (" + subjectTooLongHint + ")"
		case permissionDenied(err):
			hint = fmt.Sprintf(" (the provider's principal may not impersonate %s: grant it roles/iam.workloadIdentityUser on the account, see docs/iam-setup.md; %s)", in.ServiceAccount, propagationHint)
		}
		if sd := asServiceDisabled(err); sd != nil {
			err = sd
		}
		return nil, fmt.Errorf("failed to exchange %s for a Google token (provider %q)%s: %w", subject, in.WorkloadIdentityProvider, hint, err)
	}
	tok.AccessToken, tok.Expiry = t.AccessToken, t.Expiry
	return tok, nil
}

func impersonationURL(base, email string) string {
	return base + "/v1/projects/-/serviceAccounts/" + email + ":generateAccessToken"
}

// githubSupplier fetches the GitHub OIDC token once per exchange.
type githubSupplier struct {
	fetcher  IDTokenFetcher
	audience string
	mask     func(string)
}

func (s *githubSupplier) SubjectToken(ctx context.Context, _ externalaccount.SupplierOptions) (string, error) {
	if s.fetcher == nil {
		return "", errors.New("no GitHub OIDC token source")
	}
	tok, err := s.fetcher.GetIDToken(ctx, s.audience)
	if err != nil {
		return "", explainIDTokenError(err)
	}
	s.mask(tok)
	return tok, nil
}

// explainIDTokenError turns go-githubactions errors into what to do: GitHub
// only sets the request variables when the job may mint OIDC tokens.
func explainIDTokenError(err error) error {
	var missing *githubactions.EnvMissingError
	if errors.As(err, &missing) {
		return fmt.Errorf("the GitHub OIDC token is not available (%s is not set): give the job `permissions: id-token: write` (see docs/TROUBLESHOOTING.md#missing-id-token-write)", missing.Name)
	}
	var failed *githubactions.RequestFailedError
	if errors.As(err, &failed) {
		if failed.StatusCode == http.StatusUnauthorized || failed.StatusCode == http.StatusForbidden {
			return fmt.Errorf("GitHub refused to issue an OIDC token (HTTP %d): check that the job has `permissions: id-token: write`", failed.StatusCode)
		}
		return fmt.Errorf("GitHub's OIDC token endpoint answered HTTP %d", failed.StatusCode)
	}
	return fmt.Errorf("failed to get the GitHub OIDC token: %w", err)
}
