package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ManifestAccept is what containerd's resolver accepts for a manifest HEAD:
// both Docker and OCI manifests and indexes.
var ManifestAccept = []string{
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.oci.image.index.v1+json",
	"*/*",
}

// Credential is what the pull secret will hold for the registry, plus who
// it acts as (for the error message only).
type Credential struct {
	Username  string // oauth2accesstoken or _json_key
	Password  string
	Principal string
}

// Checker pulls a manifest the way kubelet's containerd will.
type Checker struct {
	// HTTP is the client; nil means one with defaultTimeout (a run that
	// sets none, as production does).
	HTTP *http.Client
	// Mirror, when set, receives every request instead of the image's
	// host, with ?ns=HOST, as a containerd registry mirror does. Only
	// test rigs set it (EnvTestMirror), to reach a fake registry.
	Mirror *url.URL
}

// EnvTestMirror, set to an http(s) URL, sends verify_image's requests to
// that registry mirror (containerd's ?ns= protocol). It exists for test
// rigs whose fake registry stands in for gcr.io and Artifact Registry;
// like PULLSECRET_TEST_ALLOW_HTTP_ENDPOINTS it is not an input, and only a
// test-rig build reads it (package testrig).
const EnvTestMirror = "PULLSECRET_TEST_REGISTRY_MIRROR"

// Kind classifies a failed check.
type Kind int

const (
	KindOther        Kind = iota
	KindDenied            // 403: the identity may not read the repository
	KindNotFound          // 404: no such image
	KindUnauthorized      // 401: the credential was rejected
)

// Error is a failed check. Its text never holds the credential.
type Error struct {
	Image     string
	Kind      Kind
	Status    string
	Principal string
	// Repository is the IAM resource of the image, "" off Google.
	Repository string
	// Message is the registry's own error message, if any.
	Message string
	err     error
}

func (e *Error) Error() string {
	said := ""
	if e.Message != "" {
		said = " (the registry said: " + e.Message + ")"
	}
	switch e.Kind {
	case KindDenied:
		repo := e.Repository
		if repo == "" {
			repo = "the repository of " + e.Image
		}
		return fmt.Sprintf("%s: access denied (%s): %s lacks roles/artifactregistry.reader on repository %s%s", e.Image, e.Status, e.Principal, repo, said)
	case KindNotFound:
		return fmt.Sprintf("%s: no such image (%s): check the repository path and the tag or digest%s", e.Image, e.Status, said)
	case KindUnauthorized:
		return fmt.Sprintf("%s: the registry rejected the token (%s) for %s%s", e.Image, e.Status, e.Principal, said)
	}
	if e.err != nil {
		return fmt.Sprintf("%s: the registry check failed: %v", e.Image, e.err)
	}
	return fmt.Sprintf("%s: the registry answered %s%s", e.Image, e.Status, said)
}

func (e *Error) Unwrap() error { return e.err }

// Check authenticates to ref's registry with cred and asks for its
// manifest: GET /v2/ for the Bearer challenge, GET realm?service=…&scope=
// repository:PATH:pull with Basic credentials, then HEAD the manifest with
// the bearer token (https://distribution.github.io/distribution/spec/auth/token/).
func (c *Checker) Check(ctx context.Context, ref Reference, cred Credential) error {
	fail := func(kind Kind, resp *http.Response, err error) error {
		e := &Error{Image: ref.String(), Kind: kind, Principal: cred.Principal, Repository: ref.Repository(), err: err}
		if resp != nil {
			e.Status = resp.Status
			e.Message = registryMessage(resp.Body, cred.Password)
		}
		return e
	}
	base, ns := c.endpoint(ref)
	resp, err := c.do(ctx, http.MethodGet, base+"/v2/"+ns, nil)
	if err != nil {
		return fail(KindOther, nil, err)
	}
	defer drain(resp)
	bearer := ""
	switch resp.StatusCode {
	case http.StatusOK:
		// An open registry: the manifest HEAD needs no token.
	case http.StatusUnauthorized:
		realm, service, err := parseChallenge(resp.Header.Get("WWW-Authenticate"))
		if err != nil {
			return fail(KindOther, resp, err)
		}
		if err := sameHost(realm, base); err != nil {
			return fail(KindOther, resp, err)
		}
		if bearer, err = c.token(ctx, realm, service, ref, cred, fail); err != nil {
			return err
		}
	default:
		return fail(KindOther, resp, nil)
	}

	h := http.Header{"Accept": {strings.Join(ManifestAccept, ", ")}}
	if bearer != "" {
		h.Set("Authorization", "Bearer "+bearer)
	}
	resp, err = c.do(ctx, http.MethodHead, base+"/v2/"+ref.Path+"/manifests/"+ref.Object+ns, h)
	if err != nil {
		return fail(KindOther, nil, err)
	}
	defer drain(resp)
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusNotFound:
		return fail(KindNotFound, resp, nil)
	case http.StatusForbidden:
		return fail(KindDenied, resp, nil)
	case http.StatusUnauthorized:
		return fail(KindUnauthorized, resp, nil)
	}
	return fail(KindOther, resp, nil)
}

