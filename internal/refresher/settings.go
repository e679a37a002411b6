package refresher

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/pullsecret/pullsecret/internal/config"
)

// NewSettings derives the refresher from a run's configuration. coverage
// is the namespace patterns the run chose (its namespaces input, or the
// context's namespace when it named none). Credentials are never carried
// over: the refresher has its own.
func NewSettings(cfg *config.Config, coverage []string) (Settings, error) {
	schedule, err := cfg.RefreshSchedule()
	if err != nil {
		return Settings{}, err
	}
	return Settings{
		Namespace:              cfg.RefreshNamespace,
		Image:                  cfg.EffectiveRefreshImage(),
		Schedule:               schedule,
		Interval:               cfg.RefreshInterval,
		Provider:               cfg.RefreshWorkloadIdentityProvider,
		ServiceAccount:         cfg.ServiceAccount,
		TokenLifetime:          cfg.TokenLifetime,
		STSEndpoint:            cfg.STSEndpoint,
		IAMCredentialsEndpoint: cfg.IAMCredentialsEndpoint,
		AllowHTTPEndpoints:     cfg.AllowHTTPEndpoints,
		Inputs: map[string]string{
			config.InNamespaces:             strings.Join(coverage, "\n"),
			config.InNamespaceSelector:      cfg.NamespaceSelector,
			config.InExcludeNamespaces:      strings.Join(cfg.ExcludeNamespaces, ","),
			config.InSecretName:             cfg.SecretName,
			config.InSecretLabels:           keyValues(cfg.SecretLabels),
			config.InSecretAnnotations:      keyValues(cfg.SecretAnnotations),
			config.InServiceAccounts:        strings.Join(cfg.ServiceAccounts, ","),
			config.InRegistries:             strings.Join(cfg.Registries, ","),
			config.InScopes:                 strings.Join(cfg.Scopes, ","),
			config.InTokenLifetime:          strconv.Itoa(int(cfg.TokenLifetime.Seconds())) + "s",
			config.InConcurrency:            strconv.Itoa(cfg.Concurrency),
			config.InSTSEndpoint:            cfg.STSEndpoint,
			config.InIAMCredentialsEndpoint: cfg.IAMCredentialsEndpoint,
			config.InOAuthTokenEndpoint:     cfg.OAuthTokenEndpoint,
			config.InMetadataEndpoint:       cfg.MetadataEndpoint,
		},
	}, nil
}

// Merge adds an installed refresher's coverage to s: each run with
// refresh: true adds its namespaces (a preview per pull request adds one
// at a time); its other settings replace the installed ones. One
// refresher keeps one secret name fresh: another name needs another
// refresh_namespace.
func (s *Settings) Merge(installed map[string]string) error {
	if installed == nil {
		return nil
	}
	if old, now := installed[config.InSecretName], s.Inputs[config.InSecretName]; old != now {
		return fmt.Errorf("input %q: the refresher in namespace %q keeps secret %q fresh, not %q; use another %s for another secret name (or remove it first with mode: delete)",
			config.InRefreshNamespace, s.Namespace, old, now, config.InRefreshNamespace)
	}
	merged := config.SplitList(installed[config.InNamespaces])
	for _, p := range config.SplitList(s.Inputs[config.InNamespaces]) {
		if !slices.Contains(merged, p) {
			merged = append(merged, p)
		}
	}
	s.Inputs[config.InNamespaces] = strings.Join(merged, "\n")
	if s.Inputs[config.InNamespaceSelector] == "" {
		s.Inputs[config.InNamespaceSelector] = installed[config.InNamespaceSelector]
	}
	return nil
}

// Without returns the installed inputs minus a teardown run's namespaces
// (and its selector, when it is the installed one), and whether any
// coverage remains.
func Without(installed map[string]string, patterns []string, selector string) (map[string]string, bool) {
	out := maps.Clone(installed)
	var kept []string
	for _, p := range config.SplitList(installed[config.InNamespaces]) {
		if !slices.Contains(patterns, p) {
			kept = append(kept, p)
		}
	}
	out[config.InNamespaces] = strings.Join(kept, "\n")
	if selector != "" && selector == installed[config.InNamespaceSelector] {
		out[config.InNamespaceSelector] = ""
	}
	return out, len(kept) > 0 || out[config.InNamespaceSelector] != ""
}

func keyValues(m map[string]string) string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, k+"="+m[k])
	}
	return strings.Join(out, ",")
}
