package fakeci

import (
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/pullsecret/pullsecret/internal/testing/fakejwt"
)

// Shape names a CI.
type Shape string

// The CIs the fake issues tokens like.
const (
	GitLab    Shape = "gitlab"
	CircleCI  Shape = "circleci"
	Buildkite Shape = "buildkite"
)

// Shapes are all of them.
var Shapes = []Shape{GitLab, CircleCI, Buildkite}

// Config describes one job's token.
type Config struct {
	Shape Shape
	// Project is the project the job runs in: GitLab GROUP/PROJECT,
	// CircleCI ORG_ID/PROJECT_ID (UUIDs), Buildkite ORG_SLUG/PIPELINE_SLUG.
	// Defaults to DefaultProject(Shape).
	Project string
	// Issuer overrides a GitLab issuer (a self-managed instance).
	Issuer string
	// Now is the clock for iat/nbf/exp; defaults to time.Now.
	Now func() time.Time
}

// DefaultProject is a project of shape, in the form Config.Project takes.
func DefaultProject(s Shape) string {
	switch s {
	case CircleCI:
		return "1b2c3d4e-0000-4000-8000-00000000000a/5f6a7b8c-0000-4000-8000-00000000000b"
	case Buildkite:
		return "acme-inc/deploy"
	}
	return "acme/platform/deploy"
}

// Issuer signs one CI's ID tokens.
type Issuer struct {
	cfg Config
	key *rsa.PrivateKey
	kid string
}

// New creates an issuer with a fresh RSA-2048 key (all three CIs sign
// with RS256).
func New(cfg Config) (*Issuer, error) {
	if cfg.Project == "" {
		cfg.Project = DefaultProject(cfg.Shape)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	switch cfg.Shape {
	case GitLab, Buildkite:
	case CircleCI:
		if _, _, ok := strings.Cut(cfg.Project, "/"); !ok {
			return nil, fmt.Errorf("fakeci: CircleCI project %q is not ORG_ID/PROJECT_ID", cfg.Project)
		}
	default:
		return nil, fmt.Errorf("fakeci: unknown shape %q", cfg.Shape)
	}
	key, err := fakejwt.NewKey()
	if err != nil {
		return nil, fmt.Errorf("fakeci: generating signing key: %w", err)
	}
	return &Issuer{cfg: cfg, key: key, kid: fakejwt.Thumbprint(&key.PublicKey)}, nil
}

// Issuer is the tokens' iss.
func (i *Issuer) Issuer() string {
	switch i.cfg.Shape {
	case CircleCI:
		org, _, _ := strings.Cut(i.cfg.Project, "/")
		return "https://oidc.circleci.com/org/" + org
	case Buildkite:
		return "https://agent.buildkite.com"
	}
	if i.cfg.Issuer != "" {
		return i.cfg.Issuer
	}
	return "https://gitlab.com"
}

// JWKSPath is where each CI publishes its keys, relative to the host.
func (i *Issuer) JWKSPath() string {
	switch i.cfg.Shape {
	case CircleCI:
		return strings.TrimPrefix(i.Issuer(), "https://oidc.circleci.com") + "/.well-known/jwks-pub.json"
	case Buildkite:
		return "/.well-known/jwks"
	}
	return "/oauth/discovery/keys"
}

// TTL is each CI's token lifetime: CircleCI's is an hour, Buildkite's five
// minutes (its example token), GitLab's the job's timeout (an hour by
// default).
func (i *Issuer) TTL() time.Duration {
	if i.cfg.Shape == Buildkite {
		return 5 * time.Minute
	}
	return time.Hour
}

// ClaimSet is the claims of a token for audience minted now. CircleCI's
// aud is always the organization ID; audience is ignored there. Tests edit
// the set and Sign it for expired or mis-addressed tokens.
func (i *Issuer) ClaimSet(audience string) map[string]any {
	now := i.cfg.Now()
	first, second, _ := strings.Cut(i.cfg.Project, "/")
	var c map[string]any
	switch i.cfg.Shape {
	case GitLab:
		ns := i.cfg.Project[:strings.LastIndex(i.cfg.Project, "/")]
		c = map[string]any{
			"sub":                "project_path:" + i.cfg.Project + ":ref_type:branch:ref:main",
			"namespace_id":       "72",
			"namespace_path":     ns,
			"project_id":         "20",
			"project_path":       i.cfg.Project,
			"user_id":            "5",
			"user_login":         "deployer",
			"pipeline_id":        "1212",
			"pipeline_source":    "push",
			"job_id":             "4711",
			"ref":                "main",
			"ref_type":           "branch",
			"ref_path":           "refs/heads/main",
			"ref_protected":      "true",
			"runner_id":          "1",
			"runner_environment": "self-hosted",
			"sha":                "714a629c0b401fdce83e847fc9589983fc6f46bc",
			"aud":                audience,
		}
	case CircleCI:
		user := "0f9e8d7c-0000-4000-8000-00000000000c"
		c = map[string]any{
			"sub":                           "org/" + first + "/project/" + second + "/user/" + user,
			"aud":                           first,
			"oidc.circleci.com/project-id":  second,
			"oidc.circleci.com/context-ids": []string{"a74579f1-2e7d-451e-b009-5c082ad2729e"},
			"oidc.circleci.com/vcs-origin":  "github.com/acme/deploy",
			"oidc.circleci.com/vcs-ref":     "refs/heads/main",
			"oidc.circleci.com/ssh-rerun":   false,
		}
	case Buildkite:
		sha := "750339bffa630404607f73dd8ed2f2c4de3670c7"
		c = map[string]any{
			"sub":               "organization:" + first + ":pipeline:" + second + ":ref:refs/heads/main:commit:" + sha + ":step:deploy",
			"aud":               audience,
			"organization_slug": first,
			"pipeline_slug":     second,
			"build_number":      175,
			"build_branch":      "main",
			"build_commit":      sha,
			"step_key":          "deploy",
			"job_id":            "018485f6-1f53-4f18-9b53-72428db4d239",
			"agent_id":          "018485f6-eec2-4b61-a7be-0e35ef563df0",
		}
	}
	maps.Copy(c, map[string]any{
		"iss": i.Issuer(),
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(i.TTL()).Unix(),
	})
	return c
}

// Sign signs claims with the issuer's key.
func (i *Issuer) Sign(claims map[string]any) (string, error) {
	return fakejwt.Sign(i.key, i.kid, claims)
}

// Mint is a fresh token for audience.
func (i *Issuer) Mint(audience string) (string, error) {
	return i.Sign(i.ClaimSet(audience))
}

// Handler serves the discovery document and the JWKS at each CI's paths.
// The discovery document points at the server it is fetched from, as the
// issuer's real host is out of reach in tests.
func (i *Issuer) Handler() http.Handler {
	mux := http.NewServeMux()
	discovery := strings.TrimPrefix(strings.TrimPrefix(i.Issuer(), "https://"), strings.SplitN(strings.TrimPrefix(i.Issuer(), "https://"), "/", 2)[0])
	mux.HandleFunc("GET "+discovery+"/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{
			"issuer":                                i.Issuer(),
			"jwks_uri":                              "http://" + r.Host + i.JWKSPath(),
			"response_types_supported":              []string{"id_token"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{fakejwt.AlgRS256},
		})
	})
	mux.HandleFunc("GET "+i.JWKSPath(), func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, fakejwt.JWKS{Keys: []fakejwt.JWK{fakejwt.NewJWK(i.kid, &i.key.PublicKey)}})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
