package fakegithub

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/pullsecret/pullsecret/internal/testing/fakejwt"
)

// DefaultIssuer is the "iss" of tokens from github.com Actions.
const DefaultIssuer = "https://token.actions.githubusercontent.com"

// DefaultTTL is how long GitHub's Actions ID tokens are valid after iat.
const DefaultTTL = 5 * time.Minute

// notBeforeSkew is how far before iat GitHub sets nbf (its documented example
// token has nbf = iat - 600), leaving room for relying parties with slow clocks.
const notBeforeSkew = 10 * time.Minute

// Names of the environment variables the Actions runner sets in a job that has
// the id-token: write permission.
const (
	EnvRequestURL   = "ACTIONS_ID_TOKEN_REQUEST_URL"
	EnvRequestToken = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
)

// IDTokenPath is the path of the token endpoint. On GitHub the full URL is an
// opaque per-job pipelines.actions.githubusercontent.com URL ending in
// /idtoken?api-version=2.0; clients must treat it as opaque, so the fake's
// shorter path exercises the same client code.
const IDTokenPath = "/_apis/idtoken"

// OIDCConfig configures an OIDC issuer. The zero value is a github.com-like
// issuer for a push to main of octo-org/octo-repo.
type OIDCConfig struct {
	// Issuer is the "iss" claim; defaults to DefaultIssuer. Point it at the
	// fake's own base URL when a relying party should discover the JWKS from
	// it.
	Issuer string
	// Claims describe the workflow run; see Claims for defaults.
	Claims Claims
	// TTL is the token lifetime after iat; defaults to DefaultTTL.
	TTL time.Duration
	// Now is the clock used for iat/nbf/exp; defaults to time.Now.
	Now func() time.Time
}

// OIDC is a fake GitHub Actions OIDC issuer. It is safe for concurrent use.
type OIDC struct {
	key          *rsa.PrivateKey
	kid          string
	requestToken string
	ttl          time.Duration
	now          func() time.Time
	claims       Claims

	mu       sync.Mutex
	issuer   string
	disabled bool
}

// NewOIDC creates an issuer with a fresh RSA-2048 signing key.
func NewOIDC(cfg OIDCConfig) (*OIDC, error) {
	key, err := fakejwt.NewKey()
	if err != nil {
		return nil, fmt.Errorf("fakegithub: generating signing key: %w", err)
	}
	reqTok, err := randomString(40)
	if err != nil {
		return nil, err
	}
	o := &OIDC{
		key: key,
		// GitHub's kids are opaque hex-ish strings; a thumbprint-derived id is
		// just as opaque and stable for the key.
		kid:          strings.ToUpper(hex.EncodeToString([]byte(fakejwt.Thumbprint(&key.PublicKey)))[:40]),
		requestToken: reqTok,
		ttl:          cfg.TTL,
		now:          cfg.Now,
		claims:       cfg.Claims.withDefaults(),
		issuer:       cfg.Issuer,
	}
	if o.ttl <= 0 {
		o.ttl = DefaultTTL
	}
	if o.now == nil {
		o.now = time.Now
	}
	if o.issuer == "" {
		o.issuer = DefaultIssuer
	}
	return o, nil
}

// PublicKey returns the key tokens are signed with.
func (o *OIDC) PublicKey() *rsa.PublicKey { return &o.key.PublicKey }

// KeyID returns the "kid" of the signing key.
func (o *OIDC) KeyID() string { return o.kid }

// RequestToken returns the bearer token the ID token endpoint requires, the
// value GitHub puts in ACTIONS_ID_TOKEN_REQUEST_TOKEN.
func (o *OIDC) RequestToken() string { return o.requestToken }

// Issuer returns the "iss" claim tokens carry.
func (o *OIDC) Issuer() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.issuer
}

// SetIssuer changes the "iss" claim, typically to the base URL Start returned
// so that the issuer is discoverable at its own /.well-known paths.
func (o *OIDC) SetIssuer(issuer string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.issuer = strings.TrimSuffix(issuer, "/")
}

