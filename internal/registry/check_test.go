package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	goodToken   = "ya29.good-token"
	deniedRepo  = "other-proj/private/app"
	readersRepo = "proj/private/app"
)

// fakeAR answers like Artifact Registry (and gcr.io, which Artifact
// Registry serves): /v2/ challenges with a Bearer realm on the same host,
// the token endpoint takes Basic oauth2accesstoken:<token> or
// _json_key:<key> and refuses with 403 DENIED a repository the identity
// may not read, and manifests are served for one tag only
// (https://cloud.google.com/artifact-registry/docs/docker/authentication,
// https://distribution.github.io/distribution/spec/auth/token/).
type fakeAR struct {
	srv      *httptest.Server
	requests []string
	accept   string
	realm    string // overrides the challenge's realm
}

func newFakeAR(t *testing.T) *fakeAR {
	f := &fakeAR{}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAR) host() string { return strings.TrimPrefix(f.srv.URL, "https://") }

func registryError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": code, "message": msg}}})
}

func (f *fakeAR) serve(w http.ResponseWriter, r *http.Request) {
	f.requests = append(f.requests, r.Method+" "+r.URL.Path)
	switch {
	case r.URL.Path == "/v2/token":
		user, pass, ok := r.BasicAuth()
		if !ok || (user != "oauth2accesstoken" && user != "_json_key") || (pass != goodToken && pass != `{"type":"service_account"}`) {
			registryError(w, http.StatusUnauthorized, "UNAUTHORIZED", "Not Authorized.")
			return
		}
		scope := r.URL.Query().Get("scope")
		if r.URL.Query().Get("service") != f.host() {
			registryError(w, http.StatusBadRequest, "NAME_INVALID", "wrong service")
			return
		}
		if scope == "repository:"+deniedRepo+":pull" {
			registryError(w, http.StatusForbidden, "DENIED", `Permission "artifactregistry.repositories.downloadArtifacts" denied on resource "projects/other-proj/locations/us/repositories/private" (or it may not exist)`)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"token": "registry-" + scope})
	case r.Header.Get("Authorization") == "":
		realm := f.realm
		if realm == "" {
			realm = f.srv.URL + "/v2/token"
		}
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="%s",service="%s"`, realm, f.host()))
		registryError(w, http.StatusUnauthorized, "UNAUTHORIZED", "You don't have the needed permissions")
	case r.Method == http.MethodHead && strings.HasPrefix(r.URL.Path, "/v2/"+readersRepo+"/manifests/"):
		f.accept = r.Header.Get("Accept")
		if r.Header.Get("Authorization") != "Bearer registry-repository:"+readersRepo+":pull" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if strings.HasSuffix(r.URL.Path, "/v1") {
			w.WriteHeader(http.StatusOK)
			return
		}
		w.WriteHeader(http.StatusNotFound) // HEAD: MANIFEST_UNKNOWN without a body
	default:
		registryError(w, http.StatusNotFound, "NAME_UNKNOWN", "unknown")
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		path     string
		cred     Credential
		realm    string
		wantKind Kind
		wantErr  []string
	}{
		{name: "readable image passes", path: readersRepo + ":v1", cred: Credential{"oauth2accesstoken", goodToken, "sa@p.iam"}, wantKind: -1},
		{name: "json key passes", path: readersRepo + ":v1", cred: Credential{"_json_key", `{"type":"service_account"}`, "sa@p.iam"}, wantKind: -1},
		{name: "403 names principal and repository", path: deniedRepo + ":v1", cred: Credential{"oauth2accesstoken", goodToken, "sa@p.iam"}, wantKind: KindDenied,
			wantErr: []string{"403 Forbidden", "sa@p.iam lacks roles/artifactregistry.reader on repository", `DENIED: Permission "artifactregistry.repositories.downloadArtifacts" denied`}},
		{name: "404 no such image", path: readersRepo + ":v2", cred: Credential{"oauth2accesstoken", goodToken, "sa@p.iam"}, wantKind: KindNotFound, wantErr: []string{"no such image (404 Not Found)"}},
		{name: "401 rejected token", path: readersRepo + ":v1", cred: Credential{"oauth2accesstoken", "ya29.revoked", "sa@p.iam"}, wantKind: KindUnauthorized,
			wantErr: []string{"the registry rejected the token (401 Unauthorized) for sa@p.iam"}},
		{name: "realm on another host is refused", path: readersRepo + ":v1", cred: Credential{"oauth2accesstoken", goodToken, "sa@p.iam"}, realm: "https://evil.example/token", wantKind: KindOther,
			wantErr: []string{`the registry's token endpoint "https://evil.example/token" is not on https://`, "refusing to send the credential there"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeAR(t)
			f.realm = tc.realm
			ref, err := ParseReference(f.host() + "/" + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			err = (&Checker{HTTP: f.srv.Client()}).Check(context.Background(), ref, tc.cred)
			if tc.wantKind < 0 {
				if err != nil {
					t.Fatalf("Check: %v (requests %v)", err, f.requests)
				}
				if diff := cmp.Diff(strings.Join(ManifestAccept, ", "), f.accept); diff != "" {
					t.Errorf("manifest Accept (-want +got):\n%s", diff)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Kind != tc.wantKind {
				t.Fatalf("Check = %v, want kind %d", err, tc.wantKind)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), tc.cred.Password) {
				t.Errorf("error holds the credential: %q", err)
			}
			if tc.realm != "" && len(f.requests) != 1 {
				t.Errorf("requests after a foreign realm: %v", f.requests)
			}
		})
	}
}

