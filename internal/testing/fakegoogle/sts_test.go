package fakegoogle

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	githubactions "github.com/sethvargo/go-githubactions"
	"golang.org/x/oauth2/google/externalaccount"

	"github.com/pullsecret/pullsecret/internal/testing/fakegithub"
)

func TestSubjectTokenTiming(t *testing.T) {
	t.Parallel()
	gh := githubIssuer(t)
	w := newWorld(t, nil, nil)
	now := time.Now()
	tests := []struct {
		name     string
		edit     func(map[string]any)
		wantDesc string
	}{
		{
			name: "valid",
			edit: func(map[string]any) {},
		},
		{
			name:     "iat in the future",
			edit:     func(c map[string]any) { c["iat"] = now.Add(10 * time.Minute).Unix() },
			wantDesc: "is in the future.",
		},
		{
			name:     "nbf in the future",
			edit:     func(c map[string]any) { c["nbf"] = now.Add(10 * time.Minute).Unix() },
			wantDesc: "not yet valid",
		},
		{
			name:     "expired one second ago",
			edit:     func(c map[string]any) { c["exp"] = now.Add(-time.Second).Unix() },
			wantDesc: "stale to sign-in",
		},
		{
			name:     "no exp",
			edit:     func(c map[string]any) { delete(c, "exp") },
			wantDesc: "exp claim",
		},
		{
			name: "audience list containing the provider",
			edit: func(c map[string]any) {
				c["aud"] = []string{"https://github.com/octo-org", OIDCAudience(testProvider)}
			},
		},
		{
			name:     "no sub maps to no google.subject",
			edit:     func(c map[string]any) { delete(c, "sub") },
			wantDesc: "google.subject is empty",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			claims, err := gh.ClaimSet(OIDCAudience(testProvider))
			if err != nil {
				t.Fatal(err)
			}
			tc.edit(claims)
			subject, err := gh.Sign(claims)
			if err != nil {
				t.Fatal(err)
			}
			form := url.Values{
				"grant_type": {GrantTypeTokenExchange}, "audience": {STSAudience(testProvider)},
				"requested_token_type": {TokenTypeAccessToken}, "subject_token_type": {TokenTypeIDToken},
				"subject_token": {subject}, "scope": {ScopeCloudPlatform},
			}
			status, body := call(t, http.MethodPost, STSTokenURL(w.url), formHeader(), form.Encode())
			if tc.wantDesc == "" {
				if status != http.StatusOK {
					t.Fatalf("status %d %v, want 200", status, body)
				}
				return
			}
			if status != http.StatusBadRequest || body["error"] != "invalid_grant" ||
				!strings.Contains(body["error_description"].(string), tc.wantDesc) {
				t.Errorf("got %d %v, want invalid_grant containing %q", status, body, tc.wantDesc)
			}
		})
	}
}

