package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path"
	"regexp"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/pullsecret/pullsecret/internal/registry"
	"github.com/pullsecret/pullsecret/internal/sakey"
)

// MaxTokenLifetime is Google's ceiling for generateAccessToken, reachable
// only where the org policy allows lifetimes above one hour.
const MaxTokenLifetime = 12 * time.Hour

var (
	providerPattern = regexp.MustCompile(`^projects/[0-9]+/locations/global/workloadIdentityPools/[a-z0-9-]+/providers/[a-z0-9-]+$`)
	envNamePattern  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	emailPattern    = regexp.MustCompile(`^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}$`)
	// A registry host label may carry kubelet-style globs: "*", "*-docker".
	registryLabelPattern = regexp.MustCompile(`^[a-zA-Z0-9*]([a-zA-Z0-9*-]*[a-zA-Z0-9*])?$`)
)

// Validate checks cross-input rules. Every error names the input(s).
func (c *Config) Validate() error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}

	var sources []string
	if c.WorkloadIdentityProvider != "" {
		sources = append(sources, InWorkloadIdentityProvider)
	}
	if len(c.CredentialsJSON) > 0 {
		sources = append(sources, InCredentialsJSON)
	}
	if c.AccessToken != "" {
		sources = append(sources, InAccessToken)
	}
	if len(sources) > 1 {
		add(fmt.Errorf("inputs %s conflict: set exactly one credential source (or none, for Application Default Credentials)", quoteJoin(sources)))
	}
	if c.WorkloadIdentityProvider != "" && !providerPattern.MatchString(c.WorkloadIdentityProvider) {
		add(errorf(InWorkloadIdentityProvider, "%q is not a provider resource name; expected projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>", c.WorkloadIdentityProvider))
	}
	if c.ServiceAccount != "" {
		if !emailPattern.MatchString(c.ServiceAccount) {
			add(errorf(InServiceAccount, "%q is not a service-account email", c.ServiceAccount))
		}
		if c.WorkloadIdentityProvider == "" && !c.Refresh {
			add(errorf(InServiceAccount, "is only used with %q or %q (a key already is its service account; an access token cannot impersonate here)", InWorkloadIdentityProvider, InRefresh))
		}
	}
	if c.OIDCTokenFile != "" && c.OIDCTokenEnv != "" {
		add(errorf(InOIDCTokenEnv, "conflicts with %q: name the CI's OIDC token one way", InOIDCTokenFile))
	}
	for _, in := range []struct{ name, value string }{{InOIDCTokenFile, c.OIDCTokenFile}, {InOIDCTokenEnv, c.OIDCTokenEnv}} {
		if in.value != "" && c.WorkloadIdentityProvider == "" {
			add(errorf(in.name, "is only used with %q: it is the subject token exchanged at that provider", InWorkloadIdentityProvider))
		}
	}
	if c.OIDCTokenEnv != "" && !envNamePattern.MatchString(c.OIDCTokenEnv) {
		// The value is not quoted: it may be the token itself.
		add(errorf(InOIDCTokenEnv, "is not an environment variable name (letters, digits and _, not starting with a digit); give the variable's name, not the token"))
	}
	if c.Audience != "" && c.WorkloadIdentityProvider == "" {
		add(errorf(InAudience, "is only used with %q", InWorkloadIdentityProvider))
	}
	if len(c.CredentialsJSON) > 0 {
		add(c.validateKey())
	}
	if c.AccessToken != "" && strings.ContainsAny(c.AccessToken, " \t\r\n") {
		add(errorf(InAccessToken, "contains whitespace; pass the bare token"))
	}
	if c.TokenLifetime < time.Minute || c.TokenLifetime > MaxTokenLifetime {
		add(errorf(InTokenLifetime, "%s is out of range; use between 60s and 12h", c.TokenLifetime))
	}
	if len(c.Scopes) == 0 {
		add(errorf(InScopes, "is empty; the default %q pulls from gcr.io and Artifact Registry", DefaultScope))
	}
	switch c.CredentialMode {
	case CredentialAccessToken:
	case CredentialJSONKey:
		if len(c.CredentialsJSON) == 0 {
			add(errorf(InCredentialMode, "json_key needs %q: the secret stores the key itself", InCredentialsJSON))
		}
	default:
		add(errorf(InCredentialMode, "%q is not one of access_token, json_key", c.CredentialMode))
	}
	for name, v := range map[string]string{InSTSEndpoint: c.STSEndpoint, InIAMCredentialsEndpoint: c.IAMCredentialsEndpoint, InOAuthTokenEndpoint: c.OAuthTokenEndpoint, InMetadataEndpoint: c.MetadataEndpoint} {
		add(validateEndpoint(name, v, c.AllowHTTPEndpoints))
	}

	if c.APIServerHost == "" {
		add(errorf(InAPIServerHost, "is empty; use auto, off or a host name"))
	}
	add(c.validateNamespaces())
	for _, msg := range validation.IsDNS1123Subdomain(c.SecretName) {
		add(errorf(InSecretName, "%q is not a valid secret name: %s", c.SecretName, msg))
	}
	for _, sa := range c.ServiceAccounts {
		if sa == "*" {
			continue
		}
		for _, msg := range validation.IsDNS1123Subdomain(sa) {
			add(errorf(InServiceAccounts, "%q is not a valid ServiceAccount name: %s", sa, msg))
		}
	}
	for k, v := range c.SecretLabels {
		for _, msg := range append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...) {
			add(errorf(InSecretLabels, "%s=%s: %s", k, v, msg))
		}
	}
	for k := range c.SecretAnnotations {
		for _, msg := range validation.IsQualifiedName(k) {
			add(errorf(InSecretAnnotations, "%q: %s", k, msg))
		}
	}
	if len(c.Registries) == 0 {
		add(errorf(InRegistries, "is empty; the default covers gcr.io and Artifact Registry"))
	}
	for _, r := range c.Registries {
		add(validateRegistry(r))
	}
	for _, img := range c.VerifyImages {
		add(c.validateVerifyImage(img))
	}
	switch c.Mode {
	case ModeApply, ModeDelete:
	default:
		add(errorf(InMode, "%q is not one of apply, delete", c.Mode))
	}
	if c.Concurrency < 1 || c.Concurrency > 64 {
		add(errorf(InConcurrency, "%d is out of range; use 1 to 64", c.Concurrency))
	}
	if c.WaitTimeout <= 0 || c.WaitTimeout > 10*time.Minute {
		add(errorf(InWaitTimeout, "%s is out of range; use up to 10m", c.WaitTimeout))
	}
	add(c.validateRefresh())
	return errors.Join(errs...)
}