// token asks the realm for a pull token, with the credential as Basic
// auth, which is how containerd and docker log in to gcr.io.
func (c *Checker) token(ctx context.Context, realm, service string, ref Reference, cred Credential, fail func(Kind, *http.Response, error) error) (string, error) {
	u, err := url.Parse(realm)
	if err != nil {
		return "", fail(KindOther, nil, fmt.Errorf("the challenge's realm %q is not a URL", realm))
	}
	q := u.Query()
	if service != "" {
		q.Set("service", service)
	}
	q.Set("scope", "repository:"+ref.Path+":pull")
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", fail(KindOther, nil, err)
	}
	req.SetBasicAuth(cred.Username, cred.Password)
	resp, err := c.client().Do(req)
	if err != nil {
		return "", fail(KindOther, nil, redactURLError(err))
	}
	defer drain(resp)
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusForbidden:
		return "", fail(KindDenied, resp, nil)
	case http.StatusUnauthorized:
		return "", fail(KindUnauthorized, resp, nil)
	default:
		return "", fail(KindOther, resp, nil)
	}
	var body struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil {
		return "", fail(KindOther, nil, errors.New("the registry's token endpoint answered 200 without a JSON token"))
	}
	if body.Token == "" {
		body.Token = body.AccessToken
	}
	if body.Token == "" {
		return "", fail(KindOther, nil, errors.New("the registry's token endpoint answered 200 without a JSON token"))
	}
	return body.Token, nil
}

// endpoint is where requests for ref go, and the query each carries.
func (c *Checker) endpoint(ref Reference) (base, query string) {
	if c.Mirror != nil {
		return strings.TrimSuffix(c.Mirror.String(), "/"), "?ns=" + url.QueryEscape(ref.Host)
	}
	return "https://" + ref.Host, ""
}

func (c *Checker) do(ctx context.Context, method, u string, h http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := c.client().Do(req)
	if err != nil {
		return nil, redactURLError(err)
	}
	return resp, nil
}

// sameHost refuses a realm on another host than the registry's: the
// credential goes to the realm, and a registry must not be able to send
// it elsewhere (nor downgrade it to plain http).
func sameHost(realm, base string) error {
	r, err := url.Parse(realm)
	if err != nil {
		return fmt.Errorf("the challenge's realm %q is not a URL", realm)
	}
	b, _ := url.Parse(base)
	if !strings.EqualFold(r.Host, b.Host) || r.Scheme != b.Scheme {
		return fmt.Errorf("the registry's token endpoint %q is not on %s; refusing to send the credential there", realm, b.Scheme+"://"+b.Host)
	}
	return nil
}

// parseChallenge reads realm and service from a Bearer challenge
// (RFC 6750 §3, as the Docker token spec uses it).
func parseChallenge(h string) (realm, service string, err error) {
	scheme, params, _ := strings.Cut(strings.TrimSpace(h), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", "", fmt.Errorf("the registry asked for authentication without a Bearer challenge (WWW-Authenticate: %q)", h)
	}
	for params != "" {
		var kv string
		params = strings.TrimLeft(params, " ,")
		k, rest, ok := strings.Cut(params, "=")
		if !ok {
			break
		}
		if strings.HasPrefix(rest, `"`) {
			end := strings.Index(rest[1:], `"`)
			if end < 0 {
				break
			}
			kv, params = rest[1:1+end], rest[2+end:]
		} else {
			kv, params, _ = strings.Cut(rest, ",")
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "realm":
			realm = kv
		case "service":
			service = kv
		}
	}
	if realm == "" {
		return "", "", fmt.Errorf("the registry's Bearer challenge names no realm (WWW-Authenticate: %q)", h)
	}
	return realm, service, nil
}

// registryMessage is the first message of a registry error body
// ({"errors":[{"code":…,"message":…}]}), bounded and with the credential
// cut out should a registry ever echo it.
func registryMessage(body io.Reader, secret string) string {
	var e struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.NewDecoder(io.LimitReader(body, 64<<10)).Decode(&e) != nil || len(e.Errors) == 0 {
		return ""
	}
	msg := strings.TrimSpace(e.Errors[0].Code + ": " + e.Errors[0].Message)
	if secret != "" {
		msg = strings.ReplaceAll(msg, secret, "***")
	}
	if len(msg) > 400 {
		msg = msg[:400] + "…"
	}
	return msg
}

// redactURLError drops the URL from a transport error: the token request's
// URL holds no secret, but keeping messages to the operation is simpler
// to review.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %w", ue.Op, stripQuery(ue.URL), ue.Err)
	}
	return err
}

func stripQuery(u string) string {
	s, _, _ := strings.Cut(u, "?")
	return s
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

// defaultTimeout bounds each registry request of a Checker without a client.
const defaultTimeout = 30 * time.Second

var defaultClient = &http.Client{Timeout: defaultTimeout}

func (c *Checker) client() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return defaultClient
}
