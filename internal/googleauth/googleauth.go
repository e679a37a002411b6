// Package googleauth turns pullsecret's credential inputs into one fresh
// Google access token: Workload Identity Federation with the GitHub OIDC
// token (optionally impersonating a service account), a service-account key,
// an existing access token, or Application Default Credentials.
package googleauth

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"
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
	// Scopes are the OAuth scopes the token really carries, when known:
	// asked of an API that grants exactly what is asked, or read back from
	// tokeninfo. Empty means unknown.
	Scopes []string
	// Warnings are printed by the caller as annotations.
	Warnings []string
}

// defaultTimeout bounds each Google request (retries and their waits
// included) when the caller's client sets no timeout.
const defaultTimeout = 30 * time.Second

// unknownPrincipal is reported when nothing names the token's identity:
// tokeninfo shows the email only to tokens with the userinfo.email scope.
const unknownPrincipal = "unknown principal (token lacks userinfo.email scope)"

// tokenInfoFailedPrincipal is reported when tokeninfo, which would have
// named the identity, could not be asked; the warning says why.
const tokenInfoFailedPrincipal = "unknown principal (tokeninfo could not be reached to ask)"

// Mint obtains exactly one access token for in. Every run mints once,
// however many namespaces it writes.
func Mint(ctx context.Context, in Input, d Deps) (*Token, error) {
	d.HTTPClient = withRetries(d.HTTPClient)
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
	switch in.Source {
	case SourceWorkloadIdentity:
		tok, err = mintFederated(ctx, &in, d)
	case SourceKey:
		tok, err = mintFromKey(ctx, &in, d)
	case SourceAccessToken:
		tok, err = checkAccessToken(ctx, &in, d)
	default:
		tok, err = mintFromADC(ctx, &in, d)
	}
	if err != nil {
		return nil, err
	}
	if tok.AccessToken == "" {
		return nil, fmt.Errorf("%s returned an empty access token", tok.Method)
	}
	d.Mask(tok.AccessToken)
	if tok.Principal == "" {
		tok.Principal = unknownPrincipal
	}
	if extra := broaderScopes(tok.Scopes, in.Scopes); len(extra) > 0 {
		tok.Warnings = append(tok.Warnings, fmt.Sprintf("the token carries scopes beyond input %q (%s): %s. Anyone who can read the pull secret can use them.",
			in.name(FieldScopes), strings.Join(in.Scopes, ", "), strings.Join(extra, ", ")))
	}
	return tok, nil
}

// withRetries copies hc (a default client when nil) with a transport that
// retries what Google says to retry, and a timeout that bounds every
// request.
func withRetries(hc *http.Client) *http.Client {
	out := &http.Client{Timeout: defaultTimeout}
	if hc != nil {
		*out = *hc
	}
	if out.Timeout <= 0 {
		out.Timeout = defaultTimeout
	}
	base := out.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	out.Transport = &retryTransport{base: base}
	return out
}

// broaderScopes returns the scopes in have that want does not ask for.
func broaderScopes(have, want []string) []string {
	var extra []string
	for _, s := range have {
		if !slices.Contains(want, s) {
			extra = append(extra, s)
		}
	}
	return extra
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
