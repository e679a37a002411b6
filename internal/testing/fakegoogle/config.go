package fakegoogle

import (
	"crypto"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/pullsecret/pullsecret/internal/testing/fakejwt"
)

// Scope constants for the OAuth scopes the fakes care about.
const (
	ScopeCloudPlatform = "https://www.googleapis.com/auth/cloud-platform"
	ScopeIAM           = "https://www.googleapis.com/auth/iam"
)

// DefaultMaxLifetime is the longest generateAccessToken lifetime Google
// grants unless the organisation policy
// constraints/iam.allowServiceAccountCredentialLifetimeExtension lists the
// account, which raises it to ExtendedMaxLifetime.
const (
	DefaultMaxLifetime  = time.Hour
	ExtendedMaxLifetime = 12 * time.Hour
)

// Config configures the fake. The zero value serves an empty project: no
// identity providers, no service accounts and a metadata server without a
// service account.
type Config struct {
	// Now is the clock used for every expiry decision; defaults to time.Now.
	// Client libraries compute expiry from their own clock, so keep it close
	// to real time when driving them.
	Now func() time.Time

	// MaxLifetime caps generateAccessToken lifetimes; defaults to
	// DefaultMaxLifetime and may be raised to ExtendedMaxLifetime to model
	// the lifetime-extension organisation policy.
	MaxLifetime time.Duration

	// DisabledServices are APIs not enabled in the project
	// ("iamcredentials.googleapis.com", "sts.googleapis.com"): their
	// calls get Google's 403 SERVICE_DISABLED.
	DisabledServices []string

	// GrantPropagation is how long a Grant made after New takes to apply:
	// IAM changes are eventually consistent and typically apply within
	// minutes (https://cloud.google.com/iam/docs/access-change-propagation),
	// so a run right after add-iam-policy-binding gets 403.
	GrantPropagation time.Duration

	// Providers are the Workload Identity Federation OIDC providers STS
	// accepts subject tokens from.
	Providers []Provider

	// ServiceAccounts exist from the start; NewServiceAccountKey and
	// AddServiceAccount add more later.
	ServiceAccounts []ServiceAccount

	// DefaultServiceAccount is the email of the account the metadata
	// server's "default" alias names. Empty models an instance with no
	// service account attached: its token and email paths answer 404.
	DefaultServiceAccount string

	// GKEWorkload, with no DefaultServiceAccount, models a pod under
	// Workload Identity Federation for GKE whose Kubernetes ServiceAccount
	// is bound to no Google service account (Google's default
	// recommendation): the metadata server reports the workload pool
	// "PROJECT_ID.svc.id.goog" as the email and hands out a federated token
	// of the pod's principal
	// (https://cloud.google.com/kubernetes-engine/docs/concepts/workload-identity#metadata_server).
	// ProjectID is required with it.
	GKEWorkload *GKEWorkload

	// MetadataScopes are the instance's access scopes; defaults to
	// cloud-platform.
	MetadataScopes []string

	// ProjectID and NumericProjectID are what the metadata server reports.
	// ProjectID defaults to the project of DefaultServiceAccount's email,
	// NumericProjectID to "123456".
	ProjectID        string
	NumericProjectID string

	// HTTPClient fetches providers' JWKS documents; defaults to a client
	// with a 10s timeout.
	HTTPClient *http.Client
}

// GKEWorkload is the Kubernetes ServiceAccount a pod runs as.
type GKEWorkload struct {
	Namespace      string
	ServiceAccount string
	// GoogleServiceAccount is the Google service account the Kubernetes
	// ServiceAccount is annotated with (iam.gke.io/gcp-service-account),
	// if any. The metadata server then reports it as the email and mints
	// its token only if it grants GKEWorkloadMember
	// roles/iam.workloadIdentityUser (an Impersonators entry); otherwise
	// the token request gets GKE's multi-line 403.
	GoogleServiceAccount string
}

// Provider is a Workload Identity Pool OIDC provider.
type Provider struct {
	// Name is the full resource name,
	// "projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/ID".
	// Google only accepts the project number here, not its id.
	Name string

	// IssuerURI must equal the subject token's "iss".
	IssuerURI string

	// Keys that verify subject tokens, tried in this order: PublicKeys
	// (Google's "upload a JWKS" option), then the document at JWKSURL, then
	// OIDC discovery at IssuerURI/.well-known/openid-configuration, which is
	// what Google does for a provider without uploaded keys.
	PublicKeys map[string]*rsa.PublicKey
	JWKSURL    string
	// uploaded are JWKSJSON's keys, RSA or P-256.
	uploaded map[string]crypto.PublicKey

	// JWKSJSON is a JWKS document uploaded with the provider (gcloud
	// iam workload-identity-pools providers create-oidc --jwk-json-path,
	// the API's oidc.jwksJson), for issuers Google cannot reach, such as a
	// kind cluster's. Google then verifies with these keys only and never
	// fetches the issuer's discovery document. Parsed by New/AddProvider
	// into PublicKeys; a document without a usable key is refused, as the
	// API refuses it.
	JWKSJSON []byte

	// AllowedAudiences must contain one of the subject token's audiences.
	// Defaults to "https://iam.googleapis.com/" + Name, the audience
	// google-github-actions/auth requests from GitHub.
	AllowedAudiences []string

	// AttributeMapping maps Google attributes ("google.subject",
	// "attribute.NAME") to subject-token claims ("assertion.CLAIM" or just
	// "CLAIM", optionally after a literal: "'prefix:' + assertion.CLAIM"). Only mapped attributes can appear in principalSet members,
	// as on Google. Defaults to DefaultGitHubAttributeMapping.
	AttributeMapping map[string]string

	// RequiredClaims and AttributeCondition stand in for the provider's CEL
	// attribute condition: a token is accepted only if every required
	// claim has exactly the given string value and AttributeCondition (when
	// set) returns true for its claims.
	RequiredClaims     map[string]string
	AttributeCondition func(claims map[string]any) bool

	// Disabled models a disabled or deleted provider.
	Disabled bool
}

