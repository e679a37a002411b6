package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

const (
	postNotFound = "404"    // gcr.io answers 404 to the OAuth2 POST; containerd/docker then retry with GET
	postAccept   = "accept" // serve the OAuth2 password grant too
)

// OAuth scopes that let a Google access token read (pull) or write (push)
// images in GCR / Artifact Registry.
var (
	readScopes = []string{
		"https://www.googleapis.com/auth/cloud-platform",
		"https://www.googleapis.com/auth/cloud-platform.read-only",
		"https://www.googleapis.com/auth/devstorage.read_only",
		"https://www.googleapis.com/auth/devstorage.read_write",
		"https://www.googleapis.com/auth/devstorage.full_control",
	}
	writeScopes = []string{
		"https://www.googleapis.com/auth/cloud-platform",
		"https://www.googleapis.com/auth/devstorage.read_write",
		"https://www.googleapis.com/auth/devstorage.full_control",
	}
)

type server struct {
	google    *googleClient
	tokens    *tokenStore
	tokenTTL  time.Duration
	tokenPost string
	inner     string // host:port of the unauthenticated registry
}

func (s *server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/v2/token", s.serveToken)
	mux.Handle("/v2/", s.registryProxy())
	return mux
}

// principal is who a set of Basic credentials turned out to be.
type principal struct {
	subject           string
	canRead, canWrite bool      // the credential's OAuth scopes allow reading / writing images
	expiry            time.Time // zero: no limit from the credential itself
	iam               iamIdentity
}

// errorJSON writes a registry-style error body: {"errors":[{"code":…,"message":…}]}.
func errorJSON(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": code, "message": msg}}})
}