// TestCheckMirror: with a mirror (test rigs), every request goes there
// with ?ns=HOST, as containerd sends it, and the realm must be on the mirror.
func TestCheckMirror(t *testing.T) {
	t.Parallel()
	// nil is what a production run passes (runner.Deps.HTTPClient unset);
	// it panicked once, which only the e2e tier saw.
	for _, tc := range []struct {
		name   string
		client func(*httptest.Server) *http.Client
	}{
		{name: "injected client", client: func(s *httptest.Server) *http.Client { return s.Client() }},
		{name: "no client", client: func(*httptest.Server) *http.Client { return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkMirror(t, tc.client)
		})
	}
}

func checkMirror(t *testing.T, client func(*httptest.Server) *http.Client) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Method+" "+r.URL.Path+" ns="+r.URL.Query().Get("ns")+" service="+r.URL.Query().Get("service"))
		switch {
		case r.URL.Path == "/v2/token":
			_ = json.NewEncoder(w).Encode(map[string]string{"access_token": "t"})
		case r.Header.Get("Authorization") == "":
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="http://%s/v2/token",service="%s"`, r.Host, r.URL.Query().Get("ns")))
			w.WriteHeader(http.StatusUnauthorized)
		default:
			w.WriteHeader(http.StatusOK)
		}
	}))
	t.Cleanup(srv.Close)
	mirror, _ := url.Parse(srv.URL)
	ref, err := ParseReference("us-docker.pkg.dev/p/r/app@sha256:" + strings.Repeat("a", 64))
	if err != nil {
		t.Fatal(err)
	}
	if err := (&Checker{HTTP: client(srv), Mirror: mirror}).Check(context.Background(), ref, Credential{"oauth2accesstoken", "x", "sa"}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"GET /v2/ ns=us-docker.pkg.dev service=",
		"GET /v2/token ns= service=us-docker.pkg.dev",
		"HEAD /v2/p/r/app/manifests/sha256:" + strings.Repeat("a", 64) + " ns=us-docker.pkg.dev service=",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestParseReference(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in       string
		want     Reference
		wantRepo string
		wantErr  string
	}{
		{in: "us-docker.pkg.dev/proj/repo/app:1.0", want: Reference{"us-docker.pkg.dev", "proj/repo/app", "1.0"}, wantRepo: "projects/proj/locations/us/repositories/repo"},
		{in: "gcr.io/proj/app", want: Reference{"gcr.io", "proj/app", "latest"}, wantRepo: "projects/proj/locations/us/repositories/gcr.io"},
		{in: "eu.gcr.io/proj/app:v", want: Reference{"eu.gcr.io", "proj/app", "v"}, wantRepo: "projects/proj/locations/europe/repositories/eu.gcr.io"},
		{in: "docker.europe-west1.rep.pkg.dev/p/r/i:t", want: Reference{"docker.europe-west1.rep.pkg.dev", "p/r/i", "t"}, wantRepo: "projects/p/locations/europe-west1/repositories/r"},
		{in: "gcr.io/example.com/proj/app:v", want: Reference{"gcr.io", "example.com/proj/app", "v"}, wantRepo: "projects/example.com:proj/locations/us/repositories/gcr.io"},
		{in: "us-docker.pkg.dev/example.com/proj/repo/app:v", want: Reference{"us-docker.pkg.dev", "example.com/proj/repo/app", "v"}, wantRepo: "projects/example.com:proj/locations/us/repositories/repo"},
		{in: "localhost:5000/a/b:t@sha256:" + strings.Repeat("0", 64), want: Reference{"localhost:5000", "a/b", "sha256:" + strings.Repeat("0", 64)}},
		{in: "app:v1", wantErr: "does not start with a registry host"},
		{in: "library/app", wantErr: "does not start with a registry host"},
		{in: "gcr.io/Proj/app", wantErr: "invalid repository path"},
		{in: "gcr.io/p/app@sha256:zz", wantErr: "invalid digest"},
		{in: "gcr.io/p/app:bad/tag", wantErr: "invalid tag"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseReference(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if got.Repository() != tc.wantRepo {
				t.Errorf("Repository() = %q, want %q", got.Repository(), tc.wantRepo)
			}
		})
	}
}

func TestHostMatches(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pattern, host string
		want          bool
	}{
		{"*-docker.pkg.dev", "us-docker.pkg.dev", true},
		{"*.gcr.io", "eu.gcr.io", true},
		{"*.gcr.io", "gcr.io", false},
		{"gcr.io", "gcr.io", true},
		{"docker.*.rep.pkg.dev", "docker.us.rep.pkg.dev", true},
		{"*-docker.pkg.dev", "us-docker.pkg.dev.evil.com", false},
		{"registry.local:5000", "registry.local:5000", true},
		{"registry.local:5000", "registry.local", false},
	} {
		if got := HostMatches(tc.pattern, tc.host); got != tc.want {
			t.Errorf("HostMatches(%q, %q) = %v, want %v", tc.pattern, tc.host, got, tc.want)
		}
	}
}
