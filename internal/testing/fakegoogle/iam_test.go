package fakegoogle

import (
	"net/http"
	"strings"
	"testing"
	"time"
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
	clock := time.Now()
	w := newWorld(t, nil, func(c *Config) {
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
		{"federated principal in principalSet", GenerateAccessTokenURL(w.url, testSA), bearerJSON(fed), body, 200, "", ""},
		{"pool-wide principalSet, account by unique id", GenerateAccessTokenURL(w.url, "100000000000000000042"), bearerJSON(fed), body, 200, "", ""},
		// IAM has no implicit self-grant: an account needs
		// roles/iam.serviceAccountTokenCreator on itself
		// (https://cloud.google.com/iam/docs/service-account-permissions#token-creator-role).
		{"self impersonation granted", GenerateAccessTokenURL(w.url, self), bearerJSON(selfTok.Token), body, 200, "", ""},
		{"self impersonation without a grant", GenerateAccessTokenURL(w.url, testSA), bearerJSON(saTok.Token), body,
			403, "PERMISSION_DENIED", "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist)."},
		{"service account granted token creator", GenerateAccessTokenURL(w.url, deployer), bearerJSON(saTok.Token), body, 200, "", ""},
		{"delegation chain", GenerateAccessTokenURL(w.url, deployer), bearerJSON(saTok.Token),
			`{"delegates":["projects/-/serviceAccounts/` + hop + `"],"scope":["x"]}`, 200, "", ""},
		{"lowercase bearer scheme", GenerateAccessTokenURL(w.url, testSA),
			http.Header{"Authorization": {"bearer " + fed}, "Content-Type": {"application/json"}}, body, 200, "", ""},
		{"no authorization", GenerateAccessTokenURL(w.url, testSA), http.Header{"Content-Type": {"application/json"}}, body,
			401, "UNAUTHENTICATED", "Request is missing required authentication credential."},
		{"unknown token", GenerateAccessTokenURL(w.url, testSA), bearerJSON("ya29.bogus"), body,
			401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token"},
		{"revoked token", GenerateAccessTokenURL(w.url, testSA), bearerJSON(revoked.Token), body,
			401, "UNAUTHENTICATED", "Request had invalid authentication credentials."},
		{"expired token", GenerateAccessTokenURL(w.url, testSA), bearerJSON(expired.Token), body,
			401, "UNAUTHENTICATED", "Request had invalid authentication credentials."},
		{"token without cloud-platform scope", GenerateAccessTokenURL(w.url, testSA), bearerJSON(narrow.Token), body,
			403, "PERMISSION_DENIED", "Request had insufficient authentication scopes."},
		{"federated principal not granted", GenerateAccessTokenURL(w.url, other), bearerJSON(fed), body,
			403, "PERMISSION_DENIED", "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist)."},
		{"service account not granted", GenerateAccessTokenURL(w.url, other), bearerJSON(saTok.Token), body,
			403, "PERMISSION_DENIED", "iam.serviceAccounts.getAccessToken"},
		{"delegate not granted", GenerateAccessTokenURL(w.url, deployer), bearerJSON(fed),
			`{"delegates":["projects/-/serviceAccounts/` + other + `"],"scope":["x"]}`, 403, "PERMISSION_DENIED", "denied"},
		{"unknown account", GenerateAccessTokenURL(w.url, "ghost@my-project.iam.gserviceaccount.com"), bearerJSON(fed), body,
			404, "NOT_FOUND", "Gaia id not found for email ghost@my-project.iam.gserviceaccount.com"},
		{"empty scope", GenerateAccessTokenURL(w.url, testSA), bearerJSON(fed), `{"lifetime":"60s"}`,
			400, "INVALID_ARGUMENT", "Scope required."},
		{"lifetime without unit", GenerateAccessTokenURL(w.url, testSA), bearerJSON(fed), `{"scope":["x"],"lifetime":"3600"}`,
			400, "INVALID_ARGUMENT", "Illegal duration format"},
		{"lifetime one second too long", GenerateAccessTokenURL(w.url, testSA), bearerJSON(fed), `{"scope":["x"],"lifetime":"3601s"}`,
			400, "INVALID_ARGUMENT", "Requested lifetime exceeds the maximum allowed value of 3600s"},
		{"lifetime zero", GenerateAccessTokenURL(w.url, testSA), bearerJSON(fed), `{"scope":["x"],"lifetime":"0s"}`,
			400, "INVALID_ARGUMENT", "positive"},
		{"body not JSON", GenerateAccessTokenURL(w.url, testSA), bearerJSON(fed), `scope=x`,
			400, "INVALID_ARGUMENT", "Invalid JSON payload received."},
		{"project id instead of wildcard", strings.Replace(GenerateAccessTokenURL(w.url, testSA), "/projects/-/", "/projects/my-project/", 1),
			bearerJSON(fed), body, 400, "INVALID_ARGUMENT", "wildcard"},
		{"other method", strings.Replace(GenerateAccessTokenURL(w.url, testSA), ":generateAccessToken", ":signJwt", 1),
			bearerJSON(fed), body, 404, "NOT_FOUND", ""},
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
		{"default one hour", 0, "", "2026-11-23T17:10:54Z"},
		{"fractional seconds", 0, "90.5s", "2026-11-23T16:12:24Z"},
		{"extended policy allows 12h", 12 * time.Hour, "43200s", "2026-11-24T04:10:54Z"},
		{"extended policy caps at 12h", 12 * time.Hour, "43201s", ""},
		{"two hours under a 2h policy", 2 * time.Hour, "7200s", "2026-11-23T18:10:54Z"},
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
		{"lifetime above 12h", Config{MaxLifetime: 13 * time.Hour}},
		{"provider by project id", Config{Providers: []Provider{{Name: "projects/my-project/locations/global/workloadIdentityPools/gh/providers/gh", IssuerURI: "x"}}}},
		{"provider without issuer", Config{Providers: []Provider{{Name: testProvider}}}},
		{"duplicate provider", Config{Providers: []Provider{{Name: testProvider, IssuerURI: "x"}, {Name: testProvider, IssuerURI: "x"}}}},
		{"account without email", Config{ServiceAccounts: []ServiceAccount{{}}}},
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