// serveToken is GCR's https://<host>/v2/token.
func (s *server) serveToken(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		user, pass, ok := r.BasicAuth()
		if !ok {
			// Every repository here is private: no anonymous tokens.
			log.Printf("token: anonymous request for %q refused", r.URL.Query()["scope"])
			errorJSON(w, http.StatusUnauthorized, "UNAUTHORIZED", "Unauthenticated request. Unauthenticated requests do not have permission to pull from this repository.")
			return
		}
		s.issueToken(w, r, user, pass, r.URL.Query().Get("service"), r.URL.Query()["scope"], false)
	case http.MethodPost:
		if s.tokenPost == postNotFound {
			// What gcr.io does; containerd and docker fall back to GET with Basic auth.
			log.Printf("token: POST answered 404 (gcr.io behaviour)")
			http.NotFound(w, r)
			return
		}
		if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "password" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"unsupported_grant_type"}`))
			return
		}
		f := r.PostForm
		s.issueToken(w, r, f.Get("username"), f.Get("password"), f.Get("service"), []string{f.Get("scope")}, true)
	default:
		w.Header().Set("Allow", "GET, POST")
		errorJSON(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "method not allowed")
	}
}

// issueToken answers a token request for service (the registry host named
// in our challenge) and the requested scopes, per the Docker Registry token
// authentication spec (https://distribution.github.io/distribution/spec/auth/token/):
// a token granting what the principal may do. A repository the principal may
// do none of the requested actions on fails the whole request with 403
// DENIED and Artifact Registry's "Permission … denied on resource …" message,
// which is what docker and containerd then report.
func (s *server) issueToken(w http.ResponseWriter, r *http.Request, user, pass, service string, scopes []string, oauth bool) {
	p, err := s.authenticate(r, user, pass)
	if err != nil {
		s.refuse(w, user, err)
		return
	}
	if !p.canRead {
		log.Printf("token: %s has no scope that allows reading images", p.subject)
		errorJSON(w, http.StatusForbidden, "DENIED", "Permission denied: the credential has no OAuth scope that allows reading images (e.g. https://www.googleapis.com/auth/cloud-platform).")
		return
	}
	if service == "" {
		service = registryHost(r)
	}
	g := grants{}
	for _, scope := range scopes {
		for _, sc := range strings.Fields(scope) {
			path, actions, ok := parseRepoScope(sc)
			if !ok {
				continue // registry:catalog:* and friends: nothing to grant here
			}
			repo, err := locate(service, path)
			if err != nil {
				log.Printf("token: %s: %v", p.subject, err)
				errorJSON(w, http.StatusBadRequest, "NAME_INVALID", err.Error())
				return
			}
			key := service + "/" + path
			missing := ""
			for _, a := range expandActions(actions) {
				if a == "push" && !p.canWrite {
					continue
				}
				who, allowed, perm, err := s.authorize(r.Context(), p.iam, repo, a)
				if err != nil {
					s.refuse(w, user, err)
					return
				}
				if who != "" && p.iam.accessToken != "" {
					p.subject = user + "(" + who + ")"
				}
				if !allowed {
					if missing == "" {
						missing = perm
					}
					continue
				}
				if g[key] == nil {
					g[key] = map[string]bool{}
				}
				g[key][a] = true
			}
			if g[key] == nil && missing != "" {
				msg := deniedMessage(missing, repo.resource)
				log.Printf("token: %s refused for %s: %s", p.subject, sc, msg)
				errorJSON(w, http.StatusForbidden, "DENIED", msg)
				return
			}
		}
	}
	now := time.Now()
	expiry := now.Add(s.tokenTTL)
	if !p.expiry.IsZero() && p.expiry.Before(expiry) {
		expiry = p.expiry
	}
	tok := s.tokens.issue(registryToken{subject: p.subject, grants: g, expiry: expiry})
	log.Printf("token: issued to %s for [%s] until %s (via %s)", p.subject, g, expiry.Format(time.RFC3339), map[bool]string{true: "POST", false: "GET"}[oauth])
	resp := map[string]any{
		"access_token": tok,
		"expires_in":   int(expiry.Sub(now).Seconds()),
		"issued_at":    now.UTC().Format(time.RFC3339),
	}
	if oauth {
		resp["scope"] = strings.Join(scopes, " ")
	} else {
		resp["token"] = tok
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

// refuse answers a failed authentication: 401 for credentials Google does
// not accept, 500 when Google could not be asked.
func (s *server) refuse(w http.ResponseWriter, user string, err error) {
	log.Printf("token: %s refused: %v", user, err)
	if errors.Is(err, errInvalidCredential) {
		errorJSON(w, http.StatusUnauthorized, "UNAUTHORIZED", "Not Authorized. "+err.Error())
		return
	}
	errorJSON(w, http.StatusInternalServerError, "UNKNOWN", err.Error())
}

// expandActions turns "*" into pull and push and drops duplicates.
func expandActions(actions []string) []string {
	var out []string
	for _, a := range actions {
		xs := []string{a}
		if a == "*" {
			xs = []string{"pull", "push"}
		}
		for _, x := range xs {
			if (x == "pull" || x == "push") && !slices.Contains(out, x) {
				out = append(out, x)
			}
		}
	}
	return out
}

// authenticate maps GCR's Basic credential conventions to a principal.
func (s *server) authenticate(r *http.Request, user, pass string) (principal, error) {
	switch user {
	case "oauth2accesstoken":
		ti, err := s.google.tokenInfo(r.Context(), pass)
		if err != nil {
			return principal{}, err
		}
		hasAny := func(want []string) bool {
			return slices.ContainsFunc(ti.Scopes, func(s string) bool { return slices.Contains(want, s) })
		}
		return principal{
			subject:  "oauth2accesstoken",
			canRead:  hasAny(readScopes),
			canWrite: hasAny(writeScopes),
			expiry:   time.Now().Add(ti.ExpiresIn),
			iam:      iamIdentity{accessToken: pass},
		}, nil
	case "_json_key", "_json_key_base64":
		key := []byte(pass)
		if user == "_json_key_base64" {
			var err error
			if key, err = base64.StdEncoding.DecodeString(strings.TrimSpace(pass)); err != nil {
				return principal{}, fmt.Errorf("%w: _json_key_base64: %v", errInvalidCredential, err)
			}
		}
		email, err := s.google.verifyKey(r.Context(), key)
		if err != nil {
			return principal{}, err
		}
		// A key carries no OAuth scopes: it acts with its service account's IAM roles.
		return principal{subject: user + "(" + email + ")", canRead: true, canWrite: true,
			iam: iamIdentity{member: "serviceAccount:" + email}}, nil
	}
	return principal{}, fmt.Errorf("%w: unknown username %q (want oauth2accesstoken, _json_key or _json_key_base64)", errInvalidCredential, user)
}

// parseRepoScope splits "repository:<name>:<action>[,<action>]".
func parseRepoScope(scope string) (repo string, actions []string, ok bool) {
	rest, found := strings.CutPrefix(scope, "repository:")
	if !found {
		return "", nil, false
	}
	i := strings.LastIndex(rest, ":")
	if i <= 0 {
		return "", nil, false
	}
	return rest[:i], strings.Split(rest[i+1:], ","), true
}

// repoPath matches the distribution API routes that name a repository.
var repoPath = regexp.MustCompile(`^/v2/(.+)/(manifests/[^/]+|blobs/uploads/?.*|blobs/[^/]+|tags/list|referrers/[^/]+)$`)

// registryProxy forwards /v2/… to the inner registry when the request carries
// a registry token that covers it, and answers 401 with GCR's challenge otherwise.
func (s *server) registryProxy() http.Handler {
	target := &url.URL{Scheme: "http", Host: s.inner}
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.SetXForwarded()       // distribution builds Location URLs from X-Forwarded-Host/Proto
		pr.Out.Host = pr.In.Host // …and from Host
		pr.Out.Header.Del("Authorization")
	}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
		repo, action := "", ""
		if m := repoPath.FindStringSubmatch(r.URL.Path); m != nil {
			repo, action = m[1], "pull"
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				action = "push"
			}
		}
		bearer, hasBearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		tok, valid := s.tokens.lookup(strings.TrimSpace(bearer))
		switch {
		case !hasBearer || !valid:
			s.challenge(w, r, repo, action, "")
			log.Printf("registry: %s %s -> 401 (%s)", r.Method, r.URL.Path, map[bool]string{true: "invalid or expired token", false: "no token"}[hasBearer])
			return
		case repo != "" && !tok.grants.allows(registryHost(r)+"/"+repo, action):
			s.challenge(w, r, repo, action, "insufficient_scope")
			log.Printf("registry: %s %s -> 401 (%s has no %s on %s)", r.Method, r.URL.Path, tok.subject, action, repo)
			return
		}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		rp.ServeHTTP(sw, r)
		log.Printf("registry: %s %s -> %d (%s)", r.Method, r.URL.Path, sw.status, tok.subject)
	})
}

// challenge answers like gcr.io: 401, a Bearer challenge naming our token
// endpoint, and a registry error body.
func (s *server) challenge(w http.ResponseWriter, r *http.Request, repo, action, errCode string) {
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	// service names the registry (gcr.io, us-docker.pkg.dev, …) even when
	// the request reached us as a mirror: the token service authorises by it.
	c := fmt.Sprintf(`Bearer realm="%s://%s/v2/token",service="%s"`, scheme, r.Host, registryHost(r))
	if repo != "" {
		c += fmt.Sprintf(`,scope="repository:%s:%s"`, repo, action)
	}
	if errCode != "" {
		c += fmt.Sprintf(`,error="%s"`, errCode)
	}
	w.Header().Set("WWW-Authenticate", c)
	errorJSON(w, http.StatusUnauthorized, "UNAUTHORIZED", "You don't have the needed permissions to perform this operation, and you may have invalid credentials. To authenticate your request, follow the steps in: https://cloud.google.com/container-registry/docs/advanced-authentication")
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Flush keeps streaming blob downloads working through the wrapper.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
