package googleauth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/oauth2/google"

	"github.com/pullsecret/pullsecret/internal/sakey"
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

// maxSourceDepth bounds source_credentials nesting; gcloud writes one level.
const maxSourceDepth = 3

// mintFromADC follows Application Default Credentials: the file named by
// GOOGLE_APPLICATION_CREDENTIALS (e.g. written by google-github-actions/auth),
// gcloud's well-known file, then the metadata server (GKE, GCE).
func mintFromADC(ctx context.Context, in *Input, d Deps) (*Token, error) {
	path, origin := d.Getenv("GOOGLE_APPLICATION_CREDENTIALS"), "GOOGLE_APPLICATION_CREDENTIALS"
	if path == "" {
		path, origin = wellKnownFile(d.Getenv), "gcloud's application default credentials"
		if _, err := d.ReadFile(path); err != nil {
			return mintFromMetadata(ctx, in, d)
		}
	}
	raw, err := d.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("failed to read %s file %q: %w (in a docker action, the file must be under $GITHUB_WORKSPACE)", origin, path, err)
	}
	var file map[string]any
	if err := json.Unmarshal(raw, &file); err != nil {
		return nil, fmt.Errorf("%s file %q is not JSON", origin, path)
	}
	maskSecrets(file, d.Mask)
	// Nothing is sent anywhere before every URL in the file passed.
	if err := checkCredentials(in, githubIDTokenOrigin(d.Getenv, in.AllowHTTP), file, "", 0); err != nil {
		return nil, fmt.Errorf("%s file %q: %w", origin, path, err)
	}
	typ, _ := file["type"].(string)
	tok, err := mintFromCredentials(ctx, in, d, file, in.Scopes, true)
	if sd := asServiceDisabled(err); sd != nil {
		err = sd
	} else if subjectTooLong(err) {
		err = fmt.Errorf("%s: %w", subjectTooLongHint, err)
	} else if permissionDenied(err) {
		err = fmt.Errorf("%s: %w", propagationHint, err)
	}
	if err != nil {
		return nil, fmt.Errorf("failed to mint a token from %s file %q (%s): %w", origin, path, typ, err)
	}
	tok.Method = "Application Default Credentials (" + typ + ")"
	return tok, nil
}

// mintFromCredentials mints from one checked credentials object: a file or
// the source_credentials inside one.
func mintFromCredentials(ctx context.Context, in *Input, d Deps, m map[string]any, scopes []string, top bool) (*Token, error) {
	typ, _ := m["type"].(string)
	switch typ {
	case "service_account":
		email, _ := m["client_email"].(string)
		raw, _ := json.Marshal(m)
		if !top {
			// A source only authenticates the impersonation call.
			return mintWithKeyScopes(ctx, in, d, raw, email, scopes)
		}
		return mintWithKey(ctx, in, d, raw, email, true)
	case "impersonated_service_account":
		// Done here rather than by x/oauth2, which would ask the source
		// for the target's scopes (too narrow to call IAM Credentials)
		// and ignore token_lifetime.
		src, _ := m["source_credentials"].(map[string]any)
		st, err := mintFromCredentials(ctx, in, d, src, []string{cloudPlatformScope}, false)
		if err != nil {
			return nil, fmt.Errorf("source_credentials: %w", err)
		}
		u, _ := m["service_account_impersonation_url"].(string)
		var delegates []string
		if ds, ok := m["delegates"].([]any); ok {
			for _, v := range ds {
				if s, ok := v.(string); ok {
					delegates = append(delegates, s)
				}
			}
		}
		lifetime := in.TokenLifetime
		if !top {
			lifetime = time.Hour // a source only authenticates the next call
		}
		iam := &iamClient{http: d.HTTPClient}
		it, err := iam.generateAt(ctx, u, st.AccessToken, scopes, lifetime, delegates)
		if err != nil {
			return nil, fmt.Errorf("failed to impersonate %s: %w", impersonatedEmail(u), err)
		}
		d.Mask(it.AccessToken)
		return &Token{AccessToken: it.AccessToken, Expiry: it.Expiry, Principal: impersonatedEmail(u), Scopes: scopes}, nil
	}
	raw, _ := json.Marshal(m)
	creds, err := google.CredentialsFromJSONWithTypeAndParams(ctx, raw, adcTypes[typ], google.CredentialsParams{Scopes: scopes})
	if err != nil {
		return nil, fmt.Errorf("failed to load the credentials: %w", err)
	}
	t, err := fetch(creds.TokenSource, d)
	if err != nil {
		return nil, err
	}
	tok := &Token{AccessToken: t.AccessToken, Expiry: t.Expiry}
	if u, _ := m["service_account_impersonation_url"].(string); u != "" {
		tok.Principal, tok.Scopes = impersonatedEmail(u), scopes
		return tok, nil
	}
	// A user's or a federated token: ask Google who it is and what it may do.
	info, err := tokenInfo(ctx, d.HTTPClient, tokenInfoURL(in.OAuthTokenEndpoint), t.AccessToken)
	if err == nil {
		tok.Principal, tok.Scopes = info.Email, strings.Fields(info.Scope)
	} else {
		tok.Warnings = append(tok.Warnings, fmt.Sprintf("could not ask tokeninfo who the token acts as and what it may do (%v): its principal and scopes are unknown", err))
	}
	if tok.Principal == "" && typ == "external_account" {
		aud, _ := m["audience"].(string)
		tok.Principal = "principal of " + strings.TrimPrefix(aud, "//iam.googleapis.com/")
	} else if tok.Principal == "" && err != nil {
		tok.Principal = tokenInfoFailedPrincipal
	}
	return tok, nil
}

