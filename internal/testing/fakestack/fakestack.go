// Package fakestack wires the GitHub OIDC issuer and Google fakes into one
// ready-made "project": a Workload Identity provider trusting the issuer, a
// service account that the repository may impersonate, a key-holding
// service account and the node's (metadata server) account, the last two
// granted roles/iam.serviceAccountTokenCreator on themselves; the first two
// are Artifact Registry readers of the project. Integration tests, the end-to-end suite and the local
// demo all start it, so they exercise the same setup.
package fakestack

import (
	"crypto/rsa"
	"fmt"
	"strings"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/testing/fakegithub"
	"github.com/pullsecret/pullsecret/internal/testing/fakegoogle"
)

// The fake project's names. They look like production names on purpose.
const (
	Provider       = "projects/123456/locations/global/workloadIdentityPools/gh/providers/gh"
	ImpersonatedSA = "puller@e2e-proj.iam.gserviceaccount.com"
	KeySA          = "keyed@e2e-proj.iam.gserviceaccount.com"
	MetadataSA     = "node@e2e-proj.iam.gserviceaccount.com"
	Repository     = "octo-org/octo-repo"
	// Project holds the registry repositories the accounts may read.
	Project         = "e2e-proj"
	googleTokenURI  = "https://oauth2.googleapis.com/token"
	loopbackAnyPort = "127.0.0.1:0"
)

// Stack is a running pair of fakes.
type Stack struct {
	Google *fakegoogle.Google
	GitHub *fakegithub.OIDC
	// GoogleURL and GitHubURL are the listening addresses as seen from
	// this host (loopback).
	GoogleURL, GitHubURL string
	// Key is a service-account key of KeySA. Its token_uri is Google's
	// real one, as in a downloaded key; runs point oauth_token_endpoint at
	// the fake, which is the explicit opt-in config requires.
	Key []byte

	stops []func()
}

// Options vary the ready-made project for one test.
type Options struct {
	// GitHub edits the issuer's configuration (claims, lifetimes).
	GitHub func(*fakegithub.OIDCConfig)
	// Google edits Google's configuration (limits, grants, faults).
	Google func(*fakegoogle.Config)
}

// Start starts both fakes listening on addr ("" means loopback, any port;
// "0.0.0.0:0" lets containers reach them).
func Start(addr string) (*Stack, error) { return StartWith(addr, Options{}) }

// StartWith is Start with the project varied by opts.
func StartWith(addr string, opts Options) (*Stack, error) {
	if addr == "" {
		addr = loopbackAnyPort
	}
	s := &Stack{}
	var err error
	ghCfg := fakegithub.OIDCConfig{Claims: fakegithub.Claims{Repository: Repository}}
	if opts.GitHub != nil {
		opts.GitHub(&ghCfg)
	}
	if s.GitHub, err = fakegithub.NewOIDC(ghCfg); err != nil {
		return nil, err
	}
	gCfg := fakegoogle.Config{
		Providers: []fakegoogle.Provider{{
			Name:       Provider,
			IssuerURI:  s.GitHub.Issuer(),
			PublicKeys: map[string]*rsa.PublicKey{s.GitHub.KeyID(): s.GitHub.PublicKey()},
		}},
		ServiceAccounts: []fakegoogle.ServiceAccount{
			{Email: ImpersonatedSA, Impersonators: []string{fakegoogle.AttributePrincipalSet(Provider, "repository", Repository)}},
			// The key's and the node's accounts mint tokens of
			// token_lifetime for themselves through IAM Credentials,
			// which needs roles/iam.serviceAccountTokenCreator on
			// themselves, as on Google.
			{Email: KeySA, Impersonators: []string{fakegoogle.ServiceAccountMember(KeySA)}},
			{Email: MetadataSA, Impersonators: []string{fakegoogle.ServiceAccountMember(MetadataSA)}},
		},
		DefaultServiceAccount: MetadataSA,
	}
	if opts.Google != nil {
		opts.Google(&gCfg)
	}
	if s.Google, err = fakegoogle.New(gCfg); err != nil {
		return nil, err
	}
	if s.Key, err = s.Google.NewServiceAccountKey(KeySA, googleTokenURI); err != nil {
		return nil, err
	}
	// What pulling from the project's repositories takes on Artifact
	// Registry. The federated identities get no grant of their own: tests
	// of direct federation grant one (GrantRole) when they want a pull to work.
	for _, sa := range []string{ImpersonatedSA, KeySA} {
		if err := s.Google.GrantRole(fakegoogle.ProjectResource(Project), fakegoogle.RoleArtifactRegistryReader, fakegoogle.ServiceAccountMember(sa)); err != nil {
			return nil, err
		}
	}
	var stop func()
	if s.GitHubURL, stop, err = s.GitHub.Start(addr); err != nil {
		return nil, err
	}
	s.stops = append(s.stops, stop)
	if s.GoogleURL, stop, err = s.Google.Start(addr); err != nil {
		s.Close()
		return nil, err
	}
	s.stops = append(s.stops, stop)
	return s, nil
}

// Close stops both fakes.
func (s *Stack) Close() {
	for _, stop := range s.stops {
		stop()
	}
	s.stops = nil
}

// Rebase rewrites a URL of this host's view (127.0.0.1) to the address a
// client elsewhere uses, e.g. the docker gateway for a container.
func Rebase(u, host string) string {
	if host == "" {
		return u
	}
	return strings.Replace(u, "127.0.0.1", host, 1)
}

// GitHubEnv is the environment GitHub gives a job with id-token: write,
// with URLs as seen from host ("" for this host).
func (s *Stack) GitHubEnv(host string) map[string]string {
	env := s.GitHub.ContextEnv()
	for k, v := range s.GitHub.Env(Rebase(s.GitHubURL, host)) {
		env[k] = v
	}
	return env
}

// EndpointInputs point every Google endpoint input at the fake.
func (s *Stack) EndpointInputs(host string) map[string]string {
	base := Rebase(s.GoogleURL, host)
	return map[string]string{
		config.InSTSEndpoint:            fakegoogle.STSTokenURL(base),
		config.InIAMCredentialsEndpoint: base,
		config.InOAuthTokenEndpoint:     fakegoogle.TokenURL(base),
		config.InMetadataEndpoint:       base,
	}
}

// Credential names a ready-made credential setup.
type Credential string

const (
	WIF       Credential = "wif"        // federation + impersonation
	WIFDirect Credential = "wif-direct" // federation, no service account
	KeyToken  Credential = "key"        // key, access_token mode
	KeyJSON   Credential = "json-key"   // key, json_key mode
	ADC       Credential = "adc"        // metadata server
)

// Inputs returns the inputs selecting credential c, endpoints included.
func (s *Stack) Inputs(c Credential, host string) (map[string]string, error) {
	in := s.EndpointInputs(host)
	switch c {
	case WIF:
		in[config.InWorkloadIdentityProvider] = Provider
		in[config.InServiceAccount] = ImpersonatedSA
	case WIFDirect:
		in[config.InWorkloadIdentityProvider] = Provider
	case KeyToken:
		in[config.InCredentialsJSON] = string(s.Key)
	case KeyJSON:
		in[config.InCredentialsJSON] = string(s.Key)
		in[config.InCredentialMode] = string(config.CredentialJSONKey)
	case ADC:
	default:
		return nil, fmt.Errorf("unknown credential %q", c)
	}
	return in, nil
}
