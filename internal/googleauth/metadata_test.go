package googleauth

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pullsecret/pullsecret/internal/testing/check"
	"github.com/pullsecret/pullsecret/internal/testing/fakegoogle"
)

// clock is a settable fake clock for the fake Google.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// The metadata server hands out its cached token until it has minutes left.
// The secret must still get a token of token_lifetime, and expires_at must
// be that token's real expiry.
func TestMetadataTokenNearExpiryStillGivesTokenLifetime(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Now()}
	w := newWorldWith(t, nil, func(c *fakegoogle.Config) { c.Now = clk.Now })
	// Someone on the node fetched the token 50 minutes ago.
	req, _ := http.NewRequest(http.MethodGet, w.googleURL+"/computeMetadata/v1/instance/service-accounts/default/token", nil)
	req.Header.Set("Metadata-Flavor", "Google")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	clk.Advance(50 * time.Minute)

	tok, err := Mint(t.Context(), w.input(Input{TokenLifetime: 45 * time.Minute}), w.deps(map[string]string{"HOME": t.TempDir()}, &masker{}))
	if err != nil {
		t.Fatal(err)
	}
	info, ok := w.google.Lookup(tok.AccessToken)
	if !ok || info.Kind != fakegoogle.KindImpersonated || info.Email != node {
		t.Fatalf("secret token: kind %s email %q, want an impersonated token of %s", info.Kind, info.Email, node)
	}
	if got := info.Expiry.Sub(clk.Now()); got < 44*time.Minute {
		t.Errorf("token lives %s from now, want token_lifetime 45m", got)
	}
	if !tok.Expiry.Equal(info.Expiry.Truncate(time.Second)) && !tok.Expiry.Equal(info.Expiry) {
		t.Errorf("reported expiry %s, real expiry %s", tok.Expiry, info.Expiry)
	}
}

// Without roles/iam.serviceAccountTokenCreator on itself the node's account
// cannot mint; the error names the account and the role.
func TestMetadataSelfImpersonationDenied(t *testing.T) {
	t.Parallel()
	w := newWorldWith(t, nil, func(c *fakegoogle.Config) {
		for i, sa := range c.ServiceAccounts {
			if sa.Email == node {
				c.ServiceAccounts[i].Impersonators = nil
			}
		}
	})
	_, err := Mint(t.Context(), w.input(Input{}), w.deps(map[string]string{"HOME": t.TempDir()}, &masker{}))
	if err == nil {
		t.Fatal("Mint succeeded without the token creator grant")
	}
	if d := check.ErrDiff(err, node, "roles/iam.serviceAccountTokenCreator", "iam.serviceAccounts.getAccessToken"); d != "" {
		t.Error(d)
	}
}

// proxyRecorder is a forward HTTP proxy that records the URLs it carried.
type proxyRecorder struct {
	mu   sync.Mutex
	urls []string
}

func (p *proxyRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.urls = append(p.urls, r.URL.String())
	p.mu.Unlock()
	out := r.Clone(r.Context())
	out.RequestURI = ""
	resp, err := (&http.Transport{}).RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

func (p *proxyRecorder) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.urls...)
}

// Metadata requests never go through a proxy: the proxy would see the
// token, and the metadata server is link-local anyway. Every other Google
// call still honours it.
func TestMetadataBypassesProxy(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	p := &proxyRecorder{}
	ps := httptest.NewServer(p)
	t.Cleanup(ps.Close)
	proxyURL, _ := url.Parse(ps.URL)
	env := map[string]string{"HOME": t.TempDir(), "HTTP_PROXY": ps.URL, "HTTPS_PROXY": ps.URL}
	d := w.deps(env, &masker{})
	// What http.ProxyFromEnvironment would do with env, without os.Setenv
	// (and without its loopback exemption, which would hide the bug).
	d.HTTPClient = &http.Client{Transport: &http.Transport{Proxy: func(*http.Request) (*url.URL, error) { return proxyURL, nil }}}
	if _, err := Mint(t.Context(), w.input(Input{}), d); err != nil {
		t.Fatal(err)
	}
	seen := p.seen()
	for _, u := range seen {
		if strings.Contains(u, "/computeMetadata/") {
			t.Errorf("metadata request went through the proxy: %s", u)
		}
	}
	if len(w.google.RequestsTo(fakegoogle.EndpointMetadata)) == 0 {
		t.Error("no request reached the metadata server")
	}
	if !containsFunc(seen, func(u string) bool { return strings.Contains(u, ":generateAccessToken") }) {
		t.Errorf("the IAM Credentials call bypassed the configured proxy too (proxy saw %q)", seen)
	}
}

func containsFunc(list []string, f func(string) bool) bool {
	for _, v := range list {
		if f(v) {
			return true
		}
	}
	return false
}
