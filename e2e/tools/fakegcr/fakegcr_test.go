package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

const (
	saEmail   = "puller@e2e-proj.iam.gserviceaccount.com"
	saMember  = "serviceAccount:" + saEmail
	federated = "principal://iam.googleapis.com/projects/123456/locations/global/workloadIdentityPools/gh/subject/repo:octo-org/octo-repo:ref:refs/heads/main"

	arRepo       = "projects/e2e-proj/locations/us/repositories/private"
	otherArRepo  = "projects/other-proj/locations/us/repositories/private"
	gcrRepo      = "projects/e2e-proj/locations/us/repositories/gcr.io"
	otherGCRRepo = "projects/other-proj/locations/us/repositories/gcr.io"
	// A domain-scoped project's gcr.io repository.
	domainGCRRepo = "projects/example.com:e2e/locations/us/repositories/gcr.io"
)

// fakeGoogle serves tokeninfo for a few fixed tokens, the x509 metadata of
// one key, and the fake-only checkPermission from a fixed table: the
// principal behind each token, and the (resource, permission) pairs each
// principal holds (inheritance and roles are internal/testing/fakegoogle's business,
// tested there).
func fakeGoogle(t *testing.T, keyID string, certPEM []byte) *httptest.Server {
	tokens := map[string]string{
		"good":         `{"scope":"https://www.googleapis.com/auth/cloud-platform","expires_in":"3599","azp":"1234567890"}`,
		"read-only":    `{"scope":"openid https://www.googleapis.com/auth/devstorage.read_only","expires_in":3599}`,
		"no-scope":     `{"scope":"https://www.googleapis.com/auth/userinfo.email","expires_in":"3599","email":"` + saEmail + `"}`,
		"federated":    `{"scope":"https://www.googleapis.com/auth/cloud-platform","expires_in":"3599","access_type":"online"}`,
		"revoked-late": `{"scope":"https://www.googleapis.com/auth/cloud-platform","expires_in":"3599"}`,
	}
	principals := map[string]string{"good": saMember, "read-only": saMember, "no-scope": saMember, "federated": federated}
	held := map[string][]string{
		saMember: {
			arRepo + " artifactregistry.repositories.downloadArtifacts",
			gcrRepo + " artifactregistry.repositories.downloadArtifacts",
			"projects/e2e-proj/locations/europe/repositories/eu.gcr.io artifactregistry.repositories.downloadArtifacts",
			domainGCRRepo + " artifactregistry.repositories.downloadArtifacts",
			// Container Registry's grant (roles/storage.objectViewer):
			// grants nothing on gcr.io since Artifact Registry serves it.
			"projects/other-proj storage.objects.get",
		},
		federated: {arRepo + " artifactregistry.repositories.downloadArtifacts"},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /tokeninfo", func(w http.ResponseWriter, r *http.Request) {
		body, ok := tokens[r.URL.Query().Get("access_token")]
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			body = `{"error":"invalid_token","error_description":"Invalid Value"}`
		}
		_, _ = w.Write([]byte(body))
	})
	mux.HandleFunc("GET /service_accounts/v1/metadata/x509/{email}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("email") != saEmail {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{keyID: string(certPEM)})
	})
	mux.HandleFunc("POST /fakegoogle/v1/checkPermission", func(w http.ResponseWriter, r *http.Request) {
		var req struct{ AccessToken, Member, Resource, Permission string }
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			t.Errorf("checkPermission body: %v", err)
		}
		who := req.Member
		if req.AccessToken != "" {
			var ok bool
			if who, ok = principals[req.AccessToken]; !ok {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"error":"invalid_token","error_description":"Invalid Value"}`))
				return
			}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"principal": who,
			"granted":   slices.Contains(held[who], req.Resource+" "+req.Permission),
		})
	})
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// newKey returns a service-account key JSON and the certificate Google would publish for it.
func newKey(t *testing.T, keyID string) (keyJSON, certPEM []byte) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: keyID},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	p8, _ := x509.MarshalPKCS8PrivateKey(k)
	keyJSON, _ = json.Marshal(map[string]string{
		"type": "service_account", "project_id": "e2e-proj", "private_key_id": keyID,
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})),
		"client_email": saEmail,
	})
	return keyJSON, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

type fixture struct {
	url     string // http://127.0.0.1:port of the public side
	host    string
	keyJSON []byte
}

// Images the fixture seeds, by their path in the registry.
var seeded = []string{"e2e-proj/private/app:v1", "other-proj/private/app:v1", "e2e-proj/app:v1", "other-proj/app:v1", "example.com/e2e/app:v1"}

func setup(t *testing.T, tokenPost string) fixture {
	t.Helper()
	// The tests only fetch manifests: any file will do as the seed image's
	// busybox, so they need no busybox on the machine.
	bb := filepath.Join(t.TempDir(), "busybox")
	if err := os.WriteFile(bb, []byte("not a real busybox"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	keyJSON, certPEM := newKey(t, "key-1")
	g := fakeGoogle(t, "key-1", certPEM)
	inner, err := startInnerRegistry(ctx, "", false)
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range seeded {
		if _, err := pushSeedImage(ctx, inner, ref, bb); err != nil {
			t.Fatal(err)
		}
	}
	srv := &server{google: newGoogleClient(g.URL), tokens: newTokenStore(), tokenTTL: time.Hour, tokenPost: tokenPost, inner: inner}
	pub := httptest.NewServer(srv.handler())
	t.Cleanup(pub.Close)
	u, _ := url.Parse(pub.URL)
	return fixture{url: pub.URL, host: u.Host, keyJSON: keyJSON}
}

// mirror sends registry requests as containerd does to a mirror of
// upstream: to the mirror's address, with ?ns=<upstream host>. Token
// requests go to the challenge's realm untouched.
type mirror struct{ upstream string }

func (m mirror) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path != "/v2/token" {
		r = r.Clone(r.Context())
		q := r.URL.Query()
		q.Set("ns", m.upstream)
		r.URL.RawQuery = q.Encode()
	}
	return http.DefaultTransport.RoundTrip(r)
}

// pull fetches the manifest of upstream/path (e.g. us-docker.pkg.dev,
// e2e-proj/private/app:v1) through the fixture acting as upstream's mirror.
func pull(f fixture, upstream, path, user, pass string) error {
	ref, err := name.ParseReference(f.host+"/"+path, name.Insecure)
	if err != nil {
		return err
	}
	opts := []remote.Option{remote.WithTransport(mirror{upstream})}
	if user != "" {
		opts = append(opts, remote.WithAuth(&authn.Basic{Username: user, Password: pass}))
	}
	img, err := remote.Image(ref, opts...)
	if err != nil {
		return err
	}
	_, err = img.Manifest()
	return err
}

func TestPullWithGCRCredentials(t *testing.T) {
	f := setup(t, postNotFound)
	const ar, arPath = "us-docker.pkg.dev", "e2e-proj/private/app:v1"
	for _, tc := range []struct {
		name, upstream, path, user, pass string
		wantErr                          string
	}{
		{"access token", ar, arPath, "oauth2accesstoken", "good", ""},
		{"read-only access token", ar, arPath, "oauth2accesstoken", "read-only", ""},
		{"federated token", ar, arPath, "oauth2accesstoken", "federated", ""},
		{"json key", ar, arPath, "_json_key", string(f.keyJSON), ""},
		{"base64 json key", ar, arPath, "_json_key_base64", base64.StdEncoding.EncodeToString(f.keyJSON), ""},
		{"json key, gcr.io", "gcr.io", "e2e-proj/app:v1", "_json_key", string(f.keyJSON), ""},
		{"access token, domain-scoped project on gcr.io", "gcr.io", "example.com/e2e/app:v1", "oauth2accesstoken", "good", ""},
		{"anonymous", ar, arPath, "", "", "UNAUTHORIZED"},
		{"unknown token", ar, arPath, "oauth2accesstoken", "bogus", "UNAUTHORIZED"},
		{"token without a read scope", ar, arPath, "oauth2accesstoken", "no-scope", "DENIED"},
		{"other username", ar, arPath, "someone", "good", "UNAUTHORIZED"},
		{"key not published", ar, arPath, "_json_key", strings.Replace(string(f.keyJSON), "key-1", "key-2", 1), "UNAUTHORIZED"},
		{"another project's repository", ar, "other-proj/private/app:v1", "oauth2accesstoken", "good",
			`DENIED: Permission "artifactregistry.repositories.downloadArtifacts" denied on resource "` + otherArRepo + `" (or it may not exist)`},
		{"federated token, another project's repository", ar, "other-proj/private/app:v1", "oauth2accesstoken", "federated",
			`DENIED: Permission "artifactregistry.repositories.downloadArtifacts" denied on resource "` + otherArRepo + `"`},
		{"federated token, gcr.io without a grant", "gcr.io", "e2e-proj/app:v1", "oauth2accesstoken", "federated",
			`DENIED: Permission "artifactregistry.repositories.downloadArtifacts" denied on resource "` + gcrRepo + `"`},
		{"json key, gcr.io with only Container Registry's storage grant", "gcr.io", "other-proj/app:v1", "_json_key", string(f.keyJSON),
			`DENIED: Permission "artifactregistry.repositories.downloadArtifacts" denied on resource "` + otherGCRRepo + `"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := pull(f, tc.upstream, tc.path, tc.user, tc.pass)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("pull: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("pull: got %v, want an error containing %s", err, tc.wantErr)
			}
		})
	}
}

