package fakegithub

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/sethvargo/go-githubactions"

	"github.com/pullsecret/pullsecret/internal/testing/check"
	"github.com/pullsecret/pullsecret/internal/testing/fakejwt"
)

func newServer(t *testing.T, cfg OIDCConfig) (*OIDC, *httptest.Server) {
	t.Helper()
	o, err := NewOIDC(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(o.Handler())
	t.Cleanup(srv.Close)
	return o, srv
}

// action builds a go-githubactions Action whose environment is exactly env,
// as the runner would present it, without touching the process environment.
func action(env map[string]string) *githubactions.Action {
	return githubactions.New(githubactions.WithGetenv(check.Getenv(env)))
}

func TestGetIDTokenWithRealClient(t *testing.T) {
	t.Parallel()
	o, srv := newServer(t, OIDCConfig{})
	tests := []struct {
		name     string
		audience string
		wantAud  string
	}{
		{
			name:     "explicit audience",
			audience: "https://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/gh/providers/gh",
			wantAud:  "https://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/gh/providers/gh",
		},
		{
			name:     "audience with query characters",
			audience: "aud?x=1&y=2",
			wantAud:  "aud?x=1&y=2",
		},
		{
			name:    "default audience",
			wantAud: "https://github.com/octo-org",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tok, err := action(o.Env(srv.URL)).GetIDToken(t.Context(), tc.audience)
			if err != nil {
				t.Fatalf("GetIDToken: %v", err)
			}
			_, claims, err := fakejwt.VerifyRS256(tok, o.PublicKey())
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if claims["aud"] != tc.wantAud {
				t.Errorf("aud = %v, want %v", claims["aud"], tc.wantAud)
			}
		})
	}
}

func TestEnv(t *testing.T) {
	t.Parallel()
	o, err := NewOIDC(OIDCConfig{})
	if err != nil {
		t.Fatal(err)
	}
	env := o.Env("http://127.0.0.1:1234/")
	if got, want := env[EnvRequestURL], "http://127.0.0.1:1234/_apis/idtoken?api-version=2.0"; got != want {
		t.Errorf("%s = %q, want %q", EnvRequestURL, got, want)
	}
	if got := env[EnvRequestToken]; got != o.RequestToken() || len(got) < 40 {
		t.Errorf("%s = %q, want the %d+ char request token", EnvRequestToken, got, 40)
	}
	o2, err := NewOIDC(OIDCConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if o2.RequestToken() == o.RequestToken() {
		t.Error("two issuers share a request token")
	}
}

func TestIDTokenEndpointErrors(t *testing.T) {
	t.Parallel()
	o, srv := newServer(t, OIDCConfig{})
	tests := []struct {
		name       string
		path       string
		auth       string
		wantStatus int
		wantInBody string
	}{
		{
			name:       "ok with lowercase scheme",
			path:       IDTokenPath + "?api-version=2.0",
			auth:       "bearer " + o.RequestToken(),
			wantStatus: http.StatusOK,
			wantInBody: `"value":"ey`,
		},
		{
			name:       "ok with upper-case scheme",
			path:       IDTokenPath + "?api-version=2.0&audience=x",
			auth:       "BEARER " + o.RequestToken(),
			wantStatus: http.StatusOK,
			wantInBody: `"value":"ey`,
		},
		{
			name:       "no authorization",
			path:       IDTokenPath + "?api-version=2.0",
			wantStatus: http.StatusUnauthorized,
			wantInBody: "TF400813",
		},
		{
			name:       "wrong token",
			path:       IDTokenPath + "?api-version=2.0",
			auth:       "Bearer nope",
			wantStatus: http.StatusUnauthorized,
			wantInBody: "TF400813",
		},
		{
			name:       "basic scheme",
			path:       IDTokenPath + "?api-version=2.0",
			auth:       "Basic " + o.RequestToken(),
			wantStatus: http.StatusUnauthorized,
			wantInBody: "UnauthorizedRequestException",
		},
		{
			name:       "token prefix only",
			path:       IDTokenPath + "?api-version=2.0",
			auth:       "Bearer " + o.RequestToken()[:10],
			wantStatus: http.StatusUnauthorized,
			wantInBody: "TF400813",
		},
		{
			name:       "missing api-version",
			path:       IDTokenPath + "?audience=x",
			auth:       "Bearer " + o.RequestToken(),
			wantStatus: http.StatusBadRequest,
			wantInBody: "api-version",
		},
		{
			name:       "unknown path",
			path:       "/_apis/other",
			auth:       "Bearer " + o.RequestToken(),
			wantStatus: http.StatusNotFound,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(http.MethodGet, srv.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			status, ctype, body := do(t, req)
			if status != tc.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", status, tc.wantStatus, body)
			}
			if !strings.Contains(body, tc.wantInBody) {
				t.Errorf("body %s does not contain %q", body, tc.wantInBody)
			}
			if status != http.StatusNotFound && ctype != "application/json" {
				t.Errorf("content type = %q, want application/json", ctype)
			}
		})
	}

	t.Run("POST not allowed", func(t *testing.T) {
		t.Parallel()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+IDTokenPath+"?api-version=2.0", nil)
		req.Header.Set("Authorization", "Bearer "+o.RequestToken())
		if status, _, _ := do(t, req); status != http.StatusMethodNotAllowed {
			t.Errorf("status = %d, want 405", status)
		}
	})
}