// mintWithKeyScopes mints a one-hour token with explicit scopes.
func mintWithKeyScopes(ctx context.Context, in *Input, d Deps, keyJSON []byte, email string, scopes []string) (*Token, error) {
	c := *in
	c.Scopes = scopes
	return mintWithKey(ctx, &c, d, keyJSON, email, false)
}

// checkCredentials validates every URL a credentials object can make the
// product call, recursively through source_credentials, and rewrites token
// endpoints to oauth_token_endpoint when one is configured (as for a key
// given directly). field prefixes error messages with the path inside the
// file. gh is the origin of this job's GitHub OIDC token endpoint (nil when
// there is none), the one host a credential_source.url may name besides
// Google's: google-github-actions/auth writes such files.
func checkCredentials(in *Input, gh *url.URL, m map[string]any, field string, depth int) error {
	if depth > maxSourceDepth {
		return fmt.Errorf("%ssource_credentials nested more than %d deep", field, maxSourceDepth)
	}
	typ, _ := m["type"].(string)
	if _, ok := adcTypes[typ]; !ok {
		return fmt.Errorf("%stype %q is not supported (only authorized_user, external_account, impersonated_service_account, service_account)", field, typ)
	}
	check := func(name string, obj map[string]any, required bool) error {
		v, present := obj[name]
		s, _ := v.(string)
		if !present || s == "" {
			if required {
				return fmt.Errorf("%s%s is missing", field, name)
			}
			return nil
		}
		return allowedURL(in, field+name, s)
	}
	switch typ {
	case "service_account", "authorized_user":
		if err := check("token_uri", m, false); err != nil {
			return err
		}
		if typ == "service_account" {
			pointKeyAt(m, in)
		} else if in.OAuthTokenEndpoint != DefaultOAuthTokenEndpoint {
			m["token_uri"] = in.OAuthTokenEndpoint
		}
	case "impersonated_service_account":
		if err := check("service_account_impersonation_url", m, true); err != nil {
			return err
		}
		src, ok := m["source_credentials"].(map[string]any)
		if !ok {
			return fmt.Errorf("%ssource_credentials is missing", field)
		}
		return checkCredentials(in, gh, src, field+"source_credentials.", depth+1)
	case "external_account":
		for _, name := range []string{"token_url", "service_account_impersonation_url", "token_info_url"} {
			if err := check(name, m, name == "token_url"); err != nil {
				return err
			}
		}
		cs, _ := m["credential_source"].(map[string]any)
		if _, ok := cs["executable"]; ok {
			return fmt.Errorf("%scredential_source.executable is refused: pullsecret never runs a command named in a credentials file (whatever GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES says)", field)
		}
		for _, name := range []string{"url", "region_url", "imdsv2_session_token_url", "regional_cred_verification_url"} {
			if u, _ := cs[name].(string); name == "url" && sameOrigin(gh, u) {
				continue // the job's own OIDC token endpoint
			}
			if err := allowedCredentialSourceURL(in, field+"credential_source.", name, cs); err != nil {
				return err
			}
		}
	}
	return nil
}