// DisableIDToken simulates a job without the "id-token: write" permission.
// GitHub then simply does not set ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN, so Env
// returns an empty map; as a backstop for clients that kept an old URL, the
// token endpoint answers 403.
func (o *OIDC) DisableIDToken(disabled bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.disabled = disabled
}

func (o *OIDC) idTokenDisabled() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.disabled
}

// Env returns the environment variables the runner would set for a job whose
// runtime token service is at baseURL (e.g. the URL Start returned).
func (o *OIDC) Env(baseURL string) map[string]string {
	if o.idTokenDisabled() {
		return map[string]string{}
	}
	return map[string]string{
		EnvRequestURL:   strings.TrimSuffix(baseURL, "/") + IDTokenPath + "?api-version=2.0",
		EnvRequestToken: o.requestToken,
	}
}

// ContextEnv returns the GITHUB_* variables consistent with the token claims,
// for code that reads the workflow context (repository, ref, actor, ...).
func (o *OIDC) ContextEnv() map[string]string {
	c := o.claims
	refName := c.Ref
	for _, p := range []string{"refs/heads/", "refs/tags/"} {
		refName = strings.TrimPrefix(refName, p)
	}
	return map[string]string{
		"GITHUB_ACTIONS":             "true",
		"GITHUB_REPOSITORY":          c.Repository,
		"GITHUB_REPOSITORY_ID":       c.RepositoryID,
		"GITHUB_REPOSITORY_OWNER":    c.RepositoryOwner,
		"GITHUB_REPOSITORY_OWNER_ID": c.RepositoryOwnerID,
		"GITHUB_REF":                 c.Ref,
		"GITHUB_REF_NAME":            refName,
		"GITHUB_REF_TYPE":            c.RefType,
		"GITHUB_SHA":                 c.SHA,
		"GITHUB_WORKFLOW":            c.Workflow,
		"GITHUB_WORKFLOW_REF":        c.WorkflowRef,
		"GITHUB_ACTOR":               c.Actor,
		"GITHUB_ACTOR_ID":            c.ActorID,
		"GITHUB_RUN_ID":              c.RunID,
		"GITHUB_RUN_NUMBER":          c.RunNumber,
		"GITHUB_RUN_ATTEMPT":         c.RunAttempt,
		"GITHUB_EVENT_NAME":          c.EventName,
		"GITHUB_SERVER_URL":          "https://github.com",
		"GITHUB_API_URL":             "https://api.github.com",
		"RUNNER_ENVIRONMENT":         c.RunnerEnvironment,
	}
}

// DefaultAudience is the audience GitHub uses when the request names none:
// the URL of the repository owner.
func (o *OIDC) DefaultAudience() string {
	return "https://github.com/" + o.claims.RepositoryOwner
}

// ClaimSet returns the complete claim set a token for audience would carry if
// minted now, including a fresh jti. Tests edit it and pass it to Sign to
// build expired, mis-addressed or otherwise bad tokens that are still
// correctly signed.
func (o *OIDC) ClaimSet(audience string) (map[string]any, error) {
	if audience == "" {
		audience = o.DefaultAudience()
	}
	jti, err := newUUID()
	if err != nil {
		return nil, err
	}
	now := o.now()
	m := o.claims.workflowClaims()
	maps.Copy(m, map[string]any{
		"iss": o.Issuer(),
		"aud": audience,
		"jti": jti,
		"iat": now.Unix(),
		"nbf": now.Add(-notBeforeSkew).Unix(),
		"exp": now.Add(o.ttl).Unix(),
	})
	return m, nil
}

// Sign signs an arbitrary claim set with the issuer's key and kid.
func (o *OIDC) Sign(claims map[string]any) (string, error) {
	return fakejwt.Sign(o.key, o.kid, claims)
}

// Mint returns a signed ID token for audience (the default audience if
// empty), exactly as the token endpoint would.
func (o *OIDC) Mint(audience string) (string, error) {
	c, err := o.ClaimSet(audience)
	if err != nil {
		return "", err
	}
	return o.Sign(c)
}

// randomString returns n random bytes in base64url.
func randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("fakegithub: reading randomness: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// newUUID returns a random RFC 4122 version 4 UUID, the format of GitHub's jti.
func newUUID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("fakegithub: reading randomness: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}