func (c *Config) validateKey() error {
	k, err := sakey.Parse(c.CredentialsJSON)
	if err != nil {
		var ke *sakey.Error
		if errors.As(err, &ke) {
			return errorf(InCredentialsJSON, "%s", ke.Problem)
		}
		return errorf(InCredentialsJSON, "%v", err)
	}
	if !sakey.GoogleTokenURIs[k.TokenURI] && k.TokenURI != c.OAuthTokenEndpoint {
		return errorf(InCredentialsJSON, "token_uri %q is not a Google token endpoint; refusing to send a signed assertion there. If this endpoint is intended (Private Service Connect, a sovereign universe), set %q to exactly this URL", k.TokenURI, InOAuthTokenEndpoint)
	}
	return nil
}

func (c *Config) validateNamespaces() error {
	var errs []error
	for _, ns := range c.Namespaces {
		if ns == "*" || IsGlob(ns) {
			if _, err := path.Match(ns, ""); err != nil {
				errs = append(errs, errorf(InNamespaces, "%q is not a valid glob", ns))
			}
			continue
		}
		for _, msg := range validation.IsDNS1123Label(ns) {
			errs = append(errs, errorf(InNamespaces, "%q is not a valid namespace name: %s", ns, msg))
		}
	}
	for _, ns := range c.ExcludeNamespaces {
		if _, err := path.Match(ns, ""); err != nil {
			errs = append(errs, errorf(InExcludeNamespaces, "%q is not a valid glob", ns))
		}
	}
	if c.NamespaceSelector != "" {
		if _, err := labels.Parse(c.NamespaceSelector); err != nil {
			errs = append(errs, errorf(InNamespaceSelector, "%q is not a label selector: %v", c.NamespaceSelector, err))
		}
	}
	if c.CreateNamespaces && c.Mode == ModeApply {
		for _, ns := range c.Namespaces {
			if IsGlob(ns) {
				errs = append(errs, errorf(InCreateNamespaces, "cannot create namespaces matching the glob %q; list them by name", ns))
			}
		}
	}
	return errors.Join(errs...)
}

