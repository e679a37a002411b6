package config

import (
	"testing"

	"github.com/pullsecret/pullsecret/internal/testing/check"
)

// A registry key is a kubelet match pattern: "*.io", "*.co.uk" or "*" would
// make kubelet send the Google token to any registry a pod names, and
// "*.github.io" to any GitHub user's Pages site: what follows the last
// wildcard must be a registrable domain (public suffix list).
func TestRegistryWildcardsMustLeaveARegistrableDomain(t *testing.T) {
	t.Parallel()
	cases := []struct {
		registry string
		ok       bool
	}{
		{
			registry: "gcr.io",
			ok:       true,
		},
		{
			registry: "*.gcr.io",
			ok:       true,
		},
		{
			registry: "*-docker.pkg.dev",
			ok:       true,
		},
		{
			registry: "docker.*.rep.pkg.dev",
			ok:       true,
		},
		{
			registry: "us-docker.pkg.dev",
			ok:       true,
		},
		{
			registry: "localhost:5000",
			ok:       true,
		},
		{
			registry: "*.example.co:443",
			ok:       true,
		},
		{
			registry: "*.example.co.uk",
			ok:       true,
		},
		{
			registry: "*.co.uk",
		},
		{
			registry: "*.github.io",
		},
		{
			registry: "*.s3.amazonaws.com",
		},
		{
			registry: "docker.*.io",
		},
		{
			registry: "*.CO.UK",
		},
		{
			registry: "*",
		},
		{
			registry: "*.io",
		},
		{
			registry: "*.*.io",
		},
		{
			registry: "gcr.*",
		},
		{
			registry: "*-docker.*",
		},
		{
			registry: "*.dev:443",
		},
		{
			registry: "a*.b*.c*",
		},
		{
			registry: "*docker*.pkg*.dev",
		},
	}
	for _, tc := range cases {
		t.Run(tc.registry, func(t *testing.T) {
			t.Parallel()
			_, err := Load(check.Lookup(map[string]string{InRegistries: "gcr.io," + tc.registry}))
			if tc.ok {
				if err != nil {
					t.Fatalf("refused %q: %v", tc.registry, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted %q, which lets kubelet send the token to registries outside Google", tc.registry)
			}
			if d := check.ErrDiff(err, `input "registries"`, `"`+tc.registry+`"`); d != "" {
				t.Error(d)
			}
		})
	}
}