func TestSTSRequestValidation(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil, nil)
	subject, err := w.gh.Mint(OIDCAudience(testProvider))
	if err != nil {
		t.Fatal(err)
	}
	good := func() url.Values {
		return url.Values{
			"grant_type": {GrantTypeTokenExchange}, "audience": {STSAudience(testProvider)},
			"requested_token_type": {TokenTypeAccessToken}, "subject_token_type": {TokenTypeJWT},
			"subject_token": {subject}, "scope": {ScopeCloudPlatform},
		}
	}
	tests := []struct {
		name      string
		edit      func(url.Values)
		wantError string
	}{
		{
			name: "ok",
			edit: func(url.Values) {},
		},
		{
			name: "ok with options",
			edit: func(v url.Values) { v.Set("options", `{"userProject":"123"}`) },
		},
		{
			name:      "wrong grant type",
			edit:      func(v url.Values) { v.Set("grant_type", "client_credentials") },
			wantError: "unsupported_grant_type",
		},
		{
			name:      "missing grant type",
			edit:      func(v url.Values) { v.Del("grant_type") },
			wantError: "unsupported_grant_type",
		},
		{
			name:      "wrong requested token type",
			edit:      func(v url.Values) { v.Set("requested_token_type", TokenTypeJWT) },
			wantError: "invalid_request",
		},
		{
			name:      "missing subject token",
			edit:      func(v url.Values) { v.Del("subject_token") },
			wantError: "invalid_request",
		},
		{
			name:      "garbage subject token",
			edit:      func(v url.Values) { v.Set("subject_token", "not-a-jwt") },
			wantError: "invalid_grant",
		},
		{
			name:      "missing scope",
			edit:      func(v url.Values) { v.Del("scope") },
			wantError: "invalid_scope",
		},
		{
			name:      "blank scope",
			edit:      func(v url.Values) { v.Set("scope", " ") },
			wantError: "invalid_scope",
		},
		{
			name:      "options not JSON",
			edit:      func(v url.Values) { v.Set("options", "{") },
			wantError: "invalid_request",
		},
		{
			name: "workforce audience",
			edit: func(v url.Values) {
				v.Set("audience", "//iam.googleapis.com/locations/global/workforcePools/p/providers/x")
			},
			wantError: "invalid_target",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := good()
			tc.edit(v)
			status, body := call(t, http.MethodPost, STSTokenURL(w.url), formHeader(), v.Encode())
			if tc.wantError == "" {
				if status != http.StatusOK || body["issued_token_type"] != TokenTypeAccessToken || body["token_type"] != "Bearer" {
					t.Errorf("got %d %v, want a token", status, body)
				}
				return
			}
			if status != http.StatusBadRequest || body["error"] != tc.wantError || body["error_description"] == "" {
				t.Errorf("got %d %v, want 400 %s", status, body, tc.wantError)
			}
		})
	}

	t.Run("JSON body in either field-name style", func(t *testing.T) {
		t.Parallel()
		for _, body := range []map[string]any{
			{"grantType": GrantTypeTokenExchange, "audience": STSAudience(testProvider), "requestedTokenType": TokenTypeAccessToken,
				"subjectTokenType": TokenTypeJWT, "subjectToken": subject, "scope": ScopeCloudPlatform},
			{"grant_type": GrantTypeTokenExchange, "audience": STSAudience(testProvider), "requested_token_type": TokenTypeAccessToken,
				"subject_token_type": TokenTypeJWT, "subject_token": subject, "scope": ScopeCloudPlatform,
				"options": map[string]any{"userProject": "123"}},
		} {
			raw, _ := json.Marshal(body)
			status, resp := call(t, http.MethodPost, STSTokenURL(w.url), http.Header{"Content-Type": {"application/json"}}, string(raw))
			if status != http.StatusOK || resp["access_token"] == nil {
				t.Errorf("JSON %v: got %d %v", body, status, resp)
			}
		}
	})

	t.Run("other content type", func(t *testing.T) {
		t.Parallel()
		status, body := call(t, http.MethodPost, STSTokenURL(w.url), http.Header{"Content-Type": {"text/plain"}}, good().Encode())
		if status != http.StatusBadRequest || body["error"] != "invalid_request" {
			t.Errorf("got %d %v", status, body)
		}
	})
}

// TestProviderKeyDiscovery has Google find the issuer's keys the way it
// does for a provider without uploaded keys: OIDC discovery at the issuer,
// or an explicit JWKS URL.
func TestProviderKeyDiscovery(t *testing.T) {
	t.Parallel()
	gh, err := fakegithub.NewOIDC(fakegithub.OIDCConfig{})
	if err != nil {
		t.Fatal(err)
	}
	// Google only accepts https issuers.
	ghSrv := httptest.NewTLSServer(gh.Handler())
	t.Cleanup(ghSrv.Close)
	// The issuer must be reachable at its iss for discovery to work.
	gh.SetIssuer(ghSrv.URL)

	tests := []struct {
		name    string
		jwksURL string
		wantErr bool
	}{
		{
			name: "discovery",
		},
		{
			name:    "explicit JWKS URL",
			jwksURL: ghSrv.URL + "/.well-known/jwks",
		},
		{
			name:    "unreachable JWKS",
			jwksURL: ghSrv.URL + "/nowhere",
			wantErr: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g, err := New(Config{HTTPClient: ghSrv.Client(), Providers: []Provider{{Name: testProvider, IssuerURI: ghSrv.URL, JWKSURL: tc.jwksURL}}})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(g.Handler())
			t.Cleanup(srv.Close)
			w := &world{gh: gh, ghURL: ghSrv.URL, google: g, url: srv.URL}
			sup := w.supplier()
			env := gh.Env(ghSrv.URL)
			sup.action = githubactions.New(githubactions.WithGetenv(func(k string) string { return env[k] }), githubactions.WithHTTPClient(ghSrv.Client()))
			ts, err := externalaccount.NewTokenSource(t.Context(), w.wifConfig(sup, false, 0))
			if err != nil {
				t.Fatal(err)
			}
			_, err = ts.Token()
			if !tc.wantErr {
				if err != nil {
					t.Fatalf("Token: %v", err)
				}
				return
			}
			if body := googleError(t, err); body["error"] != "invalid_grant" ||
				!strings.Contains(body["error_description"].(string), "Unable to retrieve the public keys") {
				t.Errorf("error body %v", body)
			}
		})
	}
}