// DefaultGitHubAttributeMapping is the mapping Google's guide for GitHub
// Actions uses.
var DefaultGitHubAttributeMapping = map[string]string{
	"google.subject":             "assertion.sub",
	"attribute.actor":            "assertion.actor",
	"attribute.repository":       "assertion.repository",
	"attribute.repository_owner": "assertion.repository_owner",
}

// ServiceAccount is a Google service account.
type ServiceAccount struct {
	Email string
	// UniqueID is the 21-digit numeric id (the key file's client_id);
	// generated when empty.
	UniqueID string
	// Impersonators are the IAM members allowed to mint tokens for this
	// account (roles/iam.workloadIdentityUser or
	// roles/iam.serviceAccountTokenCreator): principal:// and principalSet://
	// federated identities (see SubjectPrincipal and friends) or
	// "serviceAccount:EMAIL".
	//
	// As on Google, an account impersonating itself (to trade a key-based
	// or metadata token for one of another lifetime) needs
	// ServiceAccountMember(itself) listed here: there is no waiver.
	Impersonators []string
}

var providerNameRE = regexp.MustCompile(`^projects/[0-9]+/locations/global/workloadIdentityPools/[a-z0-9-]+/providers/[a-z0-9-]+$`)

func (c *Config) validate() error {
	if c.MaxLifetime < 0 || c.MaxLifetime > ExtendedMaxLifetime {
		return fmt.Errorf("fakegoogle: MaxLifetime %v outside (0, %v]", c.MaxLifetime, ExtendedMaxLifetime)
	}
	seen := map[string]bool{}
	for _, p := range c.Providers {
		if !providerNameRE.MatchString(p.Name) {
			return fmt.Errorf("fakegoogle: provider name %q is not projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/ID", p.Name)
		}
		if seen[p.Name] {
			return fmt.Errorf("fakegoogle: duplicate provider %q", p.Name)
		}
		seen[p.Name] = true
		if err := p.validate(); err != nil {
			return err
		}
	}
	if c.GKEWorkload != nil && (c.DefaultServiceAccount != "" || c.ProjectID == "" || c.GKEWorkload.Namespace == "" || c.GKEWorkload.ServiceAccount == "") {
		return errors.New("fakegoogle: GKEWorkload needs ProjectID, a namespace and a ServiceAccount, and no DefaultServiceAccount")
	}
	for _, sa := range c.ServiceAccounts {
		if sa.Email == "" {
			return errors.New("fakegoogle: service account without an email")
		}
	}
	return nil
}

func (p *Provider) validate() error {
	if !providerNameRE.MatchString(p.Name) {
		return fmt.Errorf("fakegoogle: provider name %q is not projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/ID", p.Name)
	}
	if p.IssuerURI == "" {
		return fmt.Errorf("fakegoogle: provider %q has no IssuerURI", p.Name)
	}
	// Google: "The issuer URI must ... start with https://".
	if !strings.HasPrefix(p.IssuerURI, "https://") {
		return fmt.Errorf("fakegoogle: provider %q: issuer %q is not an https URL, which Google requires", p.Name, p.IssuerURI)
	}
	return nil
}

// jwksFields are the members Google documents for an uploaded JWKS's keys
// (https://cloud.google.com/iam/docs/workload-identity-federation-with-other-providers#manage-oidc-keys):
// RSA's n and e, EC's crv, x and y, and kty, alg, use, kid. A key with any
// other member (x5c, x5t, key_ops, …) is refused.
var jwksFields = map[string]bool{"kty": true, "alg": true, "use": true, "kid": true, "n": true, "e": true, "crv": true, "x": true, "y": true}

// uploadedKeys parses JWKSJSON, as Google does when the provider is
// created: it must be a JWKS of RSA or P-256 signing keys with only the
// documented members, at least one.
func (p *Provider) uploadedKeys() error {
	if len(p.JWKSJSON) == 0 {
		return nil
	}
	var raw struct {
		Keys []map[string]json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(p.JWKSJSON, &raw); err != nil {
		return fmt.Errorf("fakegoogle: provider %q: invalid JWKS JSON: %w", p.Name, err)
	}
	for i, k := range raw.Keys {
		for name := range k {
			if !jwksFields[name] {
				return fmt.Errorf("fakegoogle: provider %q: JWKS key %d has the member %q; Google accepts only kty, alg, use, kid, n, e, crv, x, y", p.Name, i, name)
			}
		}
	}
	var set fakejwt.JWKS
	if err := json.Unmarshal(p.JWKSJSON, &set); err != nil {
		return fmt.Errorf("fakegoogle: provider %q: invalid JWKS JSON: %w", p.Name, err)
	}
	keys, err := set.VerificationKeys()
	if err != nil {
		return fmt.Errorf("fakegoogle: provider %q: invalid JWKS: %w", p.Name, err)
	}
	if len(keys) == 0 {
		return fmt.Errorf("fakegoogle: provider %q: the JWKS holds no key", p.Name)
	}
	p.uploaded = keys
	return nil
}
