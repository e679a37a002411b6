package googleauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"golang.org/x/oauth2/google"

	"github.com/pullsecret/pullsecret/internal/sakey"
)

// googleTokenAudience is the "aud" Google requires in a jwt-bearer
// assertion whichever endpoint it is posted to, Private Service Connect
// included
// (https://developers.google.com/identity/protocols/oauth2/service-account#authorizingrequests).
const googleTokenAudience = "https://oauth2.googleapis.com/token"

// mintFromKey signs a JWT with the key and trades it at the OAuth token
// endpoint (one hour). Any other lifetime is obtained by the service account
// impersonating itself, which needs roles/iam.serviceAccountTokenCreator on
// itself — the same thing gcloud does.
func mintFromKey(ctx context.Context, in *Input, d Deps) (*Token, error) {
	key, err := sakey.Parse(in.Key)
	if err != nil {
		return nil, &InputError{Field: FieldKey, Err: err}
	}
	tok, err := mintWithKey(ctx, in, d, in.Key, key.ClientEmail, !in.StoreKey)
	if err != nil {
		return nil, err
	}
	tok.Method = "service-account key"
	if in.StoreKey {
		tok.Method += " (stored as _json_key)"
		tok.Warnings = append(tok.Warnings, "credential_mode json_key stores the long-lived service-account key in the cluster: anyone who can read the secret holds the key until it is rotated. Prefer access_token with a refresh job where you can.")
	}
	return tok, nil
}

// mintWithKey mints for the key of email (from credentials_json or an ADC
// file). With honourLifetime, a token_lifetime other than one hour is
// obtained by self-impersonation.
func mintWithKey(ctx context.Context, in *Input, d Deps, keyJSON []byte, email string, honourLifetime bool) (*Token, error) {
	keyJSON, err := keyForEndpoint(keyJSON, in)
	if err != nil {
		return nil, err
	}
	selfImpersonate := honourLifetime && in.TokenLifetime != time.Hour
	scopes := in.Scopes
	if selfImpersonate {
		// The IAM Credentials API only accepts callers with cloud-platform;
		// the token that ends up in the secret still gets in.Scopes.
		scopes = []string{cloudPlatformScope}
	}
	// The type is fixed: a key must never load as another credential type
	// (an external_account file would make us call arbitrary URLs).
	creds, err := google.CredentialsFromJSONWithTypeAndParams(ctx, keyJSON, google.ServiceAccount, google.CredentialsParams{Scopes: scopes})
	if err != nil {
		return nil, fmt.Errorf("failed to load the service-account key of %s: %w", email, err)
	}
	t, err := fetch(creds.TokenSource, d)
	if err != nil {
		return nil, fmt.Errorf("failed to mint a token with the key of %s: %w", email, err)
	}
	tok := &Token{AccessToken: t.AccessToken, Expiry: t.Expiry, Principal: email, Scopes: scopes}
	if selfImpersonate {
		iam := &iamClient{base: in.IAMCredentialsEndpoint, http: d.HTTPClient}
		it, err := iam.generateAccessToken(ctx, t.AccessToken, email, in.Scopes, in.TokenLifetime)
		if sd := asServiceDisabled(err); sd != nil {
			return nil, fmt.Errorf("failed to mint a %s token by self-impersonation: %w", in.TokenLifetime, sd)
		}
		if err != nil {
			return nil, fmt.Errorf("failed to mint a %s token by self-impersonation (%s, or use %s 3600s): %w", in.TokenLifetime, tokenCreatorHint(email), in.name(FieldTokenLifetime), err)
		}
		d.Mask(it.AccessToken)
		tok.AccessToken, tok.Expiry, tok.Scopes = it.AccessToken, it.Expiry, in.Scopes
	}
	return tok, nil
}

// keyForEndpoint points the key at oauth_token_endpoint when one was
// configured on purpose (Private Service Connect), and always pins the
// assertion's audience to Google's: x/oauth2 otherwise signs for token_uri,
// which Google refuses on any other host ("Invalid JWT: Failed audience
// check").
func keyForEndpoint(keyJSON []byte, in *Input) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(keyJSON, &m); err != nil {
		return nil, errors.New("the service-account key is not valid JSON")
	}
	pointKeyAt(m, in)
	return json.Marshal(m)
}

// pointKeyAt applies keyForEndpoint to a parsed key.
func pointKeyAt(m map[string]any, in *Input) {
	if in.OAuthTokenEndpoint != DefaultOAuthTokenEndpoint {
		m["token_uri"] = in.OAuthTokenEndpoint
	}
	m["audience"] = googleTokenAudience
}
