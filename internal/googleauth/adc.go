package googleauth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"

	"golang.org/x/oauth2/google"

	"github.com/pullsecret/pullsecret/internal/config"
)

// adcTypes are the credential files ADC may hold, mapped to the typed
// loader. The untyped loaders are never used: they would load whatever the
// file claims to be.
var adcTypes = map[string]google.CredentialsType{
	"service_account":              google.ServiceAccount,
	"authorized_user":              google.AuthorizedUser,
	"external_account":             google.ExternalAccount,
	"impersonated_service_account": google.ImpersonatedServiceAccount,
}

// mintFromADC follows Application Default Credentials: the file named by
// GOOGLE_APPLICATION_CREDENTIALS (e.g. written by google-github-actions/auth),
// gcloud's well-known file, then the metadata server (GKE, GCE).
func mintFromADC(ctx context.Context, cfg *config.Config, d Deps) (*Token, error) {
	path, origin := d.Getenv("GOOGLE_APPLICATION_CREDENTIALS"), "GOOGLE_APPLICATION_CREDENTIALS"
	if path == "" {
		path, origin = wellKnownFile(d.Getenv), "gcloud's application default credentials"
		if _, err := d.ReadFile(path); err != nil {
			return mintFromMetadata(ctx, cfg, d)
		}
	}
	raw, err := d.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("failed to read %s file %q: %w (in a docker action, the file must be under $GITHUB_WORKSPACE)", origin, path, err)
	}
	var head struct {
		Type             string `json:"type"`
		ClientEmail      string `json:"client_email"`
		TokenURL         string `json:"token_url"`
		ImpersonationURL string `json:"service_account_impersonation_url"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, fmt.Errorf("%s file %q is not JSON", origin, path)
	}
	credType, ok := adcTypes[head.Type]
	if !ok {
		return nil, fmt.Errorf("%s file %q has unsupported type %q", origin, path, head.Type)
	}
	if head.Type == "service_account" {
		MaskKey(raw, d.Mask)
	}
	if err := checkExternalAccountURLs(cfg, head.TokenURL, head.ImpersonationURL); err != nil {
		return nil, fmt.Errorf("%s file %q: %w", origin, path, err)
	}
	params := google.CredentialsParams{Scopes: cfg.Scopes}
	if cfg.OAuthTokenEndpoint != config.DefaultOAuthTokenEndpoint {
		// A deliberately configured endpoint (Private Service Connect)
		// applies to ADC keys and user credentials too.
		params.TokenURL = cfg.OAuthTokenEndpoint
		if head.Type == "service_account" {
			if raw, err = withTokenURI(raw, cfg.OAuthTokenEndpoint); err != nil {
				return nil, err
			}
		}
	}
	creds, err := google.CredentialsFromJSONWithTypeAndParams(ctx, raw, credType, params)
	if err != nil {
		return nil, fmt.Errorf("failed to load %s file %q: %w", origin, path, err)
	}
	t, err := fetch(creds.TokenSource, d)
	if err != nil {
		return nil, fmt.Errorf("failed to mint a token from %s file %q (%s): %w", origin, path, head.Type, err)
	}
	principal := head.ClientEmail
	if principal == "" {
		principal = head.Type + " credentials"
	}
	return &Token{AccessToken: t.AccessToken, Expiry: t.Expiry, Principal: principal, Method: "Application Default Credentials (" + head.Type + ")"}, nil
}

// checkExternalAccountURLs applies Google's advice for external credential
// files: only send tokens to Google's STS and IAM hosts (or the endpoints the
// user configured on purpose).
func checkExternalAccountURLs(cfg *config.Config, tokenURL, impersonationURL string) error {
	allowed := map[string]bool{
		"sts.googleapis.com":               true,
		"iamcredentials.googleapis.com":    true,
		hostOf(cfg.STSEndpoint):            true,
		hostOf(cfg.IAMCredentialsEndpoint): true,
	}
	for _, u := range []string{tokenURL, impersonationURL} {
		if u != "" && !allowed[hostOf(u)] {
			return fmt.Errorf("refusing to use endpoint %q: not a Google STS/IAM host (set %s or %s to allow it)", u, config.InSTSEndpoint, config.InIAMCredentialsEndpoint)
		}
	}
	return nil
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}

func wellKnownFile(getenv func(string) string) string {
	if dir := getenv("CLOUDSDK_CONFIG"); dir != "" {
		return filepath.Join(dir, "application_default_credentials.json")
	}
	return filepath.Join(getenv("HOME"), ".config", "gcloud", "application_default_credentials.json")
}
