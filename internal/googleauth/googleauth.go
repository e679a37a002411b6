// Package googleauth turns pullsecret's credential inputs into one fresh
// Google access token: Workload Identity Federation with the GitHub OIDC
// token (optionally impersonating a service account), a service-account key,
// an existing access token, or Application Default Credentials.
package googleauth

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/oauth2"

	"github.com/pullsecret/pullsecret/internal/config"
)

// IDTokenFetcher fetches the GitHub Actions OIDC token. go-githubactions'
// Action implements it.
type IDTokenFetcher interface {
	GetIDToken(ctx context.Context, audience string) (string, error)
}

// Deps are the process-level things the minters read. Tests pass fakes;
// production passes the real environment.
type Deps struct {
	Getenv     func(string) string
	ReadFile   func(string) ([]byte, error)
	IDToken    IDTokenFetcher
	HTTPClient *http.Client
	// Mask is called with every secret value as soon as it exists, before
	// anything can print it.
	Mask func(string)
	Now  func() time.Time
}

// Token is what a run writes into the pull secret.
type Token struct {
	AccessToken string
	// Expiry is zero when unknown.
	Expiry time.Time
	// Principal is who the token acts as, for the report (never secret).
	Principal string
	// Method describes the credential source, for the report.
	Method string
	// Warnings are printed by the caller as annotations.
	Warnings []string
}

// Mint obtains exactly one access token for cfg. Every run mints once,
// however many namespaces it writes.
func Mint(ctx context.Context, cfg *config.Config, d Deps) (*Token, error) {
	if d.HTTPClient == nil {
		d.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Mask == nil {
		d.Mask = func(string) {}
	}
	// x/oauth2 takes its HTTP client from the context.
	ctx = context.WithValue(ctx, oauth2.HTTPClient, d.HTTPClient)

	var (
		tok *Token
		err error
	)
	switch cfg.CredentialSource() {
	case config.InWorkloadIdentityProvider:
		tok, err = mintFederated(ctx, cfg, d)
	case config.InCredentialsJSON:
		tok, err = mintFromKey(ctx, cfg, d)
	case config.InAccessToken:
		tok, err = checkAccessToken(ctx, cfg, d)
	default:
		tok, err = mintFromADC(ctx, cfg, d)
	}
	if err != nil {
		return nil, err
	}
	if tok.AccessToken == "" {
		return nil, fmt.Errorf("%s returned an empty access token", tok.Method)
	}
	d.Mask(tok.AccessToken)
	return tok, nil
}

// fetch pulls one token out of a token source, masking it at once.
func fetch(ts oauth2.TokenSource, d Deps) (*oauth2.Token, error) {
	t, err := ts.Token()
	if err != nil {
		return nil, err
	}
	d.Mask(t.AccessToken)
	return t, nil
}
