package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// readOnlyScopes are the scopes a pull secret may carry without a warning:
// what pulling needs, and identity scopes that grant no access to data.
var readOnlyScopes = []string{
	DefaultScope,
	"https://www.googleapis.com/auth/cloud-platform.read-only",
	"https://www.googleapis.com/auth/userinfo.email",
	"openid",
	"email",
}

// Warnings returns what is allowed but risky in the inputs, for the run to
// print as warning annotations before anything is sent.
func (c *Config) Warnings() []string {
	var out []string
	// A json_key secret holds the key, not a token of these scopes (that
	// mode warns on its own).
	if c.CredentialMode != CredentialJSONKey {
		var broad []string
		for _, s := range c.Scopes {
			if !slices.Contains(readOnlyScopes, s) {
				broad = append(broad, s)
			}
		}
		if len(broad) > 0 {
			out = append(out, fmt.Sprintf("input %q asks for %s, more than pulling images needs: anyone who can read the pull secret can use the token with %s. %s is enough for gcr.io and Artifact Registry.",
				InScopes, strings.Join(broad, ", "), plural(len(broad), "that scope", "those scopes"), DefaultScope))
		}
	}
	if c.Refresh && c.Mode == ModeApply && c.RefreshMode == RefreshWatch && c.RefreshInterval != defaultRefreshInterval {
		out = append(out, fmt.Sprintf("input %q (%s) is not used with %s: %s: the watching refresher refreshes at half of %s (%s).",
			InRefreshInterval, c.RefreshInterval, InRefreshMode, RefreshWatch, InTokenLifetime, c.TokenLifetime/2))
	}
	for _, e := range []struct{ name, value string }{
		{InSTSEndpoint, c.STSEndpoint},
		{InIAMCredentialsEndpoint, c.IAMCredentialsEndpoint},
		{InOAuthTokenEndpoint, c.OAuthTokenEndpoint},
	} {
		u, err := url.Parse(e.value)
		if err != nil || e.value == "" {
			continue // Validate reports it
		}
		host := strings.ToLower(u.Hostname())
		// Loopback never leaves the machine (test rigs, local proxies).
		if host == "googleapis.com" || strings.HasSuffix(host, ".googleapis.com") || isLoopbackHost(host) {
			continue
		}
		out = append(out, fmt.Sprintf("input %q sends credentials to %s, which is not a Google API host (*.googleapis.com): make sure you run it (Private Service Connect or a sovereign cloud) and trust it with them.", e.name, host))
	}
	return out
}

// defaultRefreshInterval is DefaultRefreshInterval parsed: a docker action
// always receives the default, so only another value was chosen.
var defaultRefreshInterval, _ = time.ParseDuration(DefaultRefreshInterval)

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
