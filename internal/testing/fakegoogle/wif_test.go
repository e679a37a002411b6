package fakegoogle

// The tests in this file drive the fake STS and IAM Credentials endpoints
// through the real golang.org/x/oauth2/google/externalaccount client, fed by
// go-githubactions' GetIDToken against fakegithub: the Workload Identity
// Federation path pullsecret uses in a GitHub Action.

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/oauth2/google/externalaccount"

	"github.com/pullsecret/pullsecret/internal/testing/check"
	"github.com/pullsecret/pullsecret/internal/testing/fakegithub"
)

func TestFederationWithoutImpersonation(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil, nil)
	ts, err := externalaccount.NewTokenSource(t.Context(), w.wifConfig(w.supplier(), false, 0))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ts.Token()
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	if !strings.HasPrefix(tok.AccessToken, "ya29.fake-") || len(tok.AccessToken) < len("ya29.fake-")+40 {
		t.Errorf("access token %q lacks the ya29.fake- prefix or 40+ chars of randomness", tok.AccessToken)
	}
	if tok.TokenType != "Bearer" {
		t.Errorf("token type %q", tok.TokenType)
	}
	// The federated token lives as long as the 5-minute GitHub token, not
	// the hour cap, and the client computed the same expiry.
	if left := time.Until(tok.Expiry); left > 5*time.Minute || left < 4*time.Minute {
		t.Errorf("federated token expires in %v, want just under 5m", left)
	}

	sts := w.google.RequestsTo(EndpointSTS)
	if len(sts) != 1 {
		t.Fatalf("got %d STS requests, want 1", len(sts))
	}
	r := sts[0]
	if r.ContentType != "application/x-www-form-urlencoded" || r.Method != http.MethodPost {
		t.Errorf("STS request %s %s", r.Method, r.ContentType)
	}
	wantForm := url.Values{
		"audience":             {"//iam.googleapis.com/" + testProvider},
		"grant_type":           {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"requested_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
		"scope":                {"https://www.googleapis.com/auth/cloud-platform"},
		"subject_token_type":   {"urn:ietf:params:oauth:token-type:jwt"},
	}
	if diff := cmp.Diff(wantForm, r.Form, cmpopts.IgnoreMapEntries(func(k string, _ []string) bool { return k == "subject_token" })); diff != "" {
		t.Errorf("STS form (-want +got):\n%s", diff)
	}
	if r.HasAuthorization {
		t.Error("STS request carried client authentication; none was configured")
	}

	info, ok := w.google.Lookup(tok.AccessToken)
	if !ok {
		t.Fatal("returned token not recorded")
	}
	want := IssuedToken{
		Token:     tok.AccessToken,
		Kind:      KindFederated,
		Subject:   "repo:octo-org/octo-repo:ref:refs/heads/main",
		Principal: "principal://iam.googleapis.com/projects/123456/locations/global/workloadIdentityPools/gh/subject/repo:octo-org/octo-repo:ref:refs/heads/main",
		Provider:  testProvider,
		Attributes: map[string]string{
			"actor": "octocat", "repository": testRepo, "repository_owner": "octo-org",
		},
		Scopes: []string{ScopeCloudPlatform},
	}
	if diff := cmp.Diff(want, info, cmpopts.IgnoreFields(IssuedToken{}, "IssuedAt", "Expiry")); diff != "" {
		t.Errorf("issued token (-want +got):\n%s", diff)
	}
}

