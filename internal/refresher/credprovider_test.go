package refresher

import (
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/pullsecret/pullsecret/internal/kube"
	"github.com/pullsecret/pullsecret/internal/testing/check"
)

const kubeletProvider = "projects/123456/locations/global/workloadIdentityPools/prod-cluster/providers/kubelet"

var defaultRegistries = []string{"gcr.io", "*.gcr.io", "*-docker.pkg.dev", "docker.*.rep.pkg.dev"}

// The kubelet's CredentialProviderConfig v1, the fields the printed file
// may hold (k8s.io/kubelet/config/v1 types.go at v0.34.4): decoding
// strictly into it fails on a misspelt or invented field.
type credentialProviderConfigV1 struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Providers  []struct {
		Name                 string   `json:"name"`
		MatchImages          []string `json:"matchImages"`
		DefaultCacheDuration string   `json:"defaultCacheDuration"`
		APIVersion           string   `json:"apiVersion"`
		Args                 []string `json:"args"`
		Env                  []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"env"`
		TokenAttributes *struct {
			ServiceAccountTokenAudience          string   `json:"serviceAccountTokenAudience"`
			CacheType                            string   `json:"cacheType"`
			RequireServiceAccount                *bool    `json:"requireServiceAccount"`
			RequiredServiceAccountAnnotationKeys []string `json:"requiredServiceAccountAnnotationKeys"`
			OptionalServiceAccountAnnotationKeys []string `json:"optionalServiceAccountAnnotationKeys"`
		} `json:"tokenAttributes"`
	} `json:"providers"`
}

// heredoc is the body of the `cat > ... <<'TAG'` the output writes.
func heredoc(t *testing.T, out, tag string) string {
	t.Helper()
	_, rest, ok := strings.Cut(out, "<<'"+tag+"'\n")
	body, _, ok2 := strings.Cut(rest, "\n"+tag+"\n")
	if !ok || !ok2 {
		t.Fatalf("output has no %s heredoc", tag)
	}
	return body
}

// The printed setup: the provider trusting only the pods' ServiceAccounts
// of the named namespaces, the grant, a CredentialProviderConfig the
// kubelet's 1.34 validation accepts (every field it requires, matchImages
// the registries, the audience the provider allows), and the nodes' RBAC
// for that audience.
func TestCredentialProviderSetupGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name            string
		iss             kube.Issuer
		sa              string
		serviceAccounts []string
		condition       string
	}{
		{"credential-provider-named", kube.Issuer{URL: "https://kubernetes.default.svc.cluster.local", JWKS: []byte(testJWKS)}, "",
			[]string{"default", "builder"},
			`--attribute-condition="assertion.sub in ['system:serviceaccount:team-a:default', 'system:serviceaccount:team-b:default', 'system:serviceaccount:team-a:builder', 'system:serviceaccount:team-b:builder']"`},
		{"credential-provider-all-accounts", kube.Issuer{URL: "https://container.googleapis.com/v1/projects/p/locations/europe-west1/clusters/prod", JWKS: []byte(testJWKS)}, wifPuller,
			[]string{"*"},
			`--attribute-condition="assertion['kubernetes.io']['namespace'] in ['team-a', 'team-b']"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := CredentialProviderSetup(&tc.iss, kubeletProvider, tc.sa, defaultRegistries, []string{"team-a", "team-b"}, tc.serviceAccounts)
			if err != nil {
				t.Fatal(err)
			}
			check.Golden(t, filepath.Join("testdata", "wifsetup", tc.name+".golden"), got)
			audience := "https://iam.googleapis.com/" + kubeletProvider
			for _, want := range []string{tc.condition, "--allowed-audiences=" + audience, "--issuer-uri=" + tc.iss.URL,
				"attribute.namespace/team-a", "attribute.namespace/team-b", CredentialProviderPlugin} {
				if !strings.Contains(got, want) {
					t.Errorf("setup lacks %q", want)
				}
			}
			var cfg credentialProviderConfigV1
			if err := yaml.UnmarshalStrict([]byte(heredoc(t, got, "CONFIG")), &cfg); err != nil {
				t.Fatalf("the CredentialProviderConfig is not the kubelet's v1: %v", err)
			}
			if cfg.APIVersion != "kubelet.config.k8s.io/v1" || cfg.Kind != "CredentialProviderConfig" || len(cfg.Providers) != 1 {
				t.Fatalf("config %+v", cfg)
			}
			p := cfg.Providers[0]
			// What the 1.34 kubelet requires (pkg/credentialprovider/plugin/config.go).
			if p.Name != CredentialProviderPlugin || p.APIVersion != "credentialprovider.kubelet.k8s.io/v1" || p.DefaultCacheDuration == "" ||
				strings.Join(p.MatchImages, ",") != strings.Join(defaultRegistries, ",") || p.TokenAttributes == nil ||
				p.TokenAttributes.ServiceAccountTokenAudience != audience || p.TokenAttributes.CacheType != "Token" ||
				p.TokenAttributes.RequireServiceAccount == nil || !*p.TokenAttributes.RequireServiceAccount {
				t.Errorf("provider %+v, token attributes %+v", p, p.TokenAttributes)
			}
			rbac := heredoc(t, got, "RBAC")
			if !strings.Contains(rbac, `resources: ["`+audience+`"]`) || !strings.Contains(rbac, "request-serviceaccounts-token-audience") || !strings.Contains(rbac, "name: system:nodes") {
				t.Errorf("the nodes' RBAC does not grant the audience:\n%s", rbac)
			}
			for _, doc := range strings.Split(rbac, "---\n") {
				var obj map[string]any
				if err := yaml.Unmarshal([]byte(doc), &obj); err != nil || obj["kind"] == nil {
					t.Errorf("RBAC document is not an object (%v):\n%s", err, doc)
				}
			}
		})
	}
}

// Inputs the setup cannot be printed for are refused, naming the input.
func TestCredentialProviderSetupRefuses(t *testing.T) {
	t.Parallel()
	good := kube.Issuer{URL: "https://kubernetes.default.svc", JWKS: []byte(testJWKS)}
	for _, tc := range []struct {
		name                  string
		provider              string
		registries, ns, accts []string
		want                  string
	}{
		{"not a provider", "projects/x/providers/y", defaultRegistries, []string{"a"}, []string{"default"}, `input "workload_identity_provider"`},
		{"no namespaces", kubeletProvider, defaultRegistries, nil, []string{"default"}, `input "namespaces"`},
		{"a glob namespace", kubeletProvider, defaultRegistries, []string{"preview-*"}, []string{"default"}, `input "namespaces"`},
		{"no ServiceAccounts", kubeletProvider, defaultRegistries, []string{"a"}, nil, `input "service_accounts"`},
		{"a quote in a ServiceAccount", kubeletProvider, defaultRegistries, []string{"a"}, []string{"x'] || true || ['"}, `input "service_accounts"`},
		{"no registries", kubeletProvider, nil, []string{"a"}, []string{"default"}, `input "registries"`},
		{"a public-suffix wildcard", kubeletProvider, []string{"*.io"}, []string{"a"}, []string{"default"}, `input "registries"`},
		{"a newline in a registry", kubeletProvider, []string{"gcr.io\nCONFIG\nrm -rf ~"}, []string{"a"}, []string{"default"}, `input "registries"`},
		{"subject over 127 bytes", kubeletProvider, defaultRegistries, []string{strings.Repeat("n", 63)}, []string{strings.Repeat("s", 40)}, "127"},
	} {
		if _, err := CredentialProviderSetup(&good, tc.provider, "", tc.registries, tc.ns, tc.accts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}
