// Package config owns pullsecret's inputs: reading them (from GitHub's INPUT_*
// variables or CLI flags, through an injectable lookup), parsing them, and
// validating them into one Config with errors that name the input.
package config

import (
	"time"
)

// Mode is what a run does to the cluster.
type Mode string

// Modes of the mode input.
const (
	// ModeApply writes the secret and references it.
	ModeApply Mode = "apply"
	// ModeDelete removes the secret and only its own ServiceAccount entries.
	ModeDelete Mode = "delete"
)

// CredentialMode is what the secret holds.
type CredentialMode string

const (
	// CredentialAccessToken stores a short-lived token as oauth2accesstoken.
	CredentialAccessToken CredentialMode = "access_token"
	// CredentialJSONKey stores the service-account key itself as _json_key.
	CredentialJSONKey CredentialMode = "json_key"
)

// Config is every input, parsed. Validate checks the whole of it before
// anything touches Google or the cluster.
type Config struct {
	// Credentials: at most one of the three, none means ADC.
	WorkloadIdentityProvider string
	ServiceAccount           string
	Audience                 string
	// OIDCTokenFile and OIDCTokenEnv name another CI's OIDC token, used
	// instead of GitHub's endpoint.
	OIDCTokenFile   string
	OIDCTokenEnv    string
	CredentialsJSON []byte // decoded key JSON (raw or from base64)
	AccessToken     string
	TokenLifetime   time.Duration
	Scopes          []string
	CredentialMode  CredentialMode

	STSEndpoint            string
	IAMCredentialsEndpoint string
	OAuthTokenEndpoint     string
	MetadataEndpoint       string

	// Target cluster.
	Kubeconfig    string // path or inline content, as given
	Context       string
	APIServerHost string

	Namespaces        []string
	NamespaceSelector string
	ExcludeNamespaces []string
	CreateNamespaces  bool

	SecretName        string
	SecretLabels      map[string]string
	SecretAnnotations map[string]string
	ServiceAccounts   []string
	Registries        []string
	// VerifyImages are pull-checked with the minted credential before
	// anything is written.
	VerifyImages []string

	Mode        Mode
	DryRun      bool
	Force       bool
	Concurrency int
	WaitTimeout time.Duration

	// The in-cluster refresher (refresh: true).
	Refresh                         bool
	RefreshInterval                 time.Duration
	RefreshNamespace                string
	RefreshNamespaceAdopt           bool
	RefreshImage                    string
	RefreshWorkloadIdentityProvider string
	RefreshMode                     string // RefreshCron or RefreshWatch
	RefreshRecoverPods              bool

	// SkipMissingNamespaces drops named namespaces that no longer exist
	// instead of failing: the refresher's runs set it, since a preview
	// namespace deleted without a teardown run is simply gone. Not an input.
	SkipMissingNamespaces bool
	// SkipForeignSecrets leaves a glob- or selector-matched namespace
	// whose secret of our name pullsecret does not manage alone, with a
	// warning, instead of failing (the refresher's runs).
	SkipForeignSecrets bool

	// AllowHTTPEndpoints lets Google endpoint inputs use plain http on
	// hosts other than loopback. Only test rigs whose fakes are reached
	// through a container gateway set it (EnvAllowHTTPEndpoints, read only
	// by a test-rig build); it is not an input, so no workflow can turn it
	// on through `with:`.
	AllowHTTPEndpoints bool
	// releaseImage is the image this step runs from (see ReleaseImage).
	releaseImage string
}

// CredentialSource names the credential source a config selects.
func (c *Config) CredentialSource() string {
	switch {
	case c.WorkloadIdentityProvider != "":
		return InWorkloadIdentityProvider
	case len(c.CredentialsJSON) > 0:
		return InCredentialsJSON
	case c.AccessToken != "":
		return InAccessToken
	default:
		return "application_default_credentials"
	}
}

// EffectiveAudience is the OIDC audience GitHub is asked for.
func (c *Config) EffectiveAudience() string {
	if c.Audience != "" {
		return c.Audience
	}
	return "https://iam.googleapis.com/" + c.WorkloadIdentityProvider
}