func TestFederationWithImpersonation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		maxLifetime  time.Duration
		lifetimeSecs int
		wantLifetime time.Duration
		wantBody     string
	}{
		{
			name:         "library default lifetime",
			wantLifetime: time.Hour,
			wantBody:     `{"lifetime":"3600s","scope":["https://www.googleapis.com/auth/cloud-platform"]}`,
		},
		{
			name:         "short lifetime",
			lifetimeSecs: 600,
			wantLifetime: 10 * time.Minute,
			wantBody:     `{"lifetime":"600s","scope":["https://www.googleapis.com/auth/cloud-platform"]}`,
		},
		{
			name:         "extended by org policy",
			maxLifetime:  12 * time.Hour,
			lifetimeSecs: 43200,
			wantLifetime: 12 * time.Hour,
			wantBody:     `{"lifetime":"43200s","scope":["https://www.googleapis.com/auth/cloud-platform"]}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, nil, func(c *Config) { c.MaxLifetime = tc.maxLifetime })
			ts, err := externalaccount.NewTokenSource(t.Context(), w.wifConfig(w.supplier(), true, tc.lifetimeSecs))
			if err != nil {
				t.Fatal(err)
			}
			tok, err := ts.Token()
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			if !approx(tok.Expiry, time.Now().Add(tc.wantLifetime)) {
				t.Errorf("expiry %v, want about now+%v", tok.Expiry, tc.wantLifetime)
			}

			iam := w.google.RequestsTo(EndpointIAMCredentials)
			if len(iam) != 1 {
				t.Fatalf("got %d generateAccessToken requests, want 1", len(iam))
			}
			if got := strings.TrimSpace(string(iam[0].Body)); got != tc.wantBody {
				t.Errorf("generateAccessToken body = %s, want %s", got, tc.wantBody)
			}
			if iam[0].ContentType != "application/json" || !iam[0].HasAuthorization {
				t.Errorf("content type %q, authorization %v", iam[0].ContentType, iam[0].HasAuthorization)
			}

			issued := w.google.Issued()
			if len(issued) != 2 || issued[0].Kind != KindFederated || issued[1].Kind != KindImpersonated {
				t.Fatalf("issued %+v, want a federated then an impersonated token", issued)
			}
			fed, imp := issued[0], issued[1]
			if got := iam[0].Header.Get("Authorization"); got != "Bearer "+fed.Token {
				t.Errorf("impersonation authorised with %q, want the federated token", got)
			}
			if imp.Token != tok.AccessToken || imp.Email != testSA || imp.ImpersonatedBy != fed.Principal {
				t.Errorf("impersonated token %+v", imp)
			}
		})
	}
}

func TestImpersonationLifetimeLimit(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil, nil)
	ts, err := externalaccount.NewTokenSource(t.Context(), w.wifConfig(w.supplier(), true, 3601))
	if err != nil {
		t.Fatal(err)
	}
	_, err = ts.Token()
	body := googleError(t, err)
	e, _ := body["error"].(map[string]any)
	if e["code"] != float64(400) || e["status"] != "INVALID_ARGUMENT" ||
		!strings.HasPrefix(e["message"].(string), "Requested lifetime exceeds the maximum allowed value of 3600s") {
		t.Errorf("error body %v", body)
	}
	for _, tok := range w.google.Issued() {
		if tok.Kind == KindImpersonated {
			t.Error("an impersonated token was minted despite the error")
		}
	}
}

// TestSubjectTokenRejected drives STS through the real client with subject
// tokens Google must refuse, and checks the error shape that surfaces.
func TestSubjectTokenRejected(t *testing.T) {
	t.Parallel()
	lateGH, err := fakegithub.NewOIDC(fakegithub.OIDCConfig{Now: func() time.Time { return time.Now().Add(-6 * time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := fakegithub.NewOIDC(fakegithub.OIDCConfig{})
	if err != nil {
		t.Fatal(err)
	}
	trusted := githubIssuer(t).PublicKey()

	tests := []struct {
		name      string
		gh        *fakegithub.OIDC
		edit      func(*Config)
		audience  string
		mutate    func(string) string
		config    func(*externalaccount.Config)
		wantError string
		wantDesc  string
	}{
		{
			name:      "wrong audience",
			audience:  "https://github.com/octo-org",
			wantError: "invalid_grant",
			wantDesc:  "The audience in ID Token [https://github.com/octo-org] does not match the expected audience https://iam.googleapis.com/" + testProvider + ".",
		},
		{
			name:      "expired subject token",
			gh:        lateGH,
			wantError: "invalid_grant",
			wantDesc:  "is stale to sign-in.",
		},
		{
			name:      "tampered payload",
			mutate:    tamperRepository,
			wantError: "invalid_grant",
			wantDesc:  "Invalid JWT signature",
		},
		{
			// Same kid, different key: the provider has a stale or foreign key.
			name:      "signed by an untrusted key",
			gh:        otherKey,
			edit:      func(c *Config) { c.Providers[0].PublicKeys = map[string]*rsa.PublicKey{otherKey.KeyID(): trusted} },
			wantError: "invalid_grant",
			wantDesc:  "Invalid JWT signature",
		},
		{
			name:      "issuer mismatch",
			edit:      func(c *Config) { c.Providers[0].IssuerURI = "https://issuer.example.com" },
			wantError: "invalid_grant",
			wantDesc:  "The issuer in ID Token https://token.actions.githubusercontent.com does not match the expected ones: https://issuer.example.com.",
		},
		{
			name:      "attribute condition",
			edit:      func(c *Config) { c.Providers[0].RequiredClaims = map[string]string{"repository_owner": "someone-else"} },
			wantError: "unauthorized_client",
			wantDesc:  "The given credential is rejected by the attribute condition.",
		},
		{
			name: "attribute condition func",
			edit: func(c *Config) {
				c.Providers[0].AttributeCondition = func(m map[string]any) bool { return m["ref"] == "refs/heads/release" }
			},
			wantError: "unauthorized_client",
			wantDesc:  "The given credential is rejected by the attribute condition.",
		},
		{
			name:      "disabled provider",
			edit:      func(c *Config) { c.Providers[0].Disabled = true },
			wantError: "invalid_target",
			wantDesc:  "The target service indicated by the \"audience\" parameters is invalid.",
		},
		{
			name: "unknown provider",
			config: func(c *externalaccount.Config) {
				c.Audience = STSAudience(strings.Replace(testProvider, "/gh/providers", "/other/providers", 1))
			},
			wantError: "invalid_target",
			wantDesc:  "doesn't exist.",
		},
		{
			name:      "malformed audience",
			config:    func(c *externalaccount.Config) { c.Audience = testProvider }, // missing //iam.googleapis.com/
			wantError: "invalid_request",
			wantDesc:  "Invalid value for \"audience\".",
		},
		{
			name:      "saml token type",
			config:    func(c *externalaccount.Config) { c.SubjectTokenType = "urn:ietf:params:oauth:token-type:saml2" },
			wantError: "invalid_request",
			wantDesc:  "Invalid value for \"subject_token_type\".",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			gh := tc.gh
			w := newWorld(t, gh, tc.edit)
			s := w.supplier()
			if tc.audience != "" {
				s.audience = tc.audience
			}
			s.mutate = tc.mutate
			cfg := w.wifConfig(s, true, 600)
			if tc.config != nil {
				tc.config(&cfg)
			}
			ts, err := externalaccount.NewTokenSource(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = ts.Token()
			if check.ErrDiff(err, "status code 400") != "" {
				t.Fatalf("Token error = %v, want an STS 400", err)
			}
			body := googleError(t, err)
			if body["error"] != tc.wantError || !strings.Contains(body["error_description"].(string), tc.wantDesc) {
				t.Errorf("STS error = %v, want error %q with description containing %q", body, tc.wantError, tc.wantDesc)
			}
			if len(w.google.Issued()) != 0 {
				t.Error("a token was minted for a rejected request")
			}
			if n := len(w.google.RequestsTo(EndpointIAMCredentials)); n != 0 {
				t.Errorf("client reached generateAccessToken %d times after STS failed", n)
			}
		})
	}
}

// tamperRepository rewrites the repository claim, keeping the signature.
func tamperRepository(tok string) string {
	parts := strings.Split(tok, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	m["repository"] = "evil-org/evil-repo"
	raw, _ = json.Marshal(m)
	parts[1] = base64.RawURLEncoding.EncodeToString(raw)
	return strings.Join(parts, ".")
}

func TestImpersonationDeniedForOtherRepository(t *testing.T) {
	t.Parallel()
	gh, err := fakegithub.NewOIDC(fakegithub.OIDCConfig{Claims: fakegithub.Claims{Repository: "octo-org/other-repo"}})
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, gh, nil)
	ts, err := externalaccount.NewTokenSource(t.Context(), w.wifConfig(w.supplier(), true, 600))
	if err != nil {
		t.Fatal(err)
	}
	_, err = ts.Token()
	want := map[string]any{"error": map[string]any{
		"code":    float64(403),
		"message": "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).",
		"status":  "PERMISSION_DENIED",
		"details": []any{map[string]any{
			"@type":    "type.googleapis.com/google.rpc.ErrorInfo",
			"reason":   "IAM_PERMISSION_DENIED",
			"domain":   "iam.googleapis.com",
			"metadata": map[string]any{"permission": "iam.serviceAccounts.getAccessToken"},
		}},
	}}
	if diff := cmp.Diff(want, googleError(t, err)); diff != "" {
		t.Errorf("error body (-want +got):\n%s", diff)
	}
}
