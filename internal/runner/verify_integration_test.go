//go:build integration

package runner

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

// verifyRegistry is a registry that authorises like Artifact Registry: the
// token endpoint asks the fake Google who the Basic oauth2accesstoken
// credential is and refuses, with 403 DENIED, a repository that identity
// may not read (only ImpersonatedSA reads "e2e-proj/private"). The
// per-repository authorisation of the e2e fake registry (fakegcr) is
// exercised by the e2e tier; this one proves nothing is written.
func verifyRegistry(t *testing.T) *httptest.Server {
	t.Helper()
	s := fakes(t)
	var srv *httptest.Server
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fail := func(status int, code, msg string) {
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": code, "message": msg}}})
		}
		host := strings.TrimPrefix(srv.URL, "https://")
		switch {
		case r.URL.Path == "/v2/token":
			user, pass, _ := r.BasicAuth()
			tok, ok := s.Google.Lookup(pass)
			if user != "oauth2accesstoken" || !ok {
				fail(http.StatusUnauthorized, "UNAUTHORIZED", "Not Authorized.")
				return
			}
			repo := strings.TrimSuffix(strings.TrimPrefix(r.URL.Query().Get("scope"), "repository:"), ":pull")
			if tok.Email != fakestack.ImpersonatedSA || !strings.HasPrefix(repo, "e2e-proj/private/") {
				fail(http.StatusForbidden, "DENIED", fmt.Sprintf(`Permission "artifactregistry.repositories.downloadArtifacts" denied on resource %q (or it may not exist)`, repo))
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]string{"token": "reg-" + repo})
		case r.Header.Get("Authorization") == "":
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="%s/v2/token",service="%s"`, srv.URL, host))
			fail(http.StatusUnauthorized, "UNAUTHORIZED", "authenticate")
		case r.Method == http.MethodHead && r.Header.Get("Authorization") == "Bearer reg-e2e-proj/private/app" && r.URL.Path == "/v2/e2e-proj/private/app/manifests/v1":
			w.WriteHeader(http.StatusOK)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// verify_image: the credential is checked against the registry after
// minting and before anything is written; a refused image fails the run
// naming the input, the principal and the repository, with no secret and
// no ServiceAccount change in the namespace.
func TestVerifyImageBeforeWriting(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	reg := verifyRegistry(t)
	host := strings.TrimPrefix(reg.URL, "https://")
	for _, tc := range []struct {
		name    string
		cred    fakestack.Credential
		image   string
		wantErr []string
	}{
		{name: "readable image passes", cred: fakestack.WIF, image: host + "/e2e-proj/private/app:v1"},
		{name: "403 another identity", cred: fakestack.KeyToken, image: host + "/e2e-proj/private/app:v1",
			wantErr: []string{`input "verify_image"`, "403 Forbidden", fakestack.KeySA + " lacks roles/artifactregistry.reader", "nothing was written"}},
		{name: "403 unreadable repository", cred: fakestack.WIF, image: host + "/other-proj/private/app:v1",
			wantErr: []string{`input "verify_image"`, fakestack.ImpersonatedSA + " lacks roles/artifactregistry.reader"}},
		{name: "404 no such tag", cred: fakestack.WIF, image: host + "/e2e-proj/private/app:v2",
			wantErr: []string{`input "verify_image"`, "no such image (404 Not Found)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ns := controlplanetest.Namespace(t, cp)
			r := runCtx(t.Context(), t, cp.Kubeconfig(), withCreds(t, tc.cred, map[string]string{
				config.InNamespaces: ns, config.InVerifyImage: tc.image,
				config.InRegistries: config.DefaultRegistries + "," + host,
			}), Deps{HTTPClient: reg.Client()})
			if len(tc.wantErr) == 0 {
				if r.err != nil {
					t.Fatalf("run failed: %v\n%s", r.err, r.log)
				}
				getSecret(t, cs, ns, config.DefaultSecretName)
				if !strings.Contains(r.summary, "| `"+tc.image+"` | ✅ ok |") {
					t.Errorf("summary does not show the check:\n%s", r.summary)
				}
				return
			}
			if r.err == nil {
				t.Fatalf("run succeeded; want %q", tc.wantErr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(r.err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, r.err)
				}
			}
			if !secretAbsent(t, cs, ns, config.DefaultSecretName) {
				t.Error("the secret was written although verify_image failed")
			}
			if got := pullSecretNames(getSA(t, cs, ns, "default")); len(got) != 0 {
				t.Errorf("default ServiceAccount changed: %v", got)
			}
			if !strings.Contains(r.summary, "| `"+tc.image+"` | ❌ failed") {
				t.Errorf("summary does not show the failed check:\n%s", r.summary)
			}
		})
	}
}
