package fakegoogle

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pullsecret/pullsecret/internal/testing/fakegithub"
)

// TestGenerateAccessToken covers iamcredentials' authentication,
// authorisation and validation paths with raw requests.
func TestGenerateAccessToken(t *testing.T) {
	t.Parallel()
	const (
		other    = "other@my-project.iam.gserviceaccount.com"
		deployer = "deployer@my-project.iam.gserviceaccount.com"
		hop      = "hop@my-project.iam.gserviceaccount.com"
		noKeys   = "nobody@my-project.iam.gserviceaccount.com"
		self     = "self@my-project.iam.gserviceaccount.com"
	)
	// One frozen clock for both fakes: GitHub's iat must not pass
	// Google's "now" (it did on a busy machine when the second turned
	// between the two clocks' reads, "ID Token issued at … is in the future").
	clock := time.Now()
	gh, err := fakegithub.NewOIDC(fakegithub.OIDCConfig{Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, gh, func(c *Config) {
		c.Now = func() time.Time { return clock }
		c.ServiceAccounts = append(c.ServiceAccounts,
			ServiceAccount{Email: other},
			// deployer may be impersonated by testSA directly, and by hop,
			// which testSA may impersonate: a delegation chain.
			ServiceAccount{Email: deployer, Impersonators: []string{ServiceAccountMember(testSA), ServiceAccountMember(hop)}},
			ServiceAccount{Email: hop, Impersonators: []string{ServiceAccountMember(testSA)}},
			ServiceAccount{Email: noKeys, UniqueID: "100000000000000000042", Impersonators: []string{PoolPrincipalSet(testProvider)}},
			// self holds roles/iam.serviceAccountTokenCreator on itself.
			ServiceAccount{Email: self, Impersonators: []string{ServiceAccountMember(self)}},
		)
	})
	fed := w.federatedToken(t)
	saTok, err := w.google.mint(IssuedToken{Kind: KindJWTBearer, Email: testSA, Subject: testSA, Principal: ServiceAccountMember(testSA), Scopes: []string{ScopeCloudPlatform}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	selfTok, err := w.google.mint(IssuedToken{Kind: KindMetadata, Email: self, Subject: self, Principal: ServiceAccountMember(self), Scopes: []string{ScopeCloudPlatform}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	narrow, err := w.google.mint(IssuedToken{Kind: KindJWTBearer, Email: testSA, Subject: testSA, Principal: ServiceAccountMember(testSA), Scopes: []string{"https://www.googleapis.com/auth/devstorage.read_only"}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	revoked, err := w.google.mint(IssuedToken{Kind: KindJWTBearer, Email: testSA, Principal: ServiceAccountMember(testSA), Scopes: []string{ScopeCloudPlatform}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	w.google.RevokeToken(revoked.Token)
	expired, err := w.google.mint(IssuedToken{Kind: KindJWTBearer, Email: testSA, Principal: ServiceAccountMember(testSA), Scopes: []string{ScopeCloudPlatform}}, -time.Second)
	if err != nil {
		t.Fatal(err)
	}

	const body = `{"scope":["https://www.googleapis.com/auth/cloud-platform"],"lifetime":"1800s"}`
	tests := []struct {
		name           string
		url            string
		header         http.Header
		body           string
		wantStatus     int
		wantStatusName string
		wantMsg        string
	}{
		{
			name:       "federated principal in principalSet",
			url:        GenerateAccessTokenURL(w.url, testSA),
			header:     bearerJSON(fed),
			body:       body,
			wantStatus: 200,
		},
		{
			name:       "pool-wide principalSet, account by unique id",
			url:        GenerateAccessTokenURL(w.url, "100000000000000000042"),
			header:     bearerJSON(fed),
			body:       body,
			wantStatus: 200,
		},
		// IAM has no implicit self-grant: an account needs
		// roles/iam.serviceAccountTokenCreator on itself
		// (https://cloud.google.com/iam/docs/service-account-permissions#token-creator-role).
		{
			name:       "self impersonation granted",
			url:        GenerateAccessTokenURL(w.url, self),
			header:     bearerJSON(selfTok.Token),
			body:       body,
			wantStatus: 200,
		},
		{
			name:           "self impersonation without a grant",
			url:            GenerateAccessTokenURL(w.url, testSA),
			header:         bearerJSON(saTok.Token),
			body:           body,
			wantStatus:     403,
			wantStatusName: "PERMISSION_DENIED",
			wantMsg:        "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).",
		},
		{
			name:       "service account granted token creator",
			url:        GenerateAccessTokenURL(w.url, deployer),
			header:     bearerJSON(saTok.Token),
			body:       body,
			wantStatus: 200,
		},
		{
			name:       "delegation chain",
			url:        GenerateAccessTokenURL(w.url, deployer),
			header:     bearerJSON(saTok.Token),
			body:       `{"delegates":["projects/-/serviceAccounts/` + hop + `"],"scope":["x"]}`,
			wantStatus: 200,
		},
		{
			name:       "lowercase bearer scheme",
			url:        GenerateAccessTokenURL(w.url, testSA),
			header:     http.Header{"Authorization": {"bearer " + fed}, "Content-Type": {"application/json"}},
			body:       body,
			wantStatus: 200,
		},
		{
			name:           "no authorization",
			url:            GenerateAccessTokenURL(w.url, testSA),
			header:         http.Header{"Content-Type": {"application/json"}},
			body:           body,
			wantStatus:     401,
			wantStatusName: "UNAUTHENTICATED",
			wantMsg:        "Request is missing required authentication credential.",
		},
		{
			name:           "unknown token",
			url:            GenerateAccessTokenURL(w.url, testSA),
			header:         bearerJSON("ya29.bogus"),
			body:           body,
			wantStatus:     401,
			wantStatusName: "UNAUTHENTICATED",
			wantMsg:        "Request had invalid authentication credentials. Expected OAuth 2 access token",
		},
		{
			name:           "revoked token",
			url:            GenerateAccessTokenURL(w.url, testSA),
			header:         bearerJSON(revoked.Token),
			body:           body,
			wantStatus:     401,
			wantStatusName: "UNAUTHENTICATED",
			wantMsg:        "Request had invalid authentication credentials.",
		},
		{
			name:           "expired token",
			url:            GenerateAccessTokenURL(w.url, testSA),
			header:         bearerJSON(expired.Token),
			body:           body,
			wantStatus:     401,
			wantStatusName: "UNAUTHENTICATED",
			wantMsg:        "Request had invalid authentication credentials.",
		},
		{
			name:           "token without cloud-platform scope",
			url:            GenerateAccessTokenURL(w.url, testSA),
			header:         bearerJSON(narrow.Token),
			body:           body,
			wantStatus:     403,
			wantStatusName: "PERMISSION_DENIED",
			wantMsg:        "Request had insufficient authentication scopes.",
		},
		{
			name:           "federated principal not granted",
			url:            GenerateAccessTokenURL(w.url, other),
			header:         bearerJSON(fed),
			body:           body,
			wantStatus:     403,
			wantStatusName: "PERMISSION_DENIED",
			wantMsg:        "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).",
		},
		{
			name:           "service account not granted",
			url:            GenerateAccessTokenURL(w.url, other),
			header:         bearerJSON(saTok.Token),
			body:           body,
			wantStatus:     403,
			wantStatusName: "PERMISSION_DENIED",
			wantMsg:        "iam.serviceAccounts.getAccessToken",
		},
		{
			name:           "delegate not granted",
			url:            GenerateAccessTokenURL(w.url, deployer),
			header:         bearerJSON(fed),
			body:           `{"delegates":["projects/-/serviceAccounts/` + other + `"],"scope":["x"]}`,
			wantStatus:     403,
			wantStatusName: "PERMISSION_DENIED",
			wantMsg:        "denied",
		},
		{
			name:           "unknown account",
			url:            GenerateAccessTokenURL(w.url, "ghost@my-project.iam.gserviceaccount.com"),
			header:         bearerJSON(fed),
			body:           body,
			wantStatus:     404,
			wantStatusName: "NOT_FOUND",
			wantMsg:        "Gaia id not found for email ghost@my-project.iam.gserviceaccount.com",
		},
		{
			name:           "empty scope",
			url:            GenerateAccessTokenURL(w.url, testSA),
			header:         bearerJSON(fed),
			body:           `{"lifetime":"60s"}`,
			wantStatus:     400,
			wantStatusName: "INVALID_ARGUMENT",
			wantMsg:        "Scope required.",
		},
		{
			name:           "lifetime without unit",
			url:            GenerateAccessTokenURL(w.url, testSA),
			header:         bearerJSON(fed),
			body:           `{"scope":["x"],"lifetime":"3600"}`,
			wantStatus:     400,
			wantStatusName: "INVALID_ARGUMENT",
			wantMsg:        "Illegal duration format",
		},
		{
			name:           "lifetime one second too long",
			url:            GenerateAccessTokenURL(w.url, testSA),
			header:         bearerJSON(fed),
			body:           `{"scope":["x"],"lifetime":"3601s"}`,
			wantStatus:     400,
			wantStatusName: "INVALID_ARGUMENT",
			wantMsg:        "Requested lifetime exceeds the maximum allowed value of 3600s",
		},
		{
			name:           "lifetime zero",
			url:            GenerateAccessTokenURL(w.url, testSA),
			header:         bearerJSON(fed),
			body:           `{"scope":["x"],"lifetime":"0s"}`,
			wantStatus:     400,
			wantStatusName: "INVALID_ARGUMENT",
			wantMsg:        "positive",
		},
		{
			name:           "body not JSON",
			url:            GenerateAccessTokenURL(w.url, testSA),
			header:         bearerJSON(fed),
			body:           `scope=x`,
			wantStatus:     400,
			wantStatusName: "INVALID_ARGUMENT",
			wantMsg:        "Invalid JSON payload received.",
		},
		{
			name:           "project id instead of wildcard",
			url:            strings.Replace(GenerateAccessTokenURL(w.url, testSA), "/projects/-/", "/projects/my-project/", 1),
			header:         bearerJSON(fed),
			body:           body,
			wantStatus:     400,
			wantStatusName: "INVALID_ARGUMENT",
			wantMsg:        "wildcard",
		},
		{
			name:           "other method",
			url:            strings.Replace(GenerateAccessTokenURL(w.url, testSA), ":generateAccessToken", ":signJwt", 1),
			header:         bearerJSON(fed),
			body:           body,
			wantStatus:     404,
			wantStatusName: "NOT_FOUND",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			status, resp := call(t, http.MethodPost, tc.url, tc.header, tc.body)
			if status != tc.wantStatus {
				t.Fatalf("status %d %v, want %d", status, resp, tc.wantStatus)
			}
			if status == http.StatusOK {
				expire, err := time.Parse(time.RFC3339, resp["expireTime"].(string))
				if err != nil || !strings.HasSuffix(resp["expireTime"].(string), "Z") {
					t.Fatalf("expireTime %v is not RFC 3339 UTC: %v", resp["expireTime"], err)
				}
				tok, ok := w.google.Lookup(resp["accessToken"].(string))
				if !ok || tok.Kind != KindImpersonated || !tok.Expiry.Truncate(time.Second).Equal(expire) {
					t.Errorf("minted %+v, response expireTime %v", tok, expire)
				}
				return
			}
			e, _ := resp["error"].(map[string]any)
			if e["code"] != float64(tc.wantStatus) || e["status"] != tc.wantStatusName || !strings.Contains(e["message"].(string), tc.wantMsg) {
				t.Errorf("error %v, want %d %s containing %q", resp, tc.wantStatus, tc.wantStatusName, tc.wantMsg)
			}
		})
	}
}

func TestGenerateAccessTokenLifetime(t *testing.T) {
	t.Parallel()
	clock := time.Date(2026, 11, 23, 16, 10, 54, 0, time.UTC)
	tests := []struct {
		name       string
		max        time.Duration
		lifetime   string
		wantExpire string
	}{
		{
			name:       "default one hour",
			wantExpire: "2026-11-23T17:10:54Z",
		},
		{
			name:       "fractional seconds",
			lifetime:   "90.5s",
			wantExpire: "2026-11-23T16:12:24Z",
		},
		{
			name:       "extended policy allows 12h",
			max:        12 * time.Hour,
			lifetime:   "43200s",
			wantExpire: "2026-11-24T04:10:54Z",
		},
		{
			name:     "extended policy caps at 12h",
			max:      12 * time.Hour,
			lifetime: "43201s",
		},
		{
			name:       "two hours under a 2h policy",
			max:        2 * time.Hour,
			lifetime:   "7200s",
			wantExpire: "2026-11-23T18:10:54Z",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, nil, func(c *Config) { c.Now = func() time.Time { return clock }; c.MaxLifetime = tc.max })
			if err := w.google.Grant(testSA, ServiceAccountMember(testSA)); err != nil {
				t.Fatal(err)
			}
			fed, err := w.google.mint(IssuedToken{Kind: KindImpersonated, Email: testSA, Principal: ServiceAccountMember(testSA), Scopes: []string{ScopeCloudPlatform}}, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			body := `{"scope":["https://www.googleapis.com/auth/cloud-platform"]`
			if tc.lifetime != "" {
				body += `,"lifetime":"` + tc.lifetime + `"`
			}
			status, resp := call(t, http.MethodPost, GenerateAccessTokenURL(w.url, testSA), bearerJSON(fed.Token), body+"}")
			if tc.wantExpire == "" {
				if status != http.StatusBadRequest {
					t.Errorf("status %d %v, want 400", status, resp)
				}
				return
			}
			if status != http.StatusOK || resp["expireTime"] != tc.wantExpire {
				t.Errorf("got %d %v, want expireTime %s", status, resp, tc.wantExpire)
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
	}{
		{
			name: "lifetime above 12h",
			cfg:  Config{MaxLifetime: 13 * time.Hour},
		},
		{
			name: "provider by project id",
			cfg:  Config{Providers: []Provider{{Name: "projects/my-project/locations/global/workloadIdentityPools/gh/providers/gh", IssuerURI: "x"}}},
		},
		{
			name: "provider without issuer",
			cfg:  Config{Providers: []Provider{{Name: testProvider}}},
		},
		{
			name: "duplicate provider",
			cfg:  Config{Providers: []Provider{{Name: testProvider, IssuerURI: "x"}, {Name: testProvider, IssuerURI: "x"}}},
		},
		{
			name: "account without email",
			cfg:  Config{ServiceAccounts: []ServiceAccount{{}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := New(tc.cfg); err == nil {
				t.Error("New accepted an invalid config")
			}
		})
	}
}
