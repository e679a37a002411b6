package googleauth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pullsecret/pullsecret/internal/testing/check"
	"github.com/pullsecret/pullsecret/internal/testing/fakegithub"
	"github.com/pullsecret/pullsecret/internal/testing/fakegoogle"
)

// ghaCredsFile is the credentials file google-github-actions/auth v3 writes
// in Workload Identity mode (gha-creds-*.json, exported as
// GOOGLE_APPLICATION_CREDENTIALS), field for field: the job's own OIDC
// request URL plus &audience=, the request token as a Bearer header, the
// token under "value" of a JSON answer, STS's token URL, and the
// impersonation URL only when a service account is given. sts and iam are
// the endpoints auth was pointed at (here the fake's).
func ghaCredsFile(t *testing.T, env map[string]string, sts, iam, serviceAccount string) []byte {
	t.Helper()
	u, err := url.Parse(env[fakegithub.EnvRequestURL])
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("audience", "https://iam.googleapis.com/"+provider)
	u.RawQuery = q.Encode()
	file := map[string]any{
		"type":               "external_account",
		"audience":           "//iam.googleapis.com/" + provider,
		"subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
		"token_url":          sts,
		"credential_source": map[string]any{
			"url":     u.String(),
			"headers": map[string]any{"Authorization": "Bearer " + env[fakegithub.EnvRequestToken]},
			"format":  map[string]any{"type": "json", "subject_token_field_name": "value"},
		},
	}
	if serviceAccount != "" {
		file["service_account_impersonation_url"] = iam + "/v1/projects/-/serviceAccounts/" + serviceAccount + ":generateAccessToken"
	}
	raw, err := json.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// The file google-github-actions/auth v3 writes works, with and without a
// service account, its OIDC endpoint being on a host that is not Google's;
// the request token is masked before anything can print it.
func TestADCGitHubActionsAuthFile(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		sa       string
		wantKind fakegoogle.TokenKind
	}{
		{"with service_account", puller, fakegoogle.KindImpersonated},
		{"direct federation", "", fakegoogle.KindFederated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, 0)
			f := writeADC(t, ghaCredsFile(t, w.env, fakegoogle.STSTokenURL(w.googleURL), w.googleURL, tc.sa))
			env := map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": f}
			for k, v := range w.env {
				env[k] = v
			}
			m := &masker{}
			tok, err := Mint(t.Context(), w.input(Input{}), w.deps(env, m))
			if err != nil {
				t.Fatal(err)
			}
			info, ok := w.google.Lookup(tok.AccessToken)
			if !ok || info.Kind != tc.wantKind {
				t.Errorf("token kind %q, want %q", info.Kind, tc.wantKind)
			}
			if !slices.Contains(m.got, w.env[fakegithub.EnvRequestToken]) {
				t.Error("the OIDC request token was not masked")
			}
		})
	}
}

// Only the job's own OIDC endpoint is let through: another host, another
// port, another scheme or no OIDC endpoint at all is still refused before
// anything is sent.
func TestADCGitHubActionsAuthFileOtherHostsRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	var hits atomic.Int64
	attacker := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(rw, "{}", http.StatusBadRequest)
	}))
	t.Cleanup(attacker.Close)
	withURL := func(requestURL string) map[string]string {
		env := map[string]string{}
		for k, v := range w.env {
			env[k] = v
		}
		env[fakegithub.EnvRequestURL] = requestURL
		return env
	}
	real := w.env[fakegithub.EnvRequestURL]
	cases := []struct {
		name string
		file map[string]string // the job's env the file is written from
		env  map[string]string // the job's env at run time
	}{
		{"another host", withURL(attacker.URL + fakegithub.IDTokenPath + "?api-version=2.0"), w.env},
		{"no OIDC endpoint in the job", w.env, withURL("")},
		{"endpoint not https off loopback", withURL("http://github.example" + fakegithub.IDTokenPath + "?api-version=2.0"), withURL("http://github.example" + fakegithub.IDTokenPath + "?api-version=2.0")},
		{"another scheme", withURL(strings.Replace(real, "http://", "https://", 1)), w.env},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := writeADC(t, ghaCredsFile(t, tc.file, fakegoogle.STSTokenURL(w.googleURL), w.googleURL, puller))
			env := map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": f}
			for k, v := range tc.env {
				env[k] = v
			}
			_, err := Mint(t.Context(), w.input(Input{}), w.deps(env, &masker{}))
			if d := check.ErrDiff(err, "credential_source.url", "not a Google host"); d != "" {
				t.Fatal(d)
			}
			if n := hits.Load(); n != 0 {
				t.Errorf("%d requests reached the foreign endpoint", n)
			}
		})
	}
}
