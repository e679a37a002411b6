package googleauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/oauth2/google"

	"github.com/pullsecret/pullsecret/internal/config"
)

// mintFromKey signs a JWT with the key and trades it at the OAuth token
// endpoint (one hour). Any other lifetime is obtained by the service account
// impersonating itself, which needs roles/iam.serviceAccountTokenCreator on
// itself — the same thing gcloud does.
func mintFromKey(ctx context.Context, cfg *config.Config, d Deps) (*Token, error) {
	key, err := config.ParseKey(cfg.CredentialsJSON)
	if err != nil {
		return nil, err
	}
	keyJSON := cfg.CredentialsJSON
	if cfg.OAuthTokenEndpoint != config.DefaultOAuthTokenEndpoint && key.TokenURI != cfg.OAuthTokenEndpoint {
		// A deliberately configured endpoint (Private Service Connect) wins
		// over the public one written in the key.
		if keyJSON, err = withTokenURI(keyJSON, cfg.OAuthTokenEndpoint); err != nil {
			return nil, err
		}
	}
	// The type is fixed: a key input must never load as another credential
	// type (an external_account file would make us call arbitrary URLs).
	selfImpersonate := cfg.CredentialMode == config.CredentialAccessToken && cfg.TokenLifetime != time.Hour
	scopes := cfg.Scopes
	if selfImpersonate {
		// The IAM Credentials API only accepts callers with cloud-platform;
		// the token that ends up in the secret still gets cfg.Scopes.
		scopes = []string{cloudPlatformScope}
	}
	creds, err := google.CredentialsFromJSONWithTypeAndParams(ctx, keyJSON, google.ServiceAccount, google.CredentialsParams{Scopes: scopes})
	if err != nil {
		return nil, fmt.Errorf("failed to load %s: %w", config.InCredentialsJSON, err)
	}
	t, err := fetch(creds.TokenSource, d)
	if err != nil {
		return nil, fmt.Errorf("failed to mint a token with the key of %s: %w", key.ClientEmail, err)
	}
	tok := &Token{AccessToken: t.AccessToken, Expiry: t.Expiry, Principal: key.ClientEmail, Method: "service-account key"}
	if cfg.CredentialMode == config.CredentialJSONKey {
		tok.Method += " (stored as _json_key)"
		tok.Warnings = append(tok.Warnings, "credential_mode json_key stores the long-lived service-account key in the cluster: anyone who can read the secret holds the key until it is rotated. Prefer access_token with a refresh job where you can.")
		return tok, nil
	}
	if selfImpersonate {
		iam := &iamClient{base: cfg.IAMCredentialsEndpoint, http: d.HTTPClient}
		it, err := iam.generateAccessToken(ctx, t.AccessToken, key.ClientEmail, cfg.Scopes, cfg.TokenLifetime)
		if err != nil {
			return nil, fmt.Errorf("failed to extend the token lifetime to %s by self-impersonation (grant %s roles/iam.serviceAccountTokenCreator on itself, or use %s 3600s): %w", cfg.TokenLifetime, key.ClientEmail, config.InTokenLifetime, err)
		}
		d.Mask(it.AccessToken)
		tok.AccessToken, tok.Expiry = it.AccessToken, it.Expiry
	}
	return tok, nil
}

func withTokenURI(keyJSON []byte, uri string) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(keyJSON, &m); err != nil {
		return nil, errors.New("the service-account key is not valid JSON")
	}
	m["token_uri"] = uri
	return json.Marshal(m)
}

// MaskKey masks the key as a whole and line by line: GitHub masks per line,
// and a PEM block printed anywhere would otherwise leak line by line.
func MaskKey(key []byte, mask func(string)) {
	mask(strings.TrimSpace(string(key)))
	var m map[string]any
	if json.Unmarshal(key, &m) == nil {
		if pk, ok := m["private_key"].(string); ok {
			for _, line := range strings.Split(pk, "\n") {
				if len(strings.TrimSpace(line)) > 8 && !strings.HasPrefix(line, "-----") {
					mask(strings.TrimSpace(line))
				}
			}
			// The escaped form is how the key appears inside JSON text.
			esc, _ := json.Marshal(pk)
			mask(strings.Trim(string(esc), `"`))
		}
		if id, ok := m["private_key_id"].(string); ok && id != "" {
			mask(id)
		}
	}
	for _, line := range strings.Split(string(key), "\n") {
		if l := strings.TrimSpace(line); len(l) > 8 {
			mask(l)
		}
	}
}
