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
		RefreshMode:            RefreshCron,
	}
	// AllowUnexported: releaseImage (set only by WithReleaseImage) is compared too.
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(Config{})); diff != "" {
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
		{
			name:   "wif provider strips iam prefix",
			inputs: map[string]string{InWorkloadIdentityProvider: "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/gh/providers/gh", InServiceAccount: "a@b.iam.gserviceaccount.com"},
			check: func(c *Config) any {
				return []string{c.WorkloadIdentityProvider, c.EffectiveAudience(), c.CredentialSource()}
			},
			want: []string{"projects/1/locations/global/workloadIdentityPools/gh/providers/gh", "https://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/gh/providers/gh", InWorkloadIdentityProvider},
		},
		{
			name:   "base64 key decodes",
			inputs: map[string]string{InCredentialsJSON: b64},
			check:  func(c *Config) any { return string(c.CredentialsJSON) },
			want:   testKey,
		},
		{
			name:   "wrapped base64 key decodes",
			inputs: map[string]string{InCredentialsJSON: b64[:20] + "\n" + b64[20:]},
			check:  func(c *Config) any { return string(c.CredentialsJSON) },
			want:   testKey,
		},
		{
			name:   "namespaces newline and comma",
			inputs: map[string]string{InNamespaces: "a, b\nc\n\n a"},
			check:  func(c *Config) any { return c.Namespaces },
			want:   []string{"a", "b", "c"},
		},
		{
			name:   "lifetime seconds",
			inputs: map[string]string{InTokenLifetime: "7200"},
			check:  func(c *Config) any { return c.TokenLifetime },
			want:   2 * time.Hour,
		},
		{
			name:   "lifetime 12h",
			inputs: map[string]string{InTokenLifetime: "12h"},
			check:  func(c *Config) any { return c.TokenLifetime },
			want:   12 * time.Hour,
		},
		{
			name:   "empty service_accounts patches none",
			inputs: map[string]string{InServiceAccounts: ""},
			check:  func(c *Config) any { return c.ServiceAccounts },
			want:   []string(nil),
		},
		{
			name:   "labels",
			inputs: map[string]string{InSecretLabels: "team=web\nenv=pr"},
			check:  func(c *Config) any { return c.SecretLabels },
			want:   map[string]string{"team": "web", "env": "pr"},
		},
		{
			name:   "bools",
			inputs: map[string]string{InCreateNamespaces: "TRUE", InDryRun: "yes", InForce: "0"},
			check:  func(c *Config) any { return []bool{c.CreateNamespaces, c.DryRun, c.Force} },
			want:   []bool{true, true, false},
		},
		{
			name:   "explicit registry with port",
			inputs: map[string]string{InRegistries: "localhost:5000,europe-docker.pkg.dev"},
			check:  func(c *Config) any { return c.Registries },
			want:   []string{"localhost:5000", "europe-docker.pkg.dev"},
		},
		{
			name:   "custom token_uri allowed when configured",
			inputs: map[string]string{InCredentialsJSON: strings.Replace(testKey, "https://oauth2.googleapis.com/token", "https://psc.example/token", 1), InOAuthTokenEndpoint: "https://psc.example/token"},
			check:  func(c *Config) any { return c.OAuthTokenEndpoint },
			want:   "https://psc.example/token",
		},
		{
			name:   "json_key mode with key",
			inputs: map[string]string{InCredentialsJSON: testKey, InCredentialMode: "json_key"},
			check:  func(c *Config) any { return c.CredentialMode },
			want:   CredentialJSONKey,
		},
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
		want   string   // what is wrong with them: a fragment only this kind of mistake produces
	}{
		{
			name:   "two sources",
			inputs: map[string]string{InCredentialsJSON: testKey, InAccessToken: "ya29.x"},
			names:  []string{InCredentialsJSON, InAccessToken},
			want:   "conflict: set exactly one credential source",
		},
		{
			name:   "three sources",
			inputs: map[string]string{InWorkloadIdentityProvider: "projects/1/locations/global/workloadIdentityPools/p/providers/x", InCredentialsJSON: testKey, InAccessToken: "t"},
			names:  []string{InWorkloadIdentityProvider, InCredentialsJSON, InAccessToken},
			want:   "conflict: set exactly one credential source",
		},
		{
			name:   "bad provider",
			inputs: map[string]string{InWorkloadIdentityProvider: "projects/abc/providers/x"},
			names:  []string{InWorkloadIdentityProvider},
			want:   "is not a provider resource name",
		},
		{
			name:   "bad sa email",
			inputs: map[string]string{InWorkloadIdentityProvider: "projects/1/locations/global/workloadIdentityPools/p/providers/x", InServiceAccount: "not-an-email"},
			names:  []string{InServiceAccount},
			want:   "is not a service-account email",
		},
		{
			name:   "sa without wif",
			inputs: map[string]string{InServiceAccount: "a@b.iam.gserviceaccount.com"},
			names:  []string{InServiceAccount},
			want:   "an access token cannot impersonate",
		},
		{
			name:   "sa without wif nor refresh",
			inputs: map[string]string{InServiceAccount: "a@b.iam.gserviceaccount.com", InAccessToken: "ya29.x"},
			names:  []string{InServiceAccount, InRefresh},
			want:   "an access token cannot impersonate",
		},
		{
			name:   "audience without wif",
			inputs: map[string]string{InAudience: "x"},
			names:  []string{InAudience},
			want:   "is only used with \"workload_identity_provider\"",
		},
		{
			name:   "key not json",
			inputs: map[string]string{InCredentialsJSON: "not a key"},
			names:  []string{InCredentialsJSON},
			want:   "is neither JSON nor base64-encoded JSON",
		},
		{
			name:   "key wrong type",
			inputs: map[string]string{InCredentialsJSON: `{"type":"external_account"}`},
			names:  []string{InCredentialsJSON},
			want:   "only service-account keys",
		},
		// encoding/json matches field names case-insensitively; MaskKey
		// (and a reader of the key) does not. Found by FuzzKeyParsing.
		{
			name:   "key field names in another case",
			inputs: map[string]string{InCredentialsJSON: strings.Replace(testKey, `"private_key"`, `"Private_Key"`, 1)},
			names:  []string{InCredentialsJSON},
			want:   "a service-account key spells it \"private_key\"",
		},
		{
			name:   "key missing fields",
			inputs: map[string]string{InCredentialsJSON: `{"type":"service_account"}`},
			names:  []string{InCredentialsJSON},
			want:   "is missing client_email, private_key, private_key_id, token_uri",
		},
		{
			name:   "key foreign token_uri",
			inputs: map[string]string{InCredentialsJSON: strings.Replace(testKey, "https://oauth2.googleapis.com/token", "https://evil.example/token", 1)},
			names:  []string{InCredentialsJSON, InOAuthTokenEndpoint},
			want:   "is not a Google token endpoint",
		},
		{
			name:   "lifetime garbage",
			inputs: map[string]string{InTokenLifetime: "forever"},
			names:  []string{InTokenLifetime},
			want:   "is not a duration",
		},
		{
			name:   "lifetime too long",
			inputs: map[string]string{InTokenLifetime: "13h"},
			names:  []string{InTokenLifetime},
			want:   "is out of range; use between 60s and 12h",
		},
		{
			name:   "lifetime too short",
			inputs: map[string]string{InTokenLifetime: "10s"},
			names:  []string{InTokenLifetime},
			want:   "is out of range; use between 60s and 12h",
		},
		{
			name:   "json_key without key",
			inputs: map[string]string{InCredentialMode: "json_key"},
			names:  []string{InCredentialMode, InCredentialsJSON},
			want:   "the secret stores the key itself",
		},
		{
			name:   "unknown credential mode",
			inputs: map[string]string{InCredentialMode: "password"},
			names:  []string{InCredentialMode},
			want:   "is not one of access_token, json_key",
		},
		{
			name:   "token with spaces",
			inputs: map[string]string{InAccessToken: "Bearer ya29.x"},
			names:  []string{InAccessToken},
			want:   "contains whitespace; pass the bare token",
		},
		{
			name:   "bad endpoint",
			inputs: map[string]string{InSTSEndpoint: "ftp://x"},
			names:  []string{InSTSEndpoint},
			want:   "is not an https URL",
		},
		{
			name:   "endpoint with userinfo",
			inputs: map[string]string{InMetadataEndpoint: "http://u:p@x"},
			names:  []string{InMetadataEndpoint},
			want:   "must not carry credentials in the URL",
		},
		{
			name:   "bad namespace",
			inputs: map[string]string{InNamespaces: "Not_Valid"},
			names:  []string{InNamespaces},
			want:   "is not a valid namespace name",
		},
		{
			name:   "bad glob",
			inputs: map[string]string{InNamespaces: "pre[view"},
			names:  []string{InNamespaces},
			want:   "is not a valid glob",
		},
		{
			name:   "bad selector",
			inputs: map[string]string{InNamespaceSelector: "a=(b"},
			names:  []string{InNamespaceSelector},
			want:   "is not a label selector",
		},
		{
			name:   "create with glob",
			inputs: map[string]string{InNamespaces: "preview-*", InCreateNamespaces: "true"},
			names:  []string{InCreateNamespaces},
			want:   "cannot create namespaces matching the glob",
		},
		{
			name:   "bad secret name",
			inputs: map[string]string{InSecretName: "Bad_Name"},
			names:  []string{InSecretName},
			want:   "is not a valid secret name",
		},
		{
			name:   "bad sa name",
			inputs: map[string]string{InServiceAccounts: "default,Bad SA"},
			names:  []string{InServiceAccounts},
			want:   "is not a valid ServiceAccount name",
		},
		{
			name:   "bad label",
			inputs: map[string]string{InSecretLabels: "novalue"},
			names:  []string{InSecretLabels},
			want:   "is not key=value",
		},
		{
			name:   "bad label value",
			inputs: map[string]string{InSecretLabels: "a=b c"},
			names:  []string{InSecretLabels},
			want:   "a valid label must be an empty string",
		},
		{
			name:   "bad annotation key",
			inputs: map[string]string{InSecretAnnotations: "-x=1"},
			names:  []string{InSecretAnnotations},
			want:   "name part must consist of alphanumeric characters",
		},
		{
			name:   "registry with scheme",
			inputs: map[string]string{InRegistries: "https://gcr.io"},
			names:  []string{InRegistries},
			want:   "must be a bare host",
		},
		{
			name:   "registry with path",
			inputs: map[string]string{InRegistries: "gcr.io/proj"},
			names:  []string{InRegistries},
			want:   "must be a bare host",
		},
		{
			name:   "bad mode",
			inputs: map[string]string{InMode: "upsert"},
			names:  []string{InMode},
			want:   "is not one of apply, delete",
		},
		{
			name:   "bad bool",
			inputs: map[string]string{InDryRun: "maybe"},
			names:  []string{InDryRun},
			want:   "is not a boolean",
		},
		{
			name:   "bad concurrency",
			inputs: map[string]string{InConcurrency: "0"},
			names:  []string{InConcurrency},
			want:   "is out of range; use 1 to 64",
		},
		{
			name:   "concurrency not a number",
			inputs: map[string]string{InConcurrency: "many"},
			names:  []string{InConcurrency},
			want:   "is not a whole number",
		},
		{
			name:   "bad wait",
			inputs: map[string]string{InWaitTimeout: "1y"},
			names:  []string{InWaitTimeout},
			want:   "is not a duration",
		},
		{
			name:   "empty scopes",
			inputs: map[string]string{InScopes: ",,"},
			names:  []string{InScopes},
			want:   "is empty; the default",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(check.Lookup(tc.inputs))
			wants := []string{tc.want} // and each input named as `"name"`
			for _, n := range tc.names {
				wants = append(wants, `"`+n+`"`)
			}
			if d := check.ErrDiff(err, wants...); d != "" {
				t.Error(d)
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
