package fakegoogle

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/compute/metadata"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2/google"
)

const metadataSA = "vm@my-project.iam.gserviceaccount.com"

// rewriteHost sends every request to the fake, whatever host the client
// library aimed at (169.254.169.254 for the metadata client).
type rewriteHost struct{ target *url.URL }

func (rt rewriteHost) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host = rt.target.Scheme, rt.target.Host
	return http.DefaultTransport.RoundTrip(r)
}

func metadataClient(t *testing.T, base string) *metadata.Client {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	return metadata.NewClient(&http.Client{Transport: rewriteHost{u}})
}

func TestMetadataServerWithRealClient(t *testing.T) {
	t.Parallel()
	clock := newTestClock()
	g, err := New(Config{Now: clock.Now, DefaultServiceAccount: metadataSA})
	if err != nil {
		t.Fatal(err)
	}
	c := metadataClient(t, startServer(t, g))
	ctx := t.Context()

	for _, acct := range []string{"", metadataSA} {
		if email, err := c.Email(acct); err != nil || email != metadataSA {
			t.Errorf("Email(%q) = %q, %v", acct, email, err)
		}
	}
	if scopes, err := c.Scopes(""); err != nil || !cmp.Equal(scopes, []string{ScopeCloudPlatform}) {
		t.Errorf("Scopes = %v, %v", scopes, err)
	}
	for suffix, want := range map[string]string{
		"project/project-id":         "my-project",
		"project/numeric-project-id": "123456",
		"universe/universe-domain":   "googleapis.com",
		"instance/service-accounts/": "default/\n" + metadataSA + "/\n",
	} {
		if got, err := c.GetWithContext(ctx, suffix); err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", suffix, got, err, want)
		}
	}
	var nd metadata.NotDefinedError
	if _, err := c.GetWithContext(ctx, "instance/service-accounts/other@x.iam.gserviceaccount.com/email"); !errors.As(err, &nd) {
		t.Errorf("unknown account: %v, want NotDefinedError", err)
	}
	if _, err := c.GetWithContext(ctx, "instance/zone"); !errors.As(err, &nd) {
		t.Errorf("undefined key: %v, want NotDefinedError", err)
	}

	type tokenResp struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
		TokenType   string `json:"token_type"`
	}
	getToken := func(suffix string) tokenResp {
		t.Helper()
		raw, err := c.GetWithContext(ctx, suffix)
		if err != nil {
			t.Fatalf("%s: %v", suffix, err)
		}
		var r tokenResp
		if err := json.Unmarshal([]byte(raw), &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	first := getToken("instance/service-accounts/default/token")
	if first.ExpiresIn != 3599 || first.TokenType != "Bearer" || !strings.HasPrefix(first.AccessToken, "ya29.") {
		t.Errorf("token %+v", first)
	}
	// Like GCE, the server hands out its cached token until it nears expiry.
	clock.Advance(10 * time.Minute)
	again := getToken("instance/service-accounts/" + metadataSA + "/token")
	if again.AccessToken != first.AccessToken || again.ExpiresIn != 2999 {
		t.Errorf("after 10m got %+v, want the cached token with expires_in 2999", again)
	}
	clock.Advance(46 * time.Minute)
	if renewed := getToken("instance/service-accounts/default/token"); renewed.AccessToken == first.AccessToken || renewed.ExpiresIn != 3599 {
		t.Errorf("near expiry got %+v, want a fresh token", renewed)
	}

	// As on GCE/GKE, ?scopes= cannot narrow (or widen) the instance's
	// access scopes: the same cached cloud-platform token comes back.
	scoped := getToken("instance/service-accounts/default/token?scopes=" + url.QueryEscape(scopeReadOnly+","+ScopeIAM))
	info, _ := g.Lookup(scoped.AccessToken)
	want := IssuedToken{Token: scoped.AccessToken, Kind: KindMetadata, Subject: metadataSA, Email: metadataSA,
		Principal: "serviceAccount:" + metadataSA, Scopes: []string{ScopeCloudPlatform}}
	if diff := cmp.Diff(want, info, cmpIgnoreTimes); diff != "" {
		t.Errorf("token asked with ?scopes= (-want +got):\n%s", diff)
	}

	// Metadata tokens are valid at the other endpoints, even when served by
	// a second server over the same fake. Without the userinfo.email scope
	// tokeninfo names the account only by its unique id.
	status, body := call(t, http.MethodGet, TokenInfoURL(startServer(t, g))+"?access_token="+scoped.AccessToken, nil, "")
	if id := g.uniqueID(metadataSA); status != http.StatusOK || body["email"] != nil || body["azp"] != id || body["sub"] != id {
		t.Errorf("tokeninfo of a metadata token: %d %v", status, body)
	}
}

func TestMetadataRequestRules(t *testing.T) {
	t.Parallel()
	g, err := New(Config{DefaultServiceAccount: metadataSA})
	if err != nil {
		t.Fatal(err)
	}
	base := startServer(t, g)
	tokenPath := base + "/computeMetadata/v1/instance/service-accounts/default/token"
	tests := []struct {
		name       string
		url        string
		header     http.Header
		wantStatus int
		wantBody   string
	}{
		{
			name:       "probe",
			url:        base + "/",
			wantStatus: 200,
		},
		{
			name:       "with flavor",
			url:        tokenPath,
			header:     http.Header{"Metadata-Flavor": {"Google"}},
			wantStatus: 200,
			wantBody:   "access_token",
		},
		{
			name:       "legacy header",
			url:        tokenPath,
			header:     http.Header{"X-Google-Metadata-Request": {"True"}},
			wantStatus: 200,
			wantBody:   "access_token",
		},
		{
			name:       "no flavor",
			url:        tokenPath,
			wantStatus: 403,
			wantBody:   "Missing Metadata-Flavor:Google header.",
		},
		{
			name:       "wrong flavor",
			url:        tokenPath,
			header:     http.Header{"Metadata-Flavor": {"Amazon"}},
			wantStatus: 403,
			wantBody:   "Missing Metadata-Flavor:Google header.",
		},
		{
			name:       "proxied",
			url:        tokenPath,
			header:     http.Header{"Metadata-Flavor": {"Google"}, "X-Forwarded-For": {"10.0.0.1"}},
			wantStatus: 403,
			wantBody:   "X-Forwarded-For",
		},
		{
			name:       "unknown path",
			url:        base + "/computeMetadata/v1/instance/nothing",
			header:     http.Header{"Metadata-Flavor": {"Google"}},
			wantStatus: 404,
			wantBody:   "Not Found",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, _ := http.NewRequest(http.MethodGet, tc.url, nil)
			for k, v := range tc.header {
				req.Header[k] = v
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantStatus || !strings.Contains(string(body), tc.wantBody) {
				t.Errorf("got %d %s, want %d containing %q", resp.StatusCode, body, tc.wantStatus, tc.wantBody)
			}
			// Every metadata response, errors included, names its flavour:
			// the OnGCE probe relies on it.
			if got := resp.Header.Get("Metadata-Flavor"); got != "Google" {
				t.Errorf("response Metadata-Flavor = %q", got)
			}
		})
	}
}

func TestMetadataWithoutServiceAccount(t *testing.T) {
	t.Parallel()
	g, err := New(Config{ProjectID: "bare-project"})
	if err != nil {
		t.Fatal(err)
	}
	c := metadataClient(t, startServer(t, g))
	var nd metadata.NotDefinedError
	if _, err := c.GetWithContext(t.Context(), "instance/service-accounts/default/token"); !errors.As(err, &nd) {
		t.Errorf("token without an attached account: %v, want NotDefinedError", err)
	}
	if _, err := c.Email(""); !errors.As(err, &nd) {
		t.Errorf("email without an attached account: %v, want NotDefinedError", err)
	}
	if p, err := c.GetWithContext(t.Context(), "project/project-id"); err != nil || p != "bare-project" {
		t.Errorf("project-id = %q, %v", p, err)
	}
}

// TestComputeTokenSource drives google.ComputeTokenSource, which only talks
// to the metadata server named by GCE_METADATA_HOST through the metadata
// package's default client, so this test sets that variable (t.Setenv, so not
// in parallel with anything).
func TestComputeTokenSource(t *testing.T) {
	g, err := New(Config{DefaultServiceAccount: metadataSA})
	if err != nil {
		t.Fatal(err)
	}
	base := startServer(t, g)
	t.Setenv("GCE_METADATA_HOST", MetadataHost(base))

	if !metadata.OnGCE() {
		t.Fatal("metadata.OnGCE() = false with GCE_METADATA_HOST set")
	}
	tok, err := google.ComputeTokenSource("", scopeReadOnly).Token()
	if err != nil {
		t.Fatalf("ComputeTokenSource: %v", err)
	}
	info, ok := g.Lookup(tok.AccessToken)
	if !ok || info.Kind != KindMetadata || info.Email != metadataSA || !cmp.Equal(info.Scopes, []string{ScopeCloudPlatform}) {
		t.Errorf("issued %+v", info)
	}
	if !approx(tok.Expiry, time.Now().Add(3599*time.Second)) {
		t.Errorf("expiry %v", tok.Expiry)
	}
	reqs := g.RequestsTo(EndpointMetadata)
	last := reqs[len(reqs)-1]
	if last.Header.Get("Metadata-Flavor") != "Google" || last.Query.Get("scopes") != scopeReadOnly {
		t.Errorf("metadata request headers %v query %v", last.Header, last.Query)
	}
}

// Under Workload Identity Federation for GKE without a Google service
// account the metadata server names the workload pool and its token is a
// federated token of the pod's principal, with no account behind it.
func TestMetadataGKEWorkloadWithoutServiceAccount(t *testing.T) {
	t.Parallel()
	g, err := New(Config{ProjectID: "gke-proj", GKEWorkload: &GKEWorkload{Namespace: "ns", ServiceAccount: "ksa"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(srv.Close)
	get := func(path string) string {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/computeMetadata/v1/"+path, nil)
		req.Header.Set("Metadata-Flavor", "Google")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := get("instance/service-accounts/default/email"); got != "gke-proj.svc.id.goog" {
		t.Errorf("email %q, want the workload pool", got)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(get("instance/service-accounts/default/token")), &tok); err != nil {
		t.Fatal(err)
	}
	info, ok := g.Lookup(tok.AccessToken)
	if !ok || info.Kind != KindFederated || info.Email != "" || info.Principal != GKEWorkloadPrincipal("123456", "gke-proj", "ns", "ksa") {
		t.Errorf("token %+v, want a federated token of the pod's principal", info)
	}
}
