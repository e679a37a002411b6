package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Lookup returns the raw value of an input by its snake_case name, and
// whether it was set at all. Tests pass a map; production reads INPUT_*
// variables and flags.
type Lookup func(name string) (string, bool)

// inputError names the input in every message, so a user sees which line of
// their workflow to fix.
type inputError struct {
	name string
	msg  string
}

func (e *inputError) Error() string { return fmt.Sprintf("input %q: %s", e.name, e.msg) }

func errorf(name, format string, args ...any) error {
	return &inputError{name: name, msg: fmt.Sprintf(format, args...)}
}

// EnvAllowHTTPEndpoints, set to "true", lets Google endpoint inputs use
// plain http on non-loopback hosts. It exists for test rigs only: a docker
// action reaches fakes on the runner host through the container's gateway,
// never through loopback. Only a test-rig build reads it (package
// testrig); tests pass the option.
const EnvAllowHTTPEndpoints = "PULLSECRET_TEST_ALLOW_HTTP_ENDPOINTS"

// Option adjusts a Config before validation, for settings that are not
// inputs.
type Option func(*Config)

// AllowHTTPEndpoints sets Config.AllowHTTPEndpoints.
func AllowHTTPEndpoints(allow bool) Option {
	return func(c *Config) { c.AllowHTTPEndpoints = allow }
}

// ReleaseImage is the image this step runs from, by digest, as the
// release's action.yml tells it (its args, never the environment): the
// refresher's default image when refresh_image is empty.
func ReleaseImage(ref string) Option {
	return func(c *Config) { c.releaseImage = strings.TrimSpace(ref) }
}

// SkipForeignSecrets sets Config.SkipForeignSecrets.
func SkipForeignSecrets() Option {
	return func(c *Config) { c.SkipForeignSecrets = true }
}

// SkipMissingNamespaces sets Config.SkipMissingNamespaces.
func SkipMissingNamespaces() Option {
	return func(c *Config) { c.SkipMissingNamespaces = true }
}