func TestUnauthorizedSurfacesInRealClient(t *testing.T) {
	t.Parallel()
	o, srv := newServer(t, OIDCConfig{})
	env := o.Env(srv.URL)
	env[EnvRequestToken] = "stale-token"
	_, err := action(env).GetIDToken(t.Context(), "aud")
	var rf *githubactions.RequestFailedError
	if !errors.As(err, &rf) {
		t.Fatalf("error = %v (%T), want *RequestFailedError", err, err)
	}
	if rf.StatusCode != http.StatusUnauthorized || !strings.Contains(rf.Body, "not authorized") {
		t.Errorf("got %d %s", rf.StatusCode, rf.Body)
	}
}

func TestDisableIDToken(t *testing.T) {
	t.Parallel()
	o, srv := newServer(t, OIDCConfig{})
	stale := o.Env(srv.URL) // captured while the permission was granted
	o.DisableIDToken(true)

	if env := o.Env(srv.URL); len(env) != 0 {
		t.Errorf("Env with id-token disabled = %v, want empty", env)
	}
	_, err := action(o.Env(srv.URL)).GetIDToken(t.Context(), "aud")
	var missing *githubactions.EnvMissingError
	if !errors.As(err, &missing) || missing.Name != EnvRequestURL {
		t.Errorf("GetIDToken error = %v, want EnvMissingError for %s", err, EnvRequestURL)
	}
	_, err = action(stale).GetIDToken(t.Context(), "aud")
	var rf *githubactions.RequestFailedError
	if !errors.As(err, &rf) || rf.StatusCode != http.StatusForbidden {
		t.Errorf("GetIDToken with stale env error = %v, want 403", err)
	}

	o.DisableIDToken(false)
	if _, err := action(o.Env(srv.URL)).GetIDToken(t.Context(), "aud"); err != nil {
		t.Errorf("re-enabled: %v", err)
	}
}

func TestDiscoveryAndJWKS(t *testing.T) {
	t.Parallel()
	o, srv := newServer(t, OIDCConfig{})
	o.SetIssuer(srv.URL + "/")

	var disc struct {
		Issuer   string   `json:"issuer"`
		JWKSURI  string   `json:"jwks_uri"`
		Algs     []string `json:"id_token_signing_alg_values_supported"`
		Subjects []string `json:"subject_types_supported"`
		Claims   []string `json:"claims_supported"`
	}
	getJSON(t, srv.URL+"/.well-known/openid-configuration", &disc)
	if disc.Issuer != srv.URL {
		t.Errorf("issuer = %q, want %q (trailing slash trimmed)", disc.Issuer, srv.URL)
	}
	if disc.JWKSURI != srv.URL+"/.well-known/jwks" {
		t.Errorf("jwks_uri = %q", disc.JWKSURI)
	}
	if len(disc.Algs) != 1 || disc.Algs[0] != "RS256" || len(disc.Subjects) == 0 {
		t.Errorf("algs %v subjects %v", disc.Algs, disc.Subjects)
	}
	for _, c := range []string{"repository", "repository_owner", "job_workflow_ref", "runner_environment", "sub", "aud"} {
		if !slices.Contains(disc.Claims, c) {
			t.Errorf("claims_supported lacks %q", c)
		}
	}

	var set fakejwt.JWKS
	getJSON(t, disc.JWKSURI, &set)
	if len(set.Keys) != 1 {
		t.Fatalf("JWKS has %d keys, want 1", len(set.Keys))
	}
	k := set.Keys[0]
	if k.Kty != "RSA" || k.Alg != "RS256" || k.Use != "sig" || k.Kid != o.KeyID() || k.Kid == "" {
		t.Errorf("JWK = %+v", k)
	}
	pub, err := k.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	// A relying party that discovered the key this way must accept a token
	// fetched from the token endpoint, and see the configured issuer in it.
	tok, err := action(o.Env(srv.URL)).GetIDToken(t.Context(), "rp")
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := fakejwt.Parse(tok)
	if err != nil {
		t.Fatal(err)
	}
	if parsed.KeyID() != k.Kid {
		t.Errorf("token kid %q not in JWKS (%q)", parsed.KeyID(), k.Kid)
	}
	if err := parsed.Verify(pub); err != nil {
		t.Errorf("token does not verify under the published key: %v", err)
	}
	if parsed.Claims["iss"] != srv.URL {
		t.Errorf("iss = %v, want %s", parsed.Claims["iss"], srv.URL)
	}
}

func TestStart(t *testing.T) {
	t.Parallel()
	o, err := NewOIDC(OIDCConfig{})
	if err != nil {
		t.Fatal(err)
	}
	base, stop, err := o.Start("0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Errorf("base URL %q should name 127.0.0.1 for an unspecified listen address", base)
	}
	if _, err := action(o.Env(base)).GetIDToken(t.Context(), "aud"); err != nil {
		t.Fatalf("GetIDToken against started server: %v", err)
	}
	stop()
	if _, err := action(o.Env(base)).GetIDToken(t.Context(), "aud"); err == nil {
		t.Error("GetIDToken succeeded after stop")
	}
}

func do(t *testing.T, req *http.Request) (status int, mediaType, body string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return resp.StatusCode, mt, string(b)
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}
