package config

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"

	"github.com/pullsecret/pullsecret/internal/testing/check"
)

const testKey = `{"type":"service_account","project_id":"p","private_key_id":"abc123","private_key":"FAKE KEY\nMIIB\n-----END FAKE KEY-----\n","client_email":"sa@p.iam.gserviceaccount.com","token_uri":"https://oauth2.googleapis.com/token"}`

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	got, err := Load(check.Lookup(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		TokenLifetime:          time.Hour,
		Scopes:                 []string{DefaultScope},
		CredentialMode:         CredentialAccessToken,
		STSEndpoint:            DefaultSTSEndpoint,
		IAMCredentialsEndpoint: DefaultIAMCredentialsEndpoint,
		OAuthTokenEndpoint:     DefaultOAuthTokenEndpoint,
		MetadataEndpoint:       DefaultMetadataEndpoint,
		APIServerHost:          "auto",
		ExcludeNamespaces:      []string{"kube-system", "kube-public", "kube-node-lease"},
		SecretName:             DefaultSecretName,
		ServiceAccounts:        []string{"default"},
		Registries:             []string{"gcr.io", "*.gcr.io", "*-docker.pkg.dev", "docker.*.rep.pkg.dev"},
		Mode:                   ModeApply,
		Concurrency:            32,
		WaitTimeout:            time.Minute,
		RefreshInterval:        30 * time.Minute,
		RefreshNamespace:       DefaultRefreshNamespace,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if got.CredentialSource() != "application_default_credentials" {
		t.Errorf("source = %q", got.CredentialSource())
	}
}

func TestLoadParses(t *testing.T) {
	t.Parallel()
	b64 := base64.StdEncoding.EncodeToString([]byte(testKey))
	cases := []struct {
		name   string
		inputs map[string]string
		check  func(*Config) any
		want   any
	}{
		{"wif provider strips iam prefix", map[string]string{InWorkloadIdentityProvider: "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/gh/providers/gh", InServiceAccount: "a@b.iam.gserviceaccount.com"},
			func(c *Config) any {
				return []string{c.WorkloadIdentityProvider, c.EffectiveAudience(), c.CredentialSource()}
			},
			[]string{"projects/1/locations/global/workloadIdentityPools/gh/providers/gh", "https://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/gh/providers/gh", InWorkloadIdentityProvider}},
		{"base64 key decodes", map[string]string{InCredentialsJSON: b64}, func(c *Config) any { return string(c.CredentialsJSON) }, testKey},
		{"wrapped base64 key decodes", map[string]string{InCredentialsJSON: b64[:20] + "\n" + b64[20:]}, func(c *Config) any { return string(c.CredentialsJSON) }, testKey},
		{"namespaces newline and comma", map[string]string{InNamespaces: "a, b\nc\n\n a"}, func(c *Config) any { return c.Namespaces }, []string{"a", "b", "c"}},
		{"lifetime seconds", map[string]string{InTokenLifetime: "7200"}, func(c *Config) any { return c.TokenLifetime }, 2 * time.Hour},
		{"lifetime 12h", map[string]string{InTokenLifetime: "12h"}, func(c *Config) any { return c.TokenLifetime }, 12 * time.Hour},
		{"empty service_accounts patches none", map[string]string{InServiceAccounts: ""}, func(c *Config) any { return c.ServiceAccounts }, []string(nil)},
		{"labels", map[string]string{InSecretLabels: "team=web\nenv=pr"}, func(c *Config) any { return c.SecretLabels }, map[string]string{"team": "web", "env": "pr"}},
		{"bools", map[string]string{InCreateNamespaces: "TRUE", InDryRun: "yes", InForce: "0"}, func(c *Config) any { return []bool{c.CreateNamespaces, c.DryRun, c.Force} }, []bool{true, true, false}},
		{"explicit registry with port", map[string]string{InRegistries: "localhost:5000,europe-docker.pkg.dev"}, func(c *Config) any { return c.Registries }, []string{"localhost:5000", "europe-docker.pkg.dev"}},
		{"custom token_uri allowed when configured", map[string]string{InCredentialsJSON: strings.Replace(testKey, "https://oauth2.googleapis.com/token", "https://psc.example/token", 1), InOAuthTokenEndpoint: "https://psc.example/token"},
			func(c *Config) any { return c.OAuthTokenEndpoint }, "https://psc.example/token"},
		{"json_key mode with key", map[string]string{InCredentialsJSON: testKey, InCredentialMode: "json_key"}, func(c *Config) any { return c.CredentialMode }, CredentialJSONKey},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(check.Lookup(tc.inputs))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, tc.check(c)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// Every bad input must produce an error that names the input, so the user
// knows which line of the workflow to fix.
func TestLoadRejects(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		inputs map[string]string
		names  []string // inputs the error must name
	}{
		{"two sources", map[string]string{InCredentialsJSON: testKey, InAccessToken: "ya29.x"}, []string{InCredentialsJSON, InAccessToken}},
		{"three sources", map[string]string{InWorkloadIdentityProvider: "projects/1/locations/global/workloadIdentityPools/p/providers/x", InCredentialsJSON: testKey, InAccessToken: "t"}, []string{InWorkloadIdentityProvider, InCredentialsJSON, InAccessToken}},
		{"bad provider", map[string]string{InWorkloadIdentityProvider: "projects/abc/providers/x"}, []string{InWorkloadIdentityProvider}},
		{"bad sa email", map[string]string{InWorkloadIdentityProvider: "projects/1/locations/global/workloadIdentityPools/p/providers/x", InServiceAccount: "not-an-email"}, []string{InServiceAccount}},
		{"sa without wif", map[string]string{InServiceAccount: "a@b.iam.gserviceaccount.com"}, []string{InServiceAccount}},
		{"sa without wif nor refresh", map[string]string{InServiceAccount: "a@b.iam.gserviceaccount.com", InAccessToken: "ya29.x"}, []string{InServiceAccount, InRefresh}},
		{"audience without wif", map[string]string{InAudience: "x"}, []string{InAudience}},
		{"key not json", map[string]string{InCredentialsJSON: "not a key"}, []string{InCredentialsJSON}},
		{"key wrong type", map[string]string{InCredentialsJSON: `{"type":"external_account"}`}, []string{InCredentialsJSON}},
		// encoding/json matches field names case-insensitively; MaskKey
		// (and a reader of the key) does not. Found by FuzzKeyParsing.
		{"key field names in another case", map[string]string{InCredentialsJSON: strings.Replace(testKey, `"private_key"`, `"Private_Key"`, 1)}, []string{InCredentialsJSON}},
		{"key missing fields", map[string]string{InCredentialsJSON: `{"type":"service_account"}`}, []string{InCredentialsJSON}},
		{"key foreign token_uri", map[string]string{InCredentialsJSON: strings.Replace(testKey, "https://oauth2.googleapis.com/token", "https://evil.example/token", 1)}, []string{InCredentialsJSON, InOAuthTokenEndpoint}},
		{"lifetime garbage", map[string]string{InTokenLifetime: "forever"}, []string{InTokenLifetime}},
		{"lifetime too long", map[string]string{InTokenLifetime: "13h"}, []string{InTokenLifetime}},
		{"lifetime too short", map[string]string{InTokenLifetime: "10s"}, []string{InTokenLifetime}},
		{"json_key without key", map[string]string{InCredentialMode: "json_key"}, []string{InCredentialMode, InCredentialsJSON}},
		{"unknown credential mode", map[string]string{InCredentialMode: "password"}, []string{InCredentialMode}},
		{"token with spaces", map[string]string{InAccessToken: "Bearer ya29.x"}, []string{InAccessToken}},
		{"bad endpoint", map[string]string{InSTSEndpoint: "ftp://x"}, []string{InSTSEndpoint}},
		{"endpoint with userinfo", map[string]string{InMetadataEndpoint: "http://u:p@x"}, []string{InMetadataEndpoint}},
		{"bad namespace", map[string]string{InNamespaces: "Not_Valid"}, []string{InNamespaces}},
		{"bad glob", map[string]string{InNamespaces: "pre[view"}, []string{InNamespaces}},
		{"bad selector", map[string]string{InNamespaceSelector: "a=(b"}, []string{InNamespaceSelector}},
		{"create with glob", map[string]string{InNamespaces: "preview-*", InCreateNamespaces: "true"}, []string{InCreateNamespaces}},
		{"bad secret name", map[string]string{InSecretName: "Bad_Name"}, []string{InSecretName}},
		{"bad sa name", map[string]string{InServiceAccounts: "default,Bad SA"}, []string{InServiceAccounts}},
		{"bad label", map[string]string{InSecretLabels: "novalue"}, []string{InSecretLabels}},
		{"bad label value", map[string]string{InSecretLabels: "a=b c"}, []string{InSecretLabels}},
		{"bad annotation key", map[string]string{InSecretAnnotations: "-x=1"}, []string{InSecretAnnotations}},
		{"registry with scheme", map[string]string{InRegistries: "https://gcr.io"}, []string{InRegistries}},
		{"registry with path", map[string]string{InRegistries: "gcr.io/proj"}, []string{InRegistries}},
		{"bad mode", map[string]string{InMode: "upsert"}, []string{InMode}},
		{"bad bool", map[string]string{InDryRun: "maybe"}, []string{InDryRun}},
		{"bad concurrency", map[string]string{InConcurrency: "0"}, []string{InConcurrency}},
		{"concurrency not a number", map[string]string{InConcurrency: "many"}, []string{InConcurrency}},
		{"bad wait", map[string]string{InWaitTimeout: "1y"}, []string{InWaitTimeout}},
		{"empty scopes", map[string]string{InScopes: ",,"}, []string{InScopes}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(check.Lookup(tc.inputs))
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, n := range tc.names {
				if !strings.Contains(err.Error(), `"`+n+`"`) {
					t.Errorf("error %q does not name input %q", err, n)
				}
			}
		})
	}
}

// A malformed key must not be echoed back in the error.
func TestKeyErrorsDoNotQuoteTheKey(t *testing.T) {
	t.Parallel()
	secret := "SUPERSECRETPRIVATEKEYMATERIAL"
	for _, raw := range []string{
		`{"type":"service_account","private_key":"` + secret + `"`, // truncated JSON
		`{"type":"authorized_user","refresh_token":"` + secret + `"}`,
		`{"type":"service_account","private_key":"` + secret + `"}`,
	} {
		_, err := Load(check.Lookup(map[string]string{InCredentialsJSON: raw}))
		if err == nil {
			t.Fatalf("accepted %d-byte bad key", len(raw))
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error leaks key material: %v", err)
		}
	}
}

func TestFlagsOverrideEnvironment(t *testing.T) {
	t.Parallel()
	env := map[string]string{"INPUT_SECRET_NAME": "from-env", "INPUT_NAMESPACES": "env-ns", "INPUT_SERVICE_ACCOUNTS": ""}
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	lookup := Flags(fs, check.Lookup(env))
	if err := fs.Parse([]string{"--secret-name", "from-flag", "--dry-run"}); err != nil {
		t.Fatal(err)
	}
	c, err := Load(lookup)
	if err != nil {
		t.Fatal(err)
	}
	got := []any{c.SecretName, c.Namespaces, c.DryRun, c.ServiceAccounts}
	want := []any{"from-flag", []string{"env-ns"}, true, []string(nil)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
