package fakegoogle

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pullsecret/pullsecret/internal/testing/fakejwt"
)

// STS's rules for OIDC subject tokens and uploaded keys
// (https://cloud.google.com/iam/docs/workload-identity-federation-with-other-providers#oidc):
// a kid, iat in the past, at most 48 hours between iat and exp, an https
// issuer, JWKS keys with only the documented members, and ES256 as well as
// RS256.
func TestSubjectTokenRules(t *testing.T) {
	t.Parallel()
	const provider = "projects/42/locations/global/workloadIdentityPools/k8s/providers/p"
	const issuer = "https://issuer.example"
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := fakejwt.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	ecJWK, err := fakejwt.NewECJWK("ec1", &ec.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := json.Marshal(fakejwt.JWKS{Keys: []fakejwt.JWK{ecJWK, fakejwt.NewJWK("rsa1", &rsaKey.PublicKey)}})
	g, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.AddProvider(Provider{Name: provider, IssuerURI: issuer, JWKSJSON: jwks,
		AttributeMapping: map[string]string{"google.subject": "assertion.sub"}}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(srv.Close)
	now := time.Now()
	claims := func(edit func(map[string]any)) map[string]any {
		c := map[string]any{"iss": issuer, "sub": "system:serviceaccount:ns:sa", "aud": []string{OIDCAudience(provider)},
			"iat": now.Add(-time.Minute).Unix(), "exp": now.Add(10 * time.Minute).Unix()}
		if edit != nil {
			edit(c)
		}
		return c
	}
	exchange := func(tok string) (int, string) {
		form := url.Values{"grant_type": {GrantTypeTokenExchange}, "audience": {STSAudience(provider)}, "scope": {ScopeCloudPlatform},
			"requested_token_type": {TokenTypeAccessToken}, "subject_token": {tok}, "subject_token_type": {TokenTypeJWT}}
		resp, err := http.Post(STSTokenURL(srv.URL), "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body["error_description"]
	}
	es := func(c map[string]any) string {
		s, err := fakejwt.SignES256(ec, "ec1", c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	rs := func(header map[string]any, c map[string]any) string {
		s, err := fakejwt.SignWithHeader(rsaKey, header, c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	cases := []struct {
		name, token, want string
	}{
		{"ES256", es(claims(nil)), ""},
		{"RS256", rs(map[string]any{"alg": "RS256", "kid": "rsa1"}, claims(nil)), ""},
		{"no kid", rs(map[string]any{"alg": "RS256"}, claims(nil)), "no kid"},
		{"iat a minute ahead", es(claims(func(c map[string]any) { c["iat"] = now.Add(time.Minute).Unix() })), "in the future"},
		{"valid 49 hours", es(claims(func(c map[string]any) { c["exp"] = now.Add(48 * time.Hour).Unix() })), "at most 48 hours"},
		{"ES256 header on the RSA key", rs(map[string]any{"alg": "ES256", "kid": "rsa1"}, claims(nil)), "Invalid JWT signature"},
	}
	for _, tc := range cases {
		status, desc := exchange(tc.token)
		if tc.want == "" && status != http.StatusOK {
			t.Errorf("%s: HTTP %d %q, want 200", tc.name, status, desc)
		}
		if tc.want != "" && (status != http.StatusBadRequest || !strings.Contains(desc, tc.want)) {
			t.Errorf("%s: HTTP %d %q, want 400 containing %q", tc.name, status, desc, tc.want)
		}
	}

	// Refused when the provider is created.
	withX5C := strings.Replace(string(jwks), `"kid":"ec1"`, `"kid":"ec1","x5c":["MIIB"]`, 1)
	for name, p := range map[string]Provider{
		"http issuer":         {Name: provider, IssuerURI: "http://issuer.example", JWKSJSON: jwks},
		"undocumented member": {Name: provider, IssuerURI: issuer, JWKSJSON: []byte(withX5C)},
	} {
		if err := g.AddProvider(p); err == nil {
			t.Errorf("%s: provider accepted", name)
		}
	}
}
