package refresher

import (
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
	mode, schedule, interval := cfg.RefreshMode, "", cfg.RefreshInterval
	if mode == config.RefreshWatch {
		// The watching refresher refreshes at half of token_lifetime;
		// refresh_interval is not used.
		interval = cfg.TokenLifetime / 2
	} else {
		mode = config.RefreshCron
		var err error
		if schedule, err = cfg.RefreshSchedule(); err != nil {
			return Settings{}, err
		}
	}
	return Settings{
		Namespace:              cfg.RefreshNamespace,
		Image:                  cfg.EffectiveRefreshImage(),
		Mode:                   mode,
		RecoverPods:            mode == config.RefreshWatch && cfg.RefreshRecoverPods,
		Schedule:               schedule,
		Interval:               interval,
		Provider:               cfg.RefreshWorkloadIdentityProvider,
		ServiceAccount:         cfg.ServiceAccount,
		SecretName:             cfg.SecretName,
		TokenLifetime:          cfg.TokenLifetime,
		STSEndpoint:            cfg.STSEndpoint,
		IAMCredentialsEndpoint: cfg.IAMCredentialsEndpoint,
		AllowHTTPEndpoints:     cfg.AllowHTTPEndpoints,
		Fixed: map[string]string{
			config.InSecretName:             cfg.SecretName,
			config.InSecretLabels:           keyValues(cfg.SecretLabels),
			config.InSecretAnnotations:      keyValues(cfg.SecretAnnotations),
			config.InRegistries:             strings.Join(cfg.Registries, ","),
			config.InScopes:                 strings.Join(cfg.Scopes, ","),
			config.InTokenLifetime:          strconv.Itoa(int(cfg.TokenLifetime.Seconds())) + "s",
			config.InConcurrency:            strconv.Itoa(cfg.Concurrency),
			config.InSTSEndpoint:            cfg.STSEndpoint,
			config.InIAMCredentialsEndpoint: cfg.IAMCredentialsEndpoint,
			config.InOAuthTokenEndpoint:     cfg.OAuthTokenEndpoint,
			config.InMetadataEndpoint:       cfg.MetadataEndpoint,
		},
		Coverage: Coverage{
			Namespaces: slices.Clone(coverage), Selector: cfg.NamespaceSelector,
			Excludes: slices.Clone(cfg.ExcludeNamespaces), ServiceAccounts: slices.Clone(cfg.ServiceAccounts),
		},
	}, nil
}

// Merge adds an installed refresher's coverage to c: each run with
// refresh: true and the same identity adds its namespaces (a preview per
// pull request adds one at a time) and ServiceAccounts. A selector or
// exclusions of the run replace the installed ones; none keeps them.
func (c Coverage) Merge(installed Coverage) Coverage {
	out := Coverage{Namespaces: union(installed.Namespaces, c.Namespaces), Selector: c.Selector, Excludes: c.Excludes,
		ServiceAccounts: union(installed.ServiceAccounts, c.ServiceAccounts)}
	if out.Selector == "" {
		out.Selector = installed.Selector
	}
	if len(out.Excludes) == 0 {
		out.Excludes = slices.Clone(installed.Excludes)
	}
	return out
}

// Without returns the installed coverage minus a teardown run's
// namespaces (and its selector, when it is the installed one).
func (c Coverage) Without(patterns []string, selector string) Coverage {
	out := c
	out.Namespaces = slices.DeleteFunc(slices.Clone(c.Namespaces), func(p string) bool { return slices.Contains(patterns, p) })
	if selector != "" && selector == c.Selector {
		out.Selector = ""
	}
	return out
}

// Covers reports whether namespace ns (with its labels) is covered, with
// the run's semantics: named, or matched by a glob or the selector and
// not excluded.
func (c Coverage) Covers(ns string, labels map[string]string) bool {
	var globs []string
	for _, p := range c.Namespaces {
		if !IsPattern(p) && p == ns {
			return true
		}
		if IsPattern(p) {
			globs = append(globs, p)
		}
	}
	matched := slices.ContainsFunc(globs, func(p string) bool { return matchGlob(p, ns) })
	if !matched && c.Selector != "" {
		matched = selectorMatches(c.Selector, labels)
	}
	return matched && !slices.ContainsFunc(c.Excludes, func(p string) bool { return matchGlob(p, ns) })
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func keyValues(m map[string]string) string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, k+"="+m[k])
	}
	return strings.Join(out, ",")
}
