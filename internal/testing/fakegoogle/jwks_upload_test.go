package fakegoogle

import (
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pullsecret/pullsecret/internal/testing/fakejwt"
)

// A provider created with an uploaded JWKS (gcloud --jwk-json-path) trusts
// exactly those keys and never contacts the issuer, whose URL here is not
// even reachable; a JWKS without an RSA key is refused at creation.
func TestProviderWithUploadedJWKS(t *testing.T) {
	t.Parallel()
	const provider = "projects/42/locations/global/workloadIdentityPools/k8s/providers/kind"
	const issuer = "https://kubernetes.default.svc.cluster.local"
	trusted, err := fakejwt.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	other, err := fakejwt.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := json.Marshal(fakejwt.JWKS{Keys: []fakejwt.JWK{fakejwt.NewJWK("k1", &trusted.PublicKey)}})
	g, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.AddProvider(Provider{Name: provider, IssuerURI: issuer, JWKSJSON: []byte(`{"keys":[]}`)}); err == nil {
		t.Error("a JWKS without keys was accepted")
	}
	if err := g.AddProvider(Provider{Name: provider, IssuerURI: issuer, JWKSJSON: jwks,
		AttributeMapping: map[string]string{"google.subject": "assertion.sub"}}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g.Handler())
	defer srv.Close()
	exchange := func(key *rsa.PrivateKey, kid string) int {
		now := time.Now()
		tok, err := fakejwt.Sign(key, kid, map[string]any{"iss": issuer, "sub": "system:serviceaccount:ns:sa",
			"aud": []string{OIDCAudience(provider)}, "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()})
		if err != nil {
			t.Fatal(err)
		}
		form := url.Values{"grant_type": {GrantTypeTokenExchange}, "audience": {STSAudience(provider)}, "scope": {ScopeCloudPlatform},
			"requested_token_type": {TokenTypeAccessToken}, "subject_token": {tok}, "subject_token_type": {TokenTypeJWT}}
		resp, err := http.Post(STSTokenURL(srv.URL), "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := exchange(trusted, "k1"); got != http.StatusOK {
		t.Errorf("token signed by the uploaded key: HTTP %d, want 200", got)
	}
	if got := exchange(other, "k1"); got != http.StatusBadRequest {
		t.Errorf("token signed by another key: HTTP %d, want 400", got)
	}
}
