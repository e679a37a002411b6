package fakegoogle

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/pullsecret/pullsecret/internal/testing/fakejwt"
)

const scopeReadOnly = "https://www.googleapis.com/auth/devstorage.read_only"

func credentialsToken(ctx context.Context, keyJSON []byte, typ google.CredentialsType, params google.CredentialsParams) (*oauth2.Token, error) {
	creds, err := google.CredentialsFromJSONWithTypeAndParams(ctx, keyJSON, typ, params)
	if err != nil {
		return nil, err
	}
	return creds.TokenSource.Token()
}

func TestServiceAccountKeyWithRealClient(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil, nil)
	keyJSON, err := w.google.NewServiceAccountKey(testSA, TokenURL(w.url))
	if err != nil {
		t.Fatal(err)
	}
	var key map[string]string
	if err := json.Unmarshal(keyJSON, &key); err != nil {
		t.Fatal(err)
	}
	uniqueID := w.google.uniqueID(testSA)
	wantKey := map[string]string{
		"type":                        "service_account",
		"project_id":                  "my-project",
		"client_email":                testSA,
		"client_id":                   uniqueID,
		"auth_uri":                    "https://accounts.google.com/o/oauth2/auth",
		"token_uri":                   w.url + "/token",
		"auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
		"client_x509_cert_url":        w.url + "/robot/v1/metadata/x509/" + testSA,
		"universe_domain":             "googleapis.com",
	}
	for k, want := range wantKey {
		if key[k] != want {
			t.Errorf("key file %s = %q, want %q", k, key[k], want)
		}
	}
	if !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(key["private_key_id"]) {
		t.Errorf("private_key_id %q is not 40 hex digits", key["private_key_id"])
	}
	if !regexp.MustCompile(`^1[0-9]{20}$`).MatchString(uniqueID) {
		t.Errorf("client_id %q is not a 21-digit unique id", uniqueID)
	}
	if !strings.HasPrefix(key["private_key"], "-----BEGIN "+"PRIVATE KEY-----\n") {
		t.Errorf("private_key is not PKCS#8 PEM: %.40q", key["private_key"])
	}

	creds, err := google.CredentialsFromJSONWithTypeAndParams(t.Context(), withGoogleAudience(t, keyJSON), google.ServiceAccount,
		google.CredentialsParams{Scopes: []string{ScopeCloudPlatform, scopeReadOnly}})
	if err != nil {
		t.Fatal(err)
	}
	if creds.ProjectID != "my-project" {
		t.Errorf("ProjectID %q", creds.ProjectID)
	}
	tok, err := creds.TokenSource.Token()
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	if !approx(tok.Expiry, time.Now().Add(3599*time.Second)) || tok.TokenType != "Bearer" {
		t.Errorf("token expiry %v type %q", tok.Expiry, tok.TokenType)
	}

	reqs := w.google.RequestsTo(EndpointOAuth2Token)
	if len(reqs) != 1 {
		t.Fatalf("%d token requests, want 1", len(reqs))
	}
	if got := reqs[0].Form.Get("grant_type"); got != "urn:ietf:params:oauth:grant-type:jwt-bearer" || len(reqs[0].Form) != 2 {
		t.Errorf("form %v, want exactly grant_type=jwt-bearer and assertion", reqs[0].Form)
	}
	// The assertion on the wire must be signed by the key file's key.
	block, _ := pem.Decode([]byte(key["private_key"]))
	priv, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	header, claims, err := fakejwt.VerifyRS256(reqs[0].Form.Get("assertion"), &priv.(*rsa.PrivateKey).PublicKey)
	if err != nil {
		t.Fatalf("assertion does not verify under the key file's key: %v", err)
	}
	if header["kid"] != key["private_key_id"] || header["alg"] != "RS256" {
		t.Errorf("assertion header %v", header)
	}
	if claims["iss"] != testSA || claims["aud"] != AssertionAudience ||
		claims["scope"] != ScopeCloudPlatform+" "+scopeReadOnly {
		t.Errorf("assertion claims %v", claims)
	}

	info, ok := w.google.Lookup(tok.AccessToken)
	want := IssuedToken{Token: tok.AccessToken, Kind: KindJWTBearer, Subject: testSA, Email: testSA,
		Principal: "serviceAccount:" + testSA, Scopes: []string{ScopeCloudPlatform, scopeReadOnly}}
	if diff := cmp.Diff(want, info, cmpIgnoreTimes); !ok || diff != "" {
		t.Errorf("issued (-want +got):\n%s", diff)
	}
}

