package googleauth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pullsecret/pullsecret/internal/testing/check"
	"github.com/pullsecret/pullsecret/internal/testing/fakegoogle"
)

// Every URL a credentials file can make pullsecret call is checked before
// anything is sent, at any depth of source_credentials, and executables are
// never run.
func TestADCFileURLsChecked(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	var hits atomic.Int64
	attacker := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(rw, "{}", http.StatusBadRequest)
	}))
	t.Cleanup(attacker.Close)
	evil := attacker.URL + "/token"

	obj := func(raw []byte) map[string]any {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	key := func(edit func(map[string]any)) map[string]any {
		m := obj(w.key)
		if edit != nil {
			edit(m)
		}
		return m
	}
	userFile, err := w.google.NewAuthorizedUser("dev@example.com", evil)
	if err != nil {
		t.Fatal(err)
	}
	impersonated := func(source map[string]any, url string) map[string]any {
		return map[string]any{"type": "impersonated_service_account", "service_account_impersonation_url": url, "source_credentials": source}
	}
	goodImpURL := fakegoogle.GenerateAccessTokenURL(w.googleURL, puller)
	external := func(edit func(map[string]any)) map[string]any {
		m := map[string]any{
			"type": "external_account", "audience": "//iam.googleapis.com/" + provider,
			"subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
			"token_url":          fakegoogle.STSTokenURL(w.googleURL),
			"credential_source":  map[string]any{"file": "/dev/null"},
		}
		edit(m)
		return m
	}
	cases := []struct {
		name string
		file map[string]any
		want []string
	}{
		{
			name: "service_account token_uri",
			file: key(func(m map[string]any) { m["token_uri"] = evil }),
			want: []string{"token_uri", evil},
		},
		{
			name: "authorized_user token_uri",
			file: obj(userFile),
			want: []string{"token_uri", evil},
		},
		{
			name: "impersonated service_account_impersonation_url",
			file: impersonated(key(nil), attacker.URL+"/v1/projects/-/serviceAccounts/"+puller+":generateAccessToken"),
			want: []string{"service_account_impersonation_url", attacker.URL},
		},
		{
			name: "impersonated source_credentials token_uri",
			file: impersonated(key(func(m map[string]any) { m["token_uri"] = evil }), goodImpURL),
			want: []string{"source_credentials.token_uri", evil},
		},
		{
			name: "nested source_credentials",
			file: impersonated(impersonated(obj(userFile), goodImpURL), goodImpURL),
			want: []string{"source_credentials.source_credentials.token_uri", evil},
		},
		{
			name: "external token_url",
			file: external(func(m map[string]any) { m["token_url"] = evil }),
			want: []string{"token_url", evil},
		},
		{
			name: "external token_url over plain http",
			file: external(func(m map[string]any) { m["token_url"] = "http://sts.googleapis.com/v1/token" }),
			want: []string{"token_url", "https"},
		},
		{
			name: "external service_account_impersonation_url",
			file: external(func(m map[string]any) {
				m["service_account_impersonation_url"] = attacker.URL + "/x:generateAccessToken"
			}),
			want: []string{"service_account_impersonation_url", attacker.URL},
		},
		{
			name: "external credential_source.url",
			file: external(func(m map[string]any) { m["credential_source"] = map[string]any{"url": evil} }),
			want: []string{"credential_source.url", evil},
		},
		{
			name: "external credential_source.executable",
			file: external(func(m map[string]any) {
				m["credential_source"] = map[string]any{"executable": map[string]any{"command": "/bin/sh -c 'echo pwned'"}}
			}),
			want: []string{"credential_source.executable"},
		},
		{
			name: "external aws region_url",
			file: external(func(m map[string]any) {
				m["credential_source"] = map[string]any{"environment_id": "aws1", "region_url": evil, "url": evil}
			}),
			want: []string{"credential_source.", evil},
		},
		{
			name: "impersonated source of another external account",
			file: impersonated(external(func(m map[string]any) { m["token_url"] = evil }), goodImpURL),
			want: []string{"source_credentials.token_url", evil},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := json.Marshal(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			f := writeADC(t, raw)
			before := hits.Load()
			env := map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": f, "GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES": "1"}
			_, err = Mint(t.Context(), w.input(Input{}), w.deps(env, &masker{}))
			if d := check.ErrDiff(err, tc.want...); d != "" {
				t.Fatal(d)
			}
			if n := hits.Load() - before; n != 0 {
				t.Errorf("%d requests reached the foreign endpoint", n)
			}
		})
	}
}

// An impersonated_service_account file (what `gcloud auth
// application-default login --impersonate-service-account` writes) works
// when every URL in it is Google's or a configured endpoint: its source key
// goes to oauth_token_endpoint like a top-level key.
func TestADCImpersonatedServiceAccount(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	if err := w.google.Grant(puller, fakegoogle.ServiceAccountMember(keyed)); err != nil {
		t.Fatal(err)
	}
	var source map[string]any
	if err := json.Unmarshal(w.key, &source); err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(map[string]any{
		"type":                              "impersonated_service_account",
		"service_account_impersonation_url": fakegoogle.GenerateAccessTokenURL(w.googleURL, puller),
		"source_credentials":                source,
	})
	f := writeADC(t, raw)
	tok, err := Mint(t.Context(), w.input(Input{TokenLifetime: time.Hour}), w.deps(map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": f}, &masker{}))
	if err != nil {
		t.Fatal(err)
	}
	info, ok := w.google.Lookup(tok.AccessToken)
	if !ok || info.Kind != fakegoogle.KindImpersonated || info.Email != puller || tok.Principal != puller {
		t.Errorf("token kind %s email %q principal %q, want an impersonated token of %s", info.Kind, info.Email, tok.Principal, puller)
	}
}
