package config

import (
	"strings"
	"testing"

	"github.com/pullsecret/pullsecret/internal/testing/check"
)

const testProviderName = "projects/1/locations/global/workloadIdentityPools/ci/providers/gitlab"

// oidc_token_file and oidc_token_env replace GitHub's OIDC endpoint only
// with a provider, one at a time, and the env input takes a name.
func TestOIDCTokenInputs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		inputs map[string]string
		want   []string // empty: accepted
	}{
		{"file with a provider", map[string]string{InWorkloadIdentityProvider: testProviderName, InOIDCTokenFile: "/tmp/token"}, nil},
		{"env with a provider", map[string]string{InWorkloadIdentityProvider: testProviderName, InOIDCTokenEnv: "CIRCLE_OIDC_TOKEN_V2"}, nil},
		{"both", map[string]string{InWorkloadIdentityProvider: testProviderName, InOIDCTokenFile: "/tmp/token", InOIDCTokenEnv: "TOKEN"},
			[]string{`input "oidc_token_env"`, `conflicts with "oidc_token_file"`}},
		{"file without a provider", map[string]string{InOIDCTokenFile: "/tmp/token"}, []string{`input "oidc_token_file"`, `only used with "workload_identity_provider"`}},
		{"env without a provider", map[string]string{InOIDCTokenEnv: "TOKEN"}, []string{`input "oidc_token_env"`, `only used with "workload_identity_provider"`}},
		{"token instead of a name", map[string]string{InWorkloadIdentityProvider: testProviderName, InOIDCTokenEnv: "eyJhbGciOiJSUzI1NiJ9.e30.sig"},
			[]string{`input "oidc_token_env"`, "not an environment variable name"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(check.Lookup(tc.inputs))
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if d := check.ErrDiff(err, tc.want...); d != "" {
				t.Fatal(d)
			}
			if v := tc.inputs[InOIDCTokenEnv]; len(v) > 20 && strings.Contains(err.Error(), v) {
				t.Error("the error quotes the value, which may be the token")
			}
		})
	}
}