// withGoogleAudience adds the "audience" field x/oauth2 signs assertions for:
// the file posts to the fake, but Google accepts only AssertionAudience
// wherever an assertion is posted.
func withGoogleAudience(t *testing.T, keyJSON []byte) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(keyJSON, &m); err != nil {
		t.Fatal(err)
	}
	m["audience"] = AssertionAudience
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestServiceAccountKeyRejected(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil, nil)
	postedTo, err := w.google.NewServiceAccountKey(testSA, TokenURL(w.url))
	if err != nil {
		t.Fatal(err)
	}
	keyJSON := withGoogleAudience(t, postedTo)
	otherJSON, err := w.google.NewServiceAccountKey("other@my-project.iam.gserviceaccount.com", TokenURL(w.url))
	if err != nil {
		t.Fatal(err)
	}
	var otherKey map[string]any
	_ = json.Unmarshal(otherJSON, &otherKey)

	// A second fake whose clock is two hours ahead sees every fresh
	// assertion as already expired.
	late, err := New(Config{Now: func() time.Time { return time.Now().Add(2 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	lateW := &world{google: late, url: startServer(t, late)}
	lateKey, err := late.NewServiceAccountKey(testSA, TokenURL(lateW.url))
	if err != nil {
		t.Fatal(err)
	}
	lateJSON := withGoogleAudience(t, lateKey)

	edit := func(src []byte, f func(map[string]any)) []byte {
		var m map[string]any
		_ = json.Unmarshal(src, &m)
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	cloudPlatform := google.CredentialsParams{Scopes: []string{ScopeCloudPlatform}}
	tests := []struct {
		name       string
		key        []byte
		params     google.CredentialsParams
		wantStatus int
		want       map[string]any
	}{
		{
			name:       "signed with a different private key",
			params:     cloudPlatform,
			key:        edit(keyJSON, func(m map[string]any) { m["private_key"] = otherKey["private_key"] }),
			wantStatus: 400,
			want:       map[string]any{"error": "invalid_grant", "error_description": "Invalid JWT Signature."},
		},
		{
			name:       "deleted key id",
			params:     cloudPlatform,
			key:        edit(keyJSON, func(m map[string]any) { m["private_key_id"] = strings.Repeat("0", 40) }),
			wantStatus: 400,
			want:       map[string]any{"error": "invalid_grant", "error_description": "Invalid JWT Signature."},
		},
		{
			name:       "unknown account",
			params:     cloudPlatform,
			key:        edit(keyJSON, func(m map[string]any) { m["client_email"] = "ghost@my-project.iam.gserviceaccount.com" }),
			wantStatus: 400,
			want:       map[string]any{"error": "invalid_grant", "error_description": "Invalid grant: account not found"},
		},
		{
			name:       "assertion for another audience",
			params:     cloudPlatform,
			key:        edit(keyJSON, func(m map[string]any) { m["audience"] = "https://example.com/token" }),
			wantStatus: 400,
			want:       map[string]any{"error": "invalid_grant", "error_description": "Invalid JWT: Failed audience check. The right audience is https://oauth2.googleapis.com/token"},
		},
		{
			// x/oauth2 signs for token_uri when the file has no
			// "audience": posting to another host (Private Service
			// Connect) then fails on Google.
			name:       "audience is the URL posted to",
			params:     cloudPlatform,
			key:        postedTo,
			wantStatus: 400,
			want:       map[string]any{"error": "invalid_grant", "error_description": "Invalid JWT: Failed audience check. The right audience is https://oauth2.googleapis.com/token"},
		},
		{
			name:       "no scopes",
			key:        keyJSON,
			params:     google.CredentialsParams{},
			wantStatus: 400,
			want:       map[string]any{"error": "invalid_scope", "error_description": "Invalid OAuth scope or ID token audience provided."},
		},
		{
			name:       "domain-wide delegation not granted",
			key:        keyJSON,
			params:     google.CredentialsParams{Scopes: []string{ScopeCloudPlatform}, Subject: "user@example.com"},
			wantStatus: 401,
			want: map[string]any{"error": "unauthorized_client",
				"error_description": "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested."},
		},
		{
			name:       "clock skew",
			params:     cloudPlatform,
			key:        lateJSON,
			wantStatus: 400,
			want:       map[string]any{"error": "invalid_grant", "error_description": msgShortLived},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := credentialsToken(t.Context(), tc.key, google.ServiceAccount, tc.params)
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) {
				t.Fatalf("error %v (%T), want *oauth2.RetrieveError", err, err)
			}
			if re.Response.StatusCode != tc.wantStatus {
				t.Errorf("status %d, want %d", re.Response.StatusCode, tc.wantStatus)
			}
			var got map[string]any
			if err := json.Unmarshal(re.Body, &got); err != nil {
				t.Fatalf("body %s: %v", re.Body, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("error body (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAuthorizedUserWithRealClient(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil, nil)
	file, err := w.google.NewAuthorizedUser("dev@example.com", TokenURL(w.url))
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]string
	_ = json.Unmarshal(file, &f)
	if f["type"] != "authorized_user" || !strings.HasSuffix(f["client_id"], ".apps.googleusercontent.com") || f["refresh_token"] == "" {
		t.Errorf("credentials file %s", file)
	}
	params := google.CredentialsParams{Scopes: []string{ScopeCloudPlatform}}
	tok, err := credentialsToken(t.Context(), file, google.AuthorizedUser, params)
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	// x/oauth2 does not send scope on refresh, so the token carries the
	// whole grant, as on Google.
	info, _ := w.google.Lookup(tok.AccessToken)
	if info.Kind != KindRefresh || info.Email != "dev@example.com" || !cmp.Equal(info.Scopes, gcloudADCScopes) {
		t.Errorf("issued %+v", info)
	}
	form := w.google.RequestsTo(EndpointOAuth2Token)[0].Form
	wantForm := url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {f["refresh_token"]},
		"client_id": {f["client_id"]}, "client_secret": {f["client_secret"]},
	}
	if diff := cmp.Diff(wantForm, form); diff != "" {
		t.Errorf("refresh form (-want +got):\n%s", diff)
	}

	t.Run("wrong secret", func(t *testing.T) {
		bad := []byte(strings.Replace(string(file), f["client_secret"], "GOCSPX-wrong", 1))
		_, err := credentialsToken(t.Context(), bad, google.AuthorizedUser, params)
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_client" || re.Response.StatusCode != 401 {
			t.Errorf("error %v", err)
		}
	})
	t.Run("narrowed and widened scope", func(t *testing.T) {
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {f["refresh_token"]},
			"client_id": {f["client_id"]}, "client_secret": {f["client_secret"]}}
		form.Set("scope", ScopeCloudPlatform)
		status, body := call(t, http.MethodPost, TokenURL(w.url), formHeader(), form.Encode())
		if status != http.StatusOK || body["scope"] != ScopeCloudPlatform {
			t.Errorf("narrowed: %d %v", status, body)
		}
		form.Set("scope", ScopeIAM)
		status, body = call(t, http.MethodPost, TokenURL(w.url), formHeader(), form.Encode())
		if status != http.StatusBadRequest || body["error"] != "invalid_scope" {
			t.Errorf("widened: %d %v", status, body)
		}
	})
	t.Run("revoked refresh token", func(t *testing.T) {
		status, _ := call(t, http.MethodPost, w.url+"/revoke", formHeader(), url.Values{"token": {f["refresh_token"]}}.Encode())
		if status != http.StatusOK {
			t.Fatalf("revoke status %d", status)
		}
		_, err := credentialsToken(t.Context(), file, google.AuthorizedUser, params)
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" || re.ErrorDescription != "Token has been expired or revoked." {
			t.Errorf("error %v", err)
		}
	})
}

func TestTokenEndpointGrantTypes(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil, nil)
	tests := []struct {
		name      string
		header    http.Header
		body      string
		wantError string
	}{
		{
			name:      "client credentials",
			header:    formHeader(),
			body:      "grant_type=client_credentials",
			wantError: "unsupported_grant_type",
		},
		{
			name:      "no grant type",
			header:    formHeader(),
			body:      "assertion=x",
			wantError: "unsupported_grant_type",
		},
		{
			name:      "jwt-bearer without assertion",
			header:    formHeader(),
			body:      "grant_type=" + url.QueryEscape(GrantTypeJWTBearer),
			wantError: "invalid_request",
		},
		{
			name:      "jwt-bearer with garbage",
			header:    formHeader(),
			body:      "grant_type=" + url.QueryEscape(GrantTypeJWTBearer) + "&assertion=abc",
			wantError: "invalid_grant",
		},
		{
			name:      "JSON body",
			header:    http.Header{"Content-Type": {"application/json"}},
			body:      `{"grant_type":"refresh_token"}`,
			wantError: "invalid_request",
		},
		{
			name:      "unknown refresh token",
			header:    formHeader(),
			body:      "grant_type=refresh_token&refresh_token=x&client_id=y",
			wantError: "invalid_client",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			status, body := call(t, http.MethodPost, TokenURL(w.url), tc.header, tc.body)
			if status/100 != 4 || body["error"] != tc.wantError {
				t.Errorf("got %d %v, want error %s", status, body, tc.wantError)
			}
		})
	}
}

var cmpIgnoreTimes = cmp.FilterPath(func(p cmp.Path) bool {
	s := p.String()
	return s == "IssuedAt" || s == "Expiry"
}, cmp.Ignore())