// IsGlob reports whether a namespace entry is a pattern rather than a name.
func IsGlob(s string) bool { return strings.ContainsAny(s, "*?[") }

// validateEndpoint checks a Google endpoint input. Every one of them
// receives a credential (the GitHub OIDC token, a signed assertion, an
// access token), so plain http is refused except for the metadata server
// (link-local and http by design) and loopback hosts (fakes in tests).
func validateEndpoint(name, v string, allowHTTP bool) error {
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return errorf(name, "%q is not an https URL", v)
	}
	if u.User != nil {
		return errorf(name, "must not carry credentials in the URL")
	}
	if u.Scheme == "http" && name != InMetadataEndpoint && !isLoopbackHost(u.Hostname()) && !allowHTTP {
		return errorf(name, "%q must use https: it receives credentials (plain http is allowed only for loopback hosts)", v)
	}
	return nil
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func validateRegistry(r string) error {
	if strings.Contains(r, "://") || strings.Contains(r, "/") {
		return errorf(InRegistries, "%q must be a bare host such as us-docker.pkg.dev (no scheme, no path)", r)
	}
	host := r
	if h, port, err := net.SplitHostPort(r); err == nil {
		if port == "" {
			return errorf(InRegistries, "%q has an empty port", r)
		}
		host = h
	}
	parts := strings.Split(host, ".")
	lastWildcard := -1
	for i, label := range parts {
		if !registryLabelPattern.MatchString(label) {
			return errorf(InRegistries, "%q is not a host name (wildcards allowed per label, as kubelet matches them)", r)
		}
		if strings.Contains(label, "*") {
			lastWildcard = i
		}
	}
	if lastWildcard < 0 {
		return nil
	}
	// kubelet sends the credential to every host the pattern matches. The
	// labels after the last wildcard must be a domain someone owns, not a
	// public suffix (io, co.uk, github.io) where anyone can register a name
	// the pattern would match: *.co.uk or *.github.io would hand the Google
	// token to strangers' registries. Every Google pattern passes (*.gcr.io,
	// *-docker.pkg.dev, docker.*.rep.pkg.dev).
	suffix := strings.ToLower(strings.Join(parts[lastWildcard+1:], "."))
	if suffix == "" {
		return errorf(InRegistries, "%q matches any host: kubelet would send the token to every registry. A wildcard must be followed by a registrable domain, such as *.gcr.io or *-docker.pkg.dev", r)
	}
	if ps, _ := publicsuffix.PublicSuffix(suffix); ps == suffix {
		return errorf(InRegistries, "%q matches every domain under %q, a public suffix where anyone can register one: kubelet would send the token to their registries. A wildcard must be followed by a registrable domain, such as *.gcr.io or *-docker.pkg.dev", r, suffix)
	}
	return nil
}

// validateVerifyImage refuses an image whose host the secret does not
// cover: the check would send the credential to a host kubelet never
// would, and the pull it predicts would not use the secret at all.
func (c *Config) validateVerifyImage(img string) error {
	ref, err := registry.ParseReference(img)
	if err != nil {
		return errorf(InVerifyImage, "%v", err)
	}
	for _, r := range c.Registries {
		if registry.HostMatches(r, ref.Host) {
			return nil
		}
	}
	return errorf(InVerifyImage, "%q is on host %q, which none of %q matches; refusing to send the token there (add the host to %q or fix the image)", img, ref.Host, InRegistries, InRegistries)
}

func quoteJoin(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// ValidateRegistry checks one registries entry as Validate does (a bare
// host, kubelet-style wildcards, never a public suffix), for commands that
// print configuration for it without loading a whole Config.
func ValidateRegistry(r string) error { return validateRegistry(r) }
