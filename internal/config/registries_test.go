package config

import (
	"strings"
	"testing"

	"github.com/pullsecret/pullsecret/internal/testing/check"
)

// A registry key is a kubelet match pattern: "*.io" or "*" would make
// kubelet send the Google token to any registry a pod names.
func TestRegistryWildcardsMustKeepTwoLiteralLabels(t *testing.T) {
	t.Parallel()
	cases := []struct {
		registry string
		ok       bool
	}{
		{"gcr.io", true},
		{"*.gcr.io", true},
		{"*-docker.pkg.dev", true},
		{"docker.*.rep.pkg.dev", true},
		{"us-docker.pkg.dev", true},
		{"localhost:5000", true},
		{"*.example.co:443", true},
		{"*", false},
		{"*.io", false},
		{"*.*.io", false},
		{"gcr.*", false},
		{"*-docker.*", false},
		{"*.dev:443", false},
		{"a*.b*.c*", false},
		{"*docker*.pkg*.dev", false},
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
			for _, want := range []string{`input "registries"`, `"` + tc.registry + `"`} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %s", err, want)
				}
			}
		})
	}
}
