package fakegoogle

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"maps"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// TokenKind says which flow minted an access token.
type TokenKind string

// Token kinds, one per minting endpoint.
const (
	KindFederated    TokenKind = "federated"     // STS token exchange
	KindImpersonated TokenKind = "impersonated"  // iamcredentials generateAccessToken
	KindJWTBearer    TokenKind = "jwt-bearer"    // /token with a service-account key assertion
	KindRefresh      TokenKind = "refresh-token" // /token with an authorized_user refresh token
	KindMetadata     TokenKind = "metadata"      // metadata server
)

// IssuedToken is everything the fake knows about an access token it minted.
type IssuedToken struct {
	Token string
	Kind  TokenKind
	// Subject is the federated google.subject, or the account email.
	Subject string
	// Email is the service account (or user) the token acts as; empty for
	// federated tokens, which act as a pool principal.
	Email string
	// Principal is the IAM identity: principal://... for federated tokens,
	// "serviceAccount:EMAIL" or "user:EMAIL" otherwise.
	Principal string
	// Provider and Attributes are set on federated tokens: the provider's
	// resource name and the mapped "attribute.*" values.
	Provider   string
	Attributes map[string]string
	// ImpersonatedBy and Delegates are set on impersonated tokens: the
	// caller's principal and the delegation chain it named.
	ImpersonatedBy string
	Delegates      []string
	Scopes         []string
	IssuedAt       time.Time
	Expiry         time.Time
	Revoked        bool
}

// Active reports whether the token is usable at now.
func (t IssuedToken) Active(now time.Time) bool {
	return !t.Revoked && now.Before(t.Expiry)
}

func (t IssuedToken) clone() IssuedToken {
	t.Attributes = maps.Clone(t.Attributes)
	t.Delegates = slices.Clone(t.Delegates)
	t.Scopes = slices.Clone(t.Scopes)
	return t
}

// Google is the fake. Create it with New; it is safe for concurrent use.
type Google struct {
	now         func() time.Time
	maxLifetime time.Duration
	providers   map[string]*Provider
	httpClient  *http.Client

	disabled         []string
	grantPropagation time.Duration

	metadataSA     string
	gkeWorkload    *GKEWorkload
	metadataScopes []string
	projectID      string
	numericProject string

	mu            sync.Mutex
	accounts      map[string]*account // by email
	users         map[string]*authorizedUser
	tokens        map[string]*IssuedToken
	issued        []*IssuedToken
	requests      []RecordedRequest
	metadataCache *IssuedToken // the instance's current token
	faults        []*Fault
	bindings      map[string]map[string][]string // resource → role → members; see resourceiam.go
}

