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
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

const saEmail = "puller@e2e-proj.iam.gserviceaccount.com"

// fakeGoogle serves tokeninfo for a few fixed tokens and the x509 metadata of one key.
func fakeGoogle(t *testing.T, keyID string, certPEM []byte) *httptest.Server {
	tokens := map[string]string{
		"good":      `{"scope":"https://www.googleapis.com/auth/cloud-platform","expires_in":"3599","email":"` + saEmail + `"}`,
		"read-only": `{"scope":"openid https://www.googleapis.com/auth/devstorage.read_only","expires_in":3599,"email":"` + saEmail + `"}`,
		"no-scope":  `{"scope":"https://www.googleapis.com/auth/userinfo.email","expires_in":"3599","email":"` + saEmail + `"}`,
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

func setup(t *testing.T, tokenPost string) fixture {
	t.Helper()
	bb := "/bin/busybox"
	if _, err := os.Stat(bb); err != nil {
		t.Skip("needs /bin/busybox for the seed image")
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	keyJSON, certPEM := newKey(t, "key-1")
	g := fakeGoogle(t, "key-1", certPEM)
	inner, err := startInnerRegistry(ctx, "", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pushSeedImage(ctx, inner, "e2e-proj/private/app:v1", bb); err != nil {
		t.Fatal(err)
	}
	srv := &server{google: newGoogleClient(g.URL), tokens: newTokenStore(), tokenTTL: time.Hour, tokenPost: tokenPost, inner: inner}
	pub := httptest.NewServer(srv.handler())
	t.Cleanup(pub.Close)
	u, _ := url.Parse(pub.URL)
	return fixture{url: pub.URL, host: u.Host, keyJSON: keyJSON}
}

func pull(f fixture, user, pass string) error {
	ref, err := name.ParseReference(f.host+"/e2e-proj/private/app:v1", name.Insecure)
	if err != nil {
		return err
	}
	opts := []remote.Option{}
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
	for _, tc := range []struct {
		name, user, pass string
		wantErr          string
	}{
		{"access token", "oauth2accesstoken", "good", ""},
		{"read-only access token", "oauth2accesstoken", "read-only", ""},
		{"json key", "_json_key", string(f.keyJSON), ""},
		{"base64 json key", "_json_key_base64", base64.StdEncoding.EncodeToString(f.keyJSON), ""},
		{"anonymous", "", "", "UNAUTHORIZED"},
		{"unknown token", "oauth2accesstoken", "bogus", "UNAUTHORIZED"},
		{"token without a read scope", "oauth2accesstoken", "no-scope", "DENIED"},
		{"other username", "someone", "good", "UNAUTHORIZED"},
		{"key not published", "_json_key", strings.Replace(string(f.keyJSON), "key-1", "key-2", 1), "UNAUTHORIZED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := pull(f, tc.user, tc.pass)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("pull: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("pull: got %v, want an error with code %s", err, tc.wantErr)
			}
		})
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
		"scope": {"repository:e2e-proj/private/app:pull"}, "service": {"x"}, "client_id": {"containerd-client"}}
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
	req, _ := http.NewRequest("HEAD", f.url+"/v2/e2e-proj/private/app/manifests/v1", nil)
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