func allowedCredentialSourceURL(in *Input, field, name string, cs map[string]any) error {
	s, _ := cs[name].(string)
	if s == "" {
		return nil
	}
	return allowedURL(in, field+name, s)
}

// allowedURL applies Google's advice for credential files from elsewhere:
// only send anything to Google's own hosts over HTTPS, or to an endpoint the
// user configured on purpose (Private Service Connect, tests).
func allowedURL(in *Input, field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%s %q is not a URL", field, raw)
	}
	for _, e := range []string{in.STSEndpoint, in.IAMCredentialsEndpoint, in.OAuthTokenEndpoint} {
		if c, err := url.Parse(e); err == nil && c.Scheme == u.Scheme && strings.EqualFold(c.Host, u.Host) {
			return nil
		}
	}
	host := strings.ToLower(u.Hostname())
	google := strings.HasSuffix(host, ".googleapis.com") || raw == "https://accounts.google.com/o/oauth2/token"
	switch {
	case google && u.Scheme == "https":
		return nil
	case google:
		return fmt.Errorf("refusing %s %q: Google endpoints are called over https only", field, raw)
	}
	return fmt.Errorf("refusing %s %q: not a Google host (*.googleapis.com) nor a configured endpoint (%s, %s, %s)", field, raw,
		in.name(FieldSTSEndpoint), in.name(FieldIAMCredentialsEndpoint), in.name(FieldOAuthTokenEndpoint))
}

// maskSecrets masks the secret fields of a credentials file at any depth.
func maskSecrets(m map[string]any, mask func(string)) {
	if raw, err := json.Marshal(m); err == nil && m["type"] == "service_account" {
		sakey.Mask(raw, mask)
	}
	for _, k := range []string{"private_key", "private_key_id", "client_secret", "refresh_token"} {
		if s, ok := m[k].(string); ok && s != "" {
			mask(s)
		}
	}
	if src, ok := m["source_credentials"].(map[string]any); ok {
		maskSecrets(src, mask)
	}
	// google-github-actions/auth writes the job's OIDC request token
	// here ("Bearer <ACTIONS_ID_TOKEN_REQUEST_TOKEN>").
	if cs, ok := m["credential_source"].(map[string]any); ok {
		if hs, ok := cs["headers"].(map[string]any); ok {
			for _, v := range hs {
				if s, ok := v.(string); ok && s != "" {
					mask(s)
					if _, tok, found := strings.Cut(s, " "); found && strings.TrimSpace(tok) != "" {
						mask(strings.TrimSpace(tok))
					}
				}
			}
		}
	}
}

// impersonatedEmail extracts the account from a generateAccessToken URL.
func impersonatedEmail(u string) string {
	_, rest, ok := strings.Cut(u, "/serviceAccounts/")
	if !ok {
		return ""
	}
	email, _, _ := strings.Cut(rest, ":")
	if e, err := url.PathUnescape(email); err == nil {
		return e
	}
	return email
}

func wellKnownFile(getenv func(string) string) string {
	if dir := getenv("CLOUDSDK_CONFIG"); dir != "" {
		return filepath.Join(dir, "application_default_credentials.json")
	}
	return filepath.Join(getenv("HOME"), ".config", "gcloud", "application_default_credentials.json")
}