// TestTokenPerRepository drives the token service directly: which
// repository a scope names depends on the registry host in "service".
func TestTokenPerRepository(t *testing.T) {
	f := setup(t, postNotFound)
	for _, tc := range []struct {
		name, service, scope, pass string
		wantStatus                 int
		wantBody                   string // an exact error message, for non-200 answers
	}{
		{"allowed repository", "us-docker.pkg.dev", "repository:e2e-proj/private/app:pull", "good", 200, ""},
		{"other project's repository", "us-docker.pkg.dev", "repository:other-proj/private/app:pull", "good", 403,
			`Permission "artifactregistry.repositories.downloadArtifacts" denied on resource "projects/other-proj/locations/us/repositories/private" (or it may not exist)`},
		{"same path, another location", "europe-west1-docker.pkg.dev", "repository:e2e-proj/private/app:pull", "good", 403,
			`Permission "artifactregistry.repositories.downloadArtifacts" denied on resource "projects/e2e-proj/locations/europe-west1/repositories/private" (or it may not exist)`},
		{"eu.gcr.io is the europe repository eu.gcr.io, legacy grant on the project", "eu.gcr.io", "repository:e2e-proj/app:pull", "good", 200, ""},
		{"gcr.io, another project", "gcr.io", "repository:other-proj/app:pull", "good", 403,
			`Permission "artifactregistry.repositories.downloadArtifacts" denied on resource "projects/other-proj/locations/us/repositories/gcr.io" (or it may not exist)`},
		{"push by a reader", "us-docker.pkg.dev", "repository:e2e-proj/private/app:push", "good", 403,
			`Permission "artifactregistry.repositories.uploadArtifacts" denied on resource "projects/e2e-proj/locations/us/repositories/private" (or it may not exist)`},
		{"pull and push by a reader: a pull token", "us-docker.pkg.dev", "repository:e2e-proj/private/app:pull,push", "good", 200, ""},
		{"token revoked after tokeninfo", "us-docker.pkg.dev", "repository:e2e-proj/private/app:pull", "revoked-late", 401, ""},
		{"not a Google registry host", f.host, "repository:e2e-proj/private/app:pull", "good", 400, ""},
		{"pkg.dev path without an image", "us-docker.pkg.dev", "repository:e2e-proj/app:pull", "good", 400, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := url.Values{"service": {tc.service}, "scope": {tc.scope}}
			req, _ := http.NewRequest("GET", f.url+"/v2/token?"+q.Encode(), nil)
			req.SetBasicAuth("oauth2accesstoken", tc.pass)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body struct {
				Token  string
				Errors []struct{ Code, Message string }
			}
			_ = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d (%+v)", resp.StatusCode, tc.wantStatus, body.Errors)
			}
			if tc.wantStatus == 200 && body.Token == "" {
				t.Fatal("200 without a token")
			}
			if tc.wantBody != "" {
				want := []struct{ Code, Message string }{{"DENIED", tc.wantBody}}
				if diff := cmp.Diff(want, body.Errors); diff != "" {
					t.Errorf("errors (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// A token is bound to the registry host it was issued for: the same path
// under another host (another repository in IAM's terms) needs its own.
func TestTokenBoundToHost(t *testing.T) {
	f := setup(t, postNotFound)
	q := url.Values{"service": {"gcr.io"}, "scope": {"repository:e2e-proj/app:pull"}}
	req, _ := http.NewRequest("GET", f.url+"/v2/token?"+q.Encode(), nil)
	req.SetBasicAuth("oauth2accesstoken", "good")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct{ Token string }
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	for ns, want := range map[string]int{"gcr.io": 200, "us.gcr.io": 401} {
		req, _ := http.NewRequest("HEAD", f.url+"/v2/e2e-proj/app/manifests/v1?ns="+ns, nil)
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("HEAD with a gcr.io token as %s: %d, want %d", ns, resp.StatusCode, want)
		}
	}
}

func TestChallenge(t *testing.T) {
	f := setup(t, postNotFound)
	resp, err := http.Get(f.url + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := `Bearer realm="http://` + f.host + `/v2/token",service="` + f.host + `"`
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != want {
		t.Fatalf("GET /v2/: %d %q, want 401 %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), want)
	}
	// As a mirror, the challenge names the upstream registry as the service.
	resp, err = http.Get(f.url + "/v2/?ns=gcr.io")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want = `Bearer realm="http://` + f.host + `/v2/token",service="gcr.io"`
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != want {
		t.Fatalf("GET /v2/?ns=gcr.io: %d %q, want 401 %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), want)
	}
	req, _ := http.NewRequest("GET", f.url+"/v2/e2e-proj/private/app/manifests/v1", nil)
	req.Header.Set("Authorization", "Bearer not-a-token")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Errors []struct{ Code string } }
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != 401 || len(body.Errors) != 1 || body.Errors[0].Code != "UNAUTHORIZED" ||
		!strings.Contains(resp.Header.Get("WWW-Authenticate"), `scope="repository:e2e-proj/private/app:pull"`) {
		t.Fatalf("bad token: %d %v %q", resp.StatusCode, body, resp.Header.Get("WWW-Authenticate"))
	}
}

// containerd first POSTs an OAuth2 password grant; gcr.io answers 404 and containerd retries with GET.
func TestTokenPOST(t *testing.T) {
	form := url.Values{"grant_type": {"password"}, "username": {"oauth2accesstoken"}, "password": {"good"},
		"scope": {"repository:e2e-proj/private/app:pull"}, "service": {"us-docker.pkg.dev"}, "client_id": {"containerd-client"}}
	f := setup(t, postNotFound)
	resp, err := http.PostForm(f.url+"/v2/token", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("POST in gcr mode: %d, want 404", resp.StatusCode)
	}

	f = setup(t, postAccept)
	resp, err = http.PostForm(f.url+"/v2/token", form)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if resp.StatusCode != 200 || tok.AccessToken == "" || tok.ExpiresIn <= 0 {
		t.Fatalf("POST in accept mode: %d %+v", resp.StatusCode, tok)
	}
	req, _ := http.NewRequest("HEAD", f.url+"/v2/e2e-proj/private/app/manifests/v1?ns=us-docker.pkg.dev", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("HEAD manifest with the POST token: %d", resp.StatusCode)
	}
}