// Load reads every input through lookup, applying defaults, and validates.
// All problems are returned together, joined, so one run shows them all.
func Load(lookup Lookup, opts ...Option) (*Config, error) {
	get := func(name string) string {
		if v, ok := lookup(name); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
		return defaultOf(name)
	}
	var errs []error
	c := &Config{
		WorkloadIdentityProvider: strings.TrimPrefix(get(InWorkloadIdentityProvider), "//iam.googleapis.com/"),
		ServiceAccount:           get(InServiceAccount),
		Audience:                 get(InAudience),
		OIDCTokenFile:            get(InOIDCTokenFile),
		OIDCTokenEnv:             get(InOIDCTokenEnv),
		AccessToken:              get(InAccessToken),
		CredentialMode:           CredentialMode(get(InCredentialMode)),
		STSEndpoint:              get(InSTSEndpoint),
		IAMCredentialsEndpoint:   strings.TrimSuffix(get(InIAMCredentialsEndpoint), "/"),
		OAuthTokenEndpoint:       get(InOAuthTokenEndpoint),
		MetadataEndpoint:         strings.TrimSuffix(get(InMetadataEndpoint), "/"),
		Kubeconfig:               get(InKubeconfig),
		Context:                  get(InContext),
		APIServerHost:            get(InAPIServerHost),
		Namespaces:               SplitList(get(InNamespaces)),
		NamespaceSelector:        get(InNamespaceSelector),
		ExcludeNamespaces:        SplitList(get(InExcludeNamespaces)),
		SecretName:               get(InSecretName),
		ServiceAccounts:          SplitList(get(InServiceAccounts)),
		Registries:               SplitList(get(InRegistries)),
		VerifyImages:             SplitList(get(InVerifyImage)),
		Mode:                     Mode(get(InMode)),
		Scopes:                   SplitList(get(InScopes)),

		RefreshNamespace:                get(InRefreshNamespace),
		RefreshImage:                    get(InRefreshImage),
		RefreshWorkloadIdentityProvider: strings.TrimPrefix(get(InRefreshWorkloadIdentityProvider), "//iam.googleapis.com/"),
		RefreshMode:                     strings.ToLower(strings.TrimSpace(get(InRefreshMode))),
	}
	// service_accounts may be deliberately empty ("patch none"), which get()
	// would turn back into the default.
	if v, ok := lookup(InServiceAccounts); ok && strings.TrimSpace(v) == "" {
		c.ServiceAccounts = nil
	}
	if raw := get(InCredentialsJSON); raw != "" {
		key, err := decodeKey(raw)
		if err != nil {
			errs = append(errs, err)
		}
		c.CredentialsJSON = key
	}
	var err error
	if c.TokenLifetime, err = parseDuration(InTokenLifetime, get(InTokenLifetime)); err != nil {
		errs = append(errs, err)
	}
	if c.WaitTimeout, err = parseDuration(InWaitTimeout, get(InWaitTimeout)); err != nil {
		errs = append(errs, err)
	}
	if c.RefreshInterval, err = parseDuration(InRefreshInterval, get(InRefreshInterval)); err != nil {
		errs = append(errs, err)
	}
	for _, b := range []struct {
		name string
		dst  *bool
	}{{InCreateNamespaces, &c.CreateNamespaces}, {InDryRun, &c.DryRun}, {InForce, &c.Force}, {InRefresh, &c.Refresh}, {InRefreshNamespaceAdopt, &c.RefreshNamespaceAdopt}, {InRefreshRecoverPods, &c.RefreshRecoverPods}} {
		if *b.dst, err = parseBool(b.name, get(b.name)); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Concurrency, err = strconv.Atoi(get(InConcurrency)); err != nil {
		errs = append(errs, errorf(InConcurrency, "%q is not a whole number", get(InConcurrency)))
	}
	if c.SecretLabels, err = parseKeyValues(InSecretLabels, get(InSecretLabels)); err != nil {
		errs = append(errs, err)
	}
	if c.SecretAnnotations, err = parseKeyValues(InSecretAnnotations, get(InSecretAnnotations)); err != nil {
		errs = append(errs, err)
	}
	for _, o := range opts {
		o(c)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func defaultOf(name string) string {
	for _, in := range Inputs {
		if in.Name == name {
			return in.Default
		}
	}
	return ""
}

// SplitList splits on commas and newlines, trims, drops empties and
// duplicates, keeping first-seen order.
func SplitList(s string) []string {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' })
	var out []string
	seen := map[string]bool{}
	for _, f := range fields {
		f = strings.TrimSpace(f)
		if f == "" || seen[f] {
			continue
		}
		seen[f] = true
		out = append(out, f)
	}
	return out
}

func parseBool(name, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "yes", "1", "on":
		return true, nil
	case "false", "no", "0", "off", "":
		return false, nil
	}
	return false, errorf(name, "%q is not a boolean (use true or false)", v)
}

// parseDuration accepts Go durations ("2h", "3600s") and bare seconds
// ("3600"), the two spellings users bring from gcloud and from Go tools.
func parseDuration(name, v string) (time.Duration, error) {
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, errorf(name, "%q is not a duration (use e.g. 3600s, 45m or 2h)", v)
	}
	return d, nil
}

func parseKeyValues(name, v string) (map[string]string, error) {
	items := SplitList(v)
	if len(items) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(items))
	for _, item := range items {
		k, val, ok := strings.Cut(item, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, errorf(name, "%q is not key=value", item)
		}
		out[k] = strings.TrimSpace(val)
	}
	return out, nil
}

// decodeKey accepts a key as raw JSON or base64 of it (what people paste
// from `base64 key.json` into a secret). The error never quotes the value.
func decodeKey(raw string) ([]byte, error) {
	if strings.HasPrefix(raw, "{") {
		return []byte(raw), nil
	}
	compact := strings.Join(strings.Fields(raw), "")
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(compact); err == nil && strings.HasPrefix(strings.TrimSpace(string(b)), "{") {
			return []byte(strings.TrimSpace(string(b))), nil
		}
	}
	return nil, errorf(InCredentialsJSON, "is neither JSON nor base64-encoded JSON (paste the whole service-account key file)")
}