// New validates cfg and returns a fake serving it.
func New(cfg Config) (*Google, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	g := &Google{
		now:            cfg.Now,
		maxLifetime:    cfg.MaxLifetime,
		providers:      map[string]*Provider{},
		httpClient:     cfg.HTTPClient,
		metadataSA:     cfg.DefaultServiceAccount,
		disabled:       slices.Clone(cfg.DisabledServices),
		gkeWorkload:    cfg.GKEWorkload,
		metadataScopes: slices.Clone(cfg.MetadataScopes),
		projectID:      cfg.ProjectID,
		numericProject: cfg.NumericProjectID,
		accounts:       map[string]*account{},
		users:          map[string]*authorizedUser{},
		tokens:         map[string]*IssuedToken{},
	}
	if g.now == nil {
		g.now = time.Now
	}
	if g.maxLifetime == 0 {
		g.maxLifetime = DefaultMaxLifetime
	}
	if g.httpClient == nil {
		g.httpClient = &http.Client{Timeout: 10 * time.Second}
	}
	if len(g.metadataScopes) == 0 {
		g.metadataScopes = []string{ScopeCloudPlatform}
	}
	if g.projectID == "" {
		g.projectID = projectOf(g.metadataSA)
	}
	if g.numericProject == "" {
		g.numericProject = "123456"
	}
	for i := range cfg.Providers {
		if err := g.AddProvider(cfg.Providers[i]); err != nil {
			return nil, err
		}
	}
	for _, sa := range cfg.ServiceAccounts {
		if _, err := g.AddServiceAccount(sa); err != nil {
			return nil, err
		}
	}
	// Set last: the project's initial bindings apply at once.
	g.grantPropagation = cfg.GrantPropagation
	if g.metadataSA != "" {
		if _, err := g.AddServiceAccount(ServiceAccount{Email: g.metadataSA}); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// AddProvider creates (or replaces) a Workload Identity provider, as
// `gcloud iam workload-identity-pools providers create-oidc` does.
func (g *Google) AddProvider(p Provider) error {
	if err := p.validate(); err != nil {
		return err
	}
	if err := p.uploadedKeys(); err != nil {
		return err
	}
	if len(p.AllowedAudiences) == 0 {
		p.AllowedAudiences = []string{OIDCAudience(p.Name)}
	}
	if p.AttributeMapping == nil {
		p.AttributeMapping = maps.Clone(DefaultGitHubAttributeMapping)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.providers[p.Name] = &p
	return nil
}

func (g *Google) provider(name string) *Provider {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.providers[name]
}

// Issued returns every token minted so far, oldest first.
func (g *Google) Issued() []IssuedToken {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]IssuedToken, len(g.issued))
	for i, t := range g.issued {
		out[i] = t.clone()
	}
	return out
}

// Lookup returns the record of token, whether or not it is still active.
func (g *Google) Lookup(token string) (IssuedToken, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	t, ok := g.tokens[token]
	if !ok {
		return IssuedToken{}, false
	}
	return t.clone(), true
}

// RevokeToken revokes one access token, as POST /revoke would. It reports
// whether the token was known.
func (g *Google) RevokeToken(accessToken string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	t, ok := g.tokens[accessToken]
	if ok {
		t.Revoked = true
	}
	return ok
}

// RevokeAll revokes every access token issued so far.
func (g *Google) RevokeAll() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, t := range g.issued {
		t.Revoked = true
	}
}

// mintLocked records a new token built from tmpl and returns the stored
// record. The caller must hold g.mu.
func (g *Google) mintLocked(tmpl IssuedToken, lifetime time.Duration) (*IssuedToken, error) {
	tok, err := newAccessToken()
	if err != nil {
		return nil, err
	}
	t := tmpl.clone()
	t.Token = tok
	t.IssuedAt = g.now()
	t.Expiry = t.IssuedAt.Add(lifetime)
	g.tokens[tok] = &t
	g.issued = append(g.issued, &t)
	return &t, nil
}

func (g *Google) mint(tmpl IssuedToken, lifetime time.Duration) (IssuedToken, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	t, err := g.mintLocked(tmpl, lifetime)
	if err != nil {
		return IssuedToken{}, err
	}
	return t.clone(), nil
}

// activeToken returns the record for a bearer token if it is usable now.
func (g *Google) activeToken(token string) (IssuedToken, bool) {
	t, ok := g.Lookup(token)
	if !ok || !t.Active(g.now()) {
		return IssuedToken{}, false
	}
	return t, true
}

// newAccessToken returns "ya29.fake-" and 256 random bits in base64url: the
// "ya29." prefix is what Google's access tokens start with (some clients and
// log scrubbers key on it), "fake-" makes leaks into logs obvious.
func newAccessToken() (string, error) {
	s, err := randomString(32)
	if err != nil {
		return "", err
	}
	return "ya29.fake-" + s, nil
}

func randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("fakegoogle: reading randomness: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// randomDigits returns n random decimal digits, the first one non-zero.
func randomDigits(n int) (string, error) {
	var sb strings.Builder
	for i := 0; i < n; i++ {
		lo := int64(0)
		if i == 0 {
			lo = 1
		}
		d, err := rand.Int(rand.Reader, big.NewInt(10-lo))
		if err != nil {
			return "", fmt.Errorf("fakegoogle: reading randomness: %w", err)
		}
		sb.WriteByte(byte('0' + lo + d.Int64()))
	}
	return sb.String(), nil
}

// projectOf returns PROJECT for NAME@PROJECT.iam.gserviceaccount.com.
func projectOf(email string) string {
	_, domain, ok := strings.Cut(email, "@")
	if project, found := strings.CutSuffix(domain, ".iam.gserviceaccount.com"); ok && found {
		return project
	}
	return "fake-project"
}
