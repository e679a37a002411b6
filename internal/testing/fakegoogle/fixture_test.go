package fakegoogle

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sethvargo/go-githubactions"
	"golang.org/x/oauth2/google/externalaccount"

	"github.com/pullsecret/pullsecret/internal/testing/fakegithub"
)

const (
	testProvider = "projects/123456/locations/global/workloadIdentityPools/gh/providers/gh"
	testSA       = "puller@my-project.iam.gserviceaccount.com"
	testRepo     = "octo-org/octo-repo"
)

// Key generation dominates the suite's run time, so read-only pieces are
// shared: one GitHub issuer (its clock is real time) and one key file.
var (
	sharedOnce sync.Once
	sharedGH   *fakegithub.OIDC
	sharedErr  error
)

func githubIssuer(t *testing.T) *fakegithub.OIDC {
	t.Helper()
	sharedOnce.Do(func() { sharedGH, sharedErr = fakegithub.NewOIDC(fakegithub.OIDCConfig{}) })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return sharedGH
}

// world is a GitHub Actions job plus a Google project trusting it.
type world struct {
	gh     *fakegithub.OIDC
	ghURL  string
	google *Google
	url    string
}

// newWorld starts both fakes. The Google side trusts gh (the shared issuer
// unless given) through testProvider, and testSA may be impersonated by
// every workflow of testRepo. edit may adjust the config before New.
func newWorld(t *testing.T, gh *fakegithub.OIDC, edit func(*Config)) *world {
	t.Helper()
	if gh == nil {
		gh = githubIssuer(t)
	}
	ghSrv := httptest.NewServer(gh.Handler())
	t.Cleanup(ghSrv.Close)
	cfg := Config{
		Providers: []Provider{{
			Name:       testProvider,
			IssuerURI:  fakegithub.DefaultIssuer,
			PublicKeys: map[string]*rsa.PublicKey{gh.KeyID(): gh.PublicKey()},
		}},
		ServiceAccounts: []ServiceAccount{{
			Email:         testSA,
			Impersonators: []string{AttributePrincipalSet(testProvider, "repository", testRepo)},
		}},
	}
	if edit != nil {
		edit(&cfg)
	}
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(srv.Close)
	return &world{gh: gh, ghURL: ghSrv.URL, google: g, url: srv.URL}
}

// githubSupplier is the SubjectTokenSupplier a GitHub Action would use: it
// asks the runtime for an ID token through go-githubactions, with the job's
// environment injected rather than read from the process.
type githubSupplier struct {
	action   *githubactions.Action
	audience string
	// mutate, when set, rewrites the token before it is handed to STS.
	mutate func(string) string
}

func (s githubSupplier) SubjectToken(ctx context.Context, _ externalaccount.SupplierOptions) (string, error) {
	tok, err := s.action.GetIDToken(ctx, s.audience)
	if err != nil || s.mutate == nil {
		return tok, err
	}
	return s.mutate(tok), nil
}

func (w *world) supplier() githubSupplier {
	env := w.gh.Env(w.ghURL)
	return githubSupplier{
		action:   githubactions.New(githubactions.WithGetenv(func(k string) string { return env[k] })),
		audience: OIDCAudience(testProvider),
	}
}

// wifConfig is the externalaccount configuration pullsecret builds for
// Workload Identity Federation, pointed at the fakes. impersonate selects
// service-account impersonation with the given lifetime (0: library default).
func (w *world) wifConfig(s githubSupplier, impersonate bool, lifetimeSecs int) externalaccount.Config {
	c := externalaccount.Config{
		Audience:             STSAudience(testProvider),
		SubjectTokenType:     TokenTypeJWT,
		TokenURL:             STSTokenURL(w.url),
		Scopes:               []string{ScopeCloudPlatform},
		SubjectTokenSupplier: s,
	}
	if impersonate {
		c.ServiceAccountImpersonationURL = GenerateAccessTokenURL(w.url, testSA)
		c.ServiceAccountImpersonationLifetimeSeconds = lifetimeSecs
	}
	return c
}

// googleError extracts the JSON body x/oauth2 embeds in its
// "oauth2/google: status code N: {...}" errors.
func googleError(t *testing.T, err error) map[string]any {
	t.Helper()
	if err == nil {
		t.Fatal("expected an error, got nil")
	}
	msg := err.Error()
	i := strings.Index(msg, "{")
	if i < 0 {
		t.Fatalf("error has no JSON body: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(msg[i:]), &m); err != nil {
		t.Fatalf("error body is not JSON: %v (%v)", msg[i:], err)
	}
	return m
}

// call sends a raw request and returns the status and decoded JSON body.
func call(t *testing.T, method, target string, header http.Header, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, m
}

func formHeader() http.Header {
	return http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
}

func bearerJSON(token string) http.Header {
	return http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + token}}
}

// federatedToken runs a plain token exchange and returns the access token.
func (w *world) federatedToken(t *testing.T) string {
	t.Helper()
	subject, err := w.gh.Mint(OIDCAudience(testProvider))
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{
		"grant_type":           {GrantTypeTokenExchange},
		"audience":             {STSAudience(testProvider)},
		"scope":                {ScopeCloudPlatform},
		"requested_token_type": {TokenTypeAccessToken},
		"subject_token_type":   {TokenTypeJWT},
		"subject_token":        {subject},
	}
	status, body := call(t, http.MethodPost, STSTokenURL(w.url), formHeader(), form.Encode())
	if status != http.StatusOK {
		t.Fatalf("STS: %d %v", status, body)
	}
	return body["access_token"].(string)
}

// approx reports whether got is within a few seconds of want, enough for
// the time between minting and asserting.
func approx(got, want time.Time) bool {
	d := got.Sub(want)
	return d > -5*time.Second && d < 5*time.Second
}

// startServer serves g on a test server and returns its URL.
func startServer(t *testing.T, g *Google) string {
	t.Helper()
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

// testClock is a settable clock safe for use from handlers.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock { return &testClock{now: time.Now()} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
