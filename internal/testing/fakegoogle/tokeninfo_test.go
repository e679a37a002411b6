package fakegoogle

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestTokenInfo(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	w := newWorld(t, nil, func(c *Config) { c.Now = clock.Now })
	uid := w.google.uniqueID(testSA)
	sa, err := w.google.mint(IssuedToken{Kind: KindJWTBearer, Email: testSA, Subject: testSA,
		Principal: ServiceAccountMember(testSA), Scopes: []string{ScopeCloudPlatform, scopeReadOnly}}, accessTokenLifetime)
	if err != nil {
		t.Fatal(err)
	}
	withEmail, err := w.google.mint(IssuedToken{Kind: KindJWTBearer, Email: testSA, Subject: testSA,
		Principal: ServiceAccountMember(testSA), Scopes: []string{scopeReadOnly, ScopeUserinfoEmail}}, accessTokenLifetime)
	if err != nil {
		t.Fatal(err)
	}
	fed := w.federatedToken(t)
	exp := strconv.FormatInt(sa.Expiry.Unix(), 10)

	query := func(t *testing.T, method, path, token string) (int, map[string]any) {
		t.Helper()
		if method == http.MethodPost {
			return call(t, method, w.url+path, formHeader(), url.Values{"access_token": {token}}.Encode())
		}
		return call(t, method, w.url+path+"?access_token="+url.QueryEscape(token), nil, "")
	}

	// Without the userinfo.email scope the account shows only as its
	// unique id.
	want := map[string]any{
		"azp": uid, "aud": uid, "sub": uid, "scope": ScopeCloudPlatform + " " + scopeReadOnly,
		"exp": exp, "expires_in": "3599", "access_type": "online",
	}
	for _, tc := range []struct{ method, path string }{
		{
			method: http.MethodGet,
			path:   "/tokeninfo",
		}, {
			method: http.MethodPost,
			path:   "/tokeninfo",
		}, {
			method: http.MethodGet,
			path:   "/oauth2/v3/tokeninfo",
		},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			t.Parallel()

			status, body := query(t, tc.method, tc.path, sa.Token)
			if status != http.StatusOK {
				t.Fatalf("%s %s: %d %v", tc.method, tc.path, status, body)
			}
			if diff := cmp.Diff(want, body); diff != "" {
				t.Errorf("%s %s (-want +got):\n%s", tc.method, tc.path, diff)
			}

		})
	}

	wantEmail := map[string]any{
		"azp": uid, "aud": uid, "sub": uid, "scope": scopeReadOnly + " " + ScopeUserinfoEmail,
		"exp": strconv.FormatInt(withEmail.Expiry.Unix(), 10), "expires_in": "3599", "access_type": "online",
		"email": testSA, "email_verified": "true",
	}
	if _, body := query(t, http.MethodGet, "/tokeninfo", withEmail.Token); !cmp.Equal(wantEmail, body) {
		t.Errorf("token with userinfo.email (-want +got):\n%s", cmp.Diff(wantEmail, body))
	}

	status, body := query(t, http.MethodGet, "/tokeninfo", fed)
	if status != http.StatusOK || body["email"] != nil || body["scope"] != ScopeCloudPlatform {
		t.Errorf("federated token info: %d %v", status, body)
	}

	invalid := map[string]any{"error": "invalid_token", "error_description": "Invalid Value"}
	expectInvalid := func(t *testing.T, token string) {
		t.Helper()
		status, body := query(t, http.MethodGet, "/tokeninfo", token)
		if status != http.StatusBadRequest || !cmp.Equal(invalid, body) {
			t.Errorf("got %d %v, want 400 %v", status, body, invalid)
		}
	}
	expectInvalid(t, "")
	expectInvalid(t, "ya29.unknown")

	// Time passes: expires_in counts down, then the token is dead.
	clock.Advance(3000 * time.Second)
	if _, body := query(t, http.MethodGet, "/tokeninfo", sa.Token); body["expires_in"] != "599" {
		t.Errorf("expires_in after 3000s = %v, want 599", body["expires_in"])
	}
	clock.Advance(599 * time.Second)
	expectInvalid(t, sa.Token)

	// Revocation takes effect immediately, through the method or /revoke.
	clock.Advance(-3599 * time.Second)
	fresh, err := w.google.mint(IssuedToken{Kind: KindJWTBearer, Email: testSA, Scopes: []string{ScopeCloudPlatform}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := query(t, http.MethodGet, "/tokeninfo", fresh.Token); status != http.StatusOK {
		t.Fatalf("fresh token status %d", status)
	}
	if status, _ := call(t, http.MethodPost, w.url+"/revoke?token="+url.QueryEscape(fresh.Token), nil, ""); status != http.StatusOK {
		t.Errorf("revoke status %d", status)
	}
	expectInvalid(t, fresh.Token)
	if status, body := call(t, http.MethodPost, w.url+"/revoke?token=nope", nil, ""); status != http.StatusBadRequest || body["error"] != "invalid_token" {
		t.Errorf("revoke unknown: %d %v", status, body)
	}

	if !w.google.RevokeToken(fed) || w.google.RevokeToken("nope") {
		t.Error("RevokeToken reported the wrong result")
	}
	expectInvalid(t, fed)
	if got, _ := w.google.Lookup(fed); !got.Revoked {
		t.Error("Lookup does not report the revocation")
	}
}

func TestRevokeAll(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil, nil)
	a, b := w.federatedToken(t), w.federatedToken(t)
	if a == b {
		t.Fatal("two exchanges returned the same token")
	}
	w.google.RevokeAll()
	for _, tok := range w.google.Issued() {
		if tok.Active(time.Now()) {
			t.Errorf("token %s still active after RevokeAll", tok.Token)
		}
	}
	if len(w.google.Issued()) != 2 {
		t.Errorf("Issued has %d tokens, want 2", len(w.google.Issued()))
	}
}
