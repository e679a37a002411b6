package refresher

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/kube"
)

// The kubelet side of `--print-wif-setup --credential-provider`: instead of
// pull secrets, the kubelet (Kubernetes 1.34+, KEP-4412) requests a
// ServiceAccount token for each pod that pulls and hands it to an exec
// plugin, which exchanges it at Google for a registry credential. Field
// names follow the kubelet's CredentialProviderConfig v1
// (https://kubernetes.io/docs/reference/config-api/kubelet-config.v1/, the
// Go types in k8s.io/kubelet/config/v1 at v0.34) and
// https://kubernetes.io/docs/tasks/administer-cluster/kubelet-credential-provider/;
// 1.34's kubelet requires tokenAttributes.cacheType and
// requireServiceAccount (pkg/credentialprovider/plugin/config.go).

// CredentialProviderPlugin is the executable name the config names: Google's
// kubelet credential provider, cmd/auth-provider-gcp of
// kubernetes/cloud-provider-gcp.
const CredentialProviderPlugin = "auth-provider-gcp"

// CredentialProviderConfigFile is the file the printed commands write.
const CredentialProviderConfigFile = "credential-provider-config.yaml"

// credentialProviderCacheDuration is the kubelet's default cache of a
// returned credential when the plugin names none: well inside the hour a
// Google access token lives.
const credentialProviderCacheDuration = "10m"

// CredentialProviderAudience is the audience the kubelet requests the pods'
// tokens for, and the provider's allowed audience: the provider's URL, as
// Google's STS expects when an audience is set explicitly.
func CredentialProviderAudience(provider string) string {
	return "https://iam.googleapis.com/" + provider
}

// CredentialProviderSetup prints what lets the kubelet pull from
// registries with the pods' own ServiceAccount tokens: the gcloud commands
// for a provider trusting the cluster's issuer for the ServiceAccounts of
// namespaces only, the grant, the CredentialProviderConfig, the RBAC that
// lets the nodes request tokens for that audience, and the kubelet flags.
// namespaces must be names (a provider's condition and grants cannot hold
// a glob); serviceAccounts may be "*". With serviceAccount those
// ServiceAccounts impersonate it; without, they are granted the registry
// role directly.
func CredentialProviderSetup(iss *kube.Issuer, provider, serviceAccount string, registries, namespaces, serviceAccounts []string) (string, error) {
	for _, v := range []struct {
		input  string
		values []string
	}{
		{config.InWorkloadIdentityProvider, []string{provider}}, {config.InServiceAccount, []string{serviceAccount}},
		{config.InRegistries, registries}, {config.InNamespaces, namespaces}, {config.InServiceAccounts, serviceAccounts},
	} {
		for _, s := range v.values {
			if hasControl(s) || strings.ContainsAny(s, `'\"`) {
				return "", fmt.Errorf("input %q: %q holds a control character or a quote; refusing to print shell commands with it", v.input, s)
			}
		}
	}
	if hasControl(iss.URL) || hasControl(string(iss.JWKS)) {
		return "", fmt.Errorf("the cluster's ServiceAccount issuer %q or its keys hold a control character (a newline, for one); refusing to print shell commands with them", iss.URL)
	}
	m := providerParts.FindStringSubmatch(provider)
	if m == nil {
		return "", fmt.Errorf("input %q: %q is not a provider resource name; expected projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>", config.InWorkloadIdentityProvider, provider)
	}
	if len(registries) == 0 {
		return "", fmt.Errorf("input %q: --credential-provider needs the registry hosts the kubelet sends the credential to", config.InRegistries)
	}
	for _, r := range registries {
		if err := config.ValidateRegistry(r); err != nil {
			return "", err
		}
	}
	if len(namespaces) == 0 {
		return "", fmt.Errorf("input %q: --credential-provider needs the namespaces whose pods pull (names: a provider's condition and grants cannot hold a glob)", config.InNamespaces)
	}
	for _, ns := range namespaces {
		if !namespaceName.MatchString(ns) {
			return "", fmt.Errorf("input %q: %q is not a namespace name; --credential-provider needs names (lowercase letters, digits and '-', at most 63), not globs or a selector", config.InNamespaces, ns)
		}
	}
	allAccounts := len(serviceAccounts) == 1 && serviceAccounts[0] == "*"
	if len(serviceAccounts) == 0 {
		return "", fmt.Errorf("input %q: --credential-provider needs the ServiceAccounts whose pods pull, or *", config.InServiceAccounts)
	}
	var subjects []string
	if !allAccounts {
		for _, sa := range serviceAccounts {
			if !namespaceName.MatchString(sa) && !strings.Contains(sa, ".") {
				return "", fmt.Errorf("input %q: %q is not a ServiceAccount name (or use * alone)", config.InServiceAccounts, sa)
			}
			for _, ns := range namespaces {
				if s := GoogleSubject(provider, ns, sa); len(s) > MaxSubjectBytes {
					return "", fmt.Errorf("input %q: the Google subject %q is %d bytes, over Google's limit of %d; use a shorter provider ID", config.InServiceAccounts, s, len(s), MaxSubjectBytes)
				}
				subjects = append(subjects, KubernetesSubject(ns, sa))
			}
		}
	}
	project, pool, id := m[1], m[2], m[3]
	audience := CredentialProviderAudience(provider)
	condition := "assertion['kubernetes.io']['namespace'] in " + celList(namespaces)
	if !allAccounts {
		condition = "assertion.sub in " + celList(subjects)
	}
	mapping := "google.subject=" + SubjectMapping(provider) +
		",attribute.namespace=assertion['kubernetes.io']['namespace']" +
		",attribute.service_account=assertion['kubernetes.io']['serviceaccount']['name']"

	var b strings.Builder
	fmt.Fprintf(&b, "# Pulls with the pods' own identity, no pull secret: the kubelet's ServiceAccount-token\n")
	fmt.Fprintf(&b, "# credential providers (Kubernetes 1.34+, beta and on by default; KEP-4412), on nodes you configure.\n")
	fmt.Fprintf(&b, "# Cluster ServiceAccount token issuer: %s\n#\n", iss.URL)
	fmt.Fprintf(&b, "# Every node needs the plugin executable %s (Google's kubelet credential provider,\n", CredentialProviderPlugin)
	fmt.Fprintf(&b, "# kubernetes/cloud-provider-gcp, cmd/%s) in the kubelet's --image-credential-provider-bin-dir.\n", CredentialProviderPlugin)
	fmt.Fprintf(&b, "# It must be a build that exchanges the ServiceAccount token it is given at Google's STS\n")
	fmt.Fprintf(&b, "# (kubernetes/cloud-provider-gcp issue 864 tracks that); one that asks the node's metadata\n")
	fmt.Fprintf(&b, "# server pulls as the node instead. Another plugin that does the exchange works too: put its\n")
	fmt.Fprintf(&b, "# executable's name in providers[].name.\n#\n")
	fmt.Fprintf(&b, "# The provider accepts only the tokens of the pods' ServiceAccounts (attribute condition).\n")
	fmt.Fprintf(&b, "# Use one pool per cluster: any provider of a pool can map any subject.\n\n")
	upload := !public(iss.URL)
	if upload {
		fmt.Fprintf(&b, "# Google cannot reach this issuer, so its signing keys are uploaded with the provider; upload\n")
		fmt.Fprintf(&b, "# them again when the cluster rotates its ServiceAccount signing key.\n")
		fmt.Fprintf(&b, "cat > %s <<'JWKS'\n%s\nJWKS\n\n", JWKSFile, iss.JWKS)
	}
	fmt.Fprintf(&b, "gcloud iam workload-identity-pools create %s \\\n  --project=%s --location=global \\\n  --display-name='Kubernetes cluster'\n\n", shellQuote(pool), shellQuote(project))
	fmt.Fprintf(&b, "gcloud iam workload-identity-pools providers create-oidc %s \\\n  --project=%s --location=global --workload-identity-pool=%s \\\n  --issuer-uri=%s \\\n  --allowed-audiences=%s \\\n",
		shellQuote(id), shellQuote(project), shellQuote(pool), shellQuote(iss.URL), shellQuote(audience))
	fmt.Fprintf(&b, "  --attribute-mapping=%s \\\n  --attribute-condition=%s", shellDoubleQuote(mapping), shellDoubleQuote(condition))
	if upload {
		fmt.Fprintf(&b, " \\\n  --jwk-json-path=%s", JWKSFile)
	}
	fmt.Fprintf(&b, "\n\n")
	for _, ns := range namespaces {
		set := fmt.Sprintf("principalSet://iam.googleapis.com/projects/%s/locations/global/workloadIdentityPools/%s/attribute.namespace/%s", project, pool, ns)
		if serviceAccount != "" {
			fmt.Fprintf(&b, "# Pods of namespace %s may impersonate %s:\n", ns, serviceAccount)
			fmt.Fprintf(&b, "gcloud iam service-accounts add-iam-policy-binding %s \\\n  --role=roles/iam.workloadIdentityUser \\\n  --member=%s\n\n", shellQuote(serviceAccount), shellQuote(set))
			continue
		}
		fmt.Fprintf(&b, "# Direct federation: pods of namespace %s may read the registry project's images:\n", ns)
		fmt.Fprintf(&b, "gcloud projects add-iam-policy-binding PROJECT_ID \\\n  --role=roles/artifactregistry.reader \\\n  --member=%s\n\n", shellQuote(set))
	}
	fmt.Fprintf(&b, "# On every node: the kubelet's credential provider configuration.\n")
	fmt.Fprintf(&b, "cat > %s <<'CONFIG'\n%sCONFIG\n\n", CredentialProviderConfigFile, credentialProviderConfig(registries, audience))
	fmt.Fprintf(&b, "# The kubelet must be allowed to request tokens for this audience (the API server's\n")
	fmt.Fprintf(&b, "# ServiceAccountNodeAudienceRestriction, on by default since 1.33): apply this once.\n")
	fmt.Fprintf(&b, "kubectl apply -f - <<'RBAC'\n%sRBAC\n\n", nodeAudienceRBAC(audience, serviceAccounts, allAccounts))
	fmt.Fprintf(&b, "# Then start each kubelet with:\n")
	fmt.Fprintf(&b, "#   --image-credential-provider-config=/etc/kubernetes/%s\n", CredentialProviderConfigFile)
	fmt.Fprintf(&b, "#   --image-credential-provider-bin-dir=/usr/local/bin   (the directory holding %s)\n", CredentialProviderPlugin)
	fmt.Fprintf(&b, "# and remove pullsecret's secrets and references once pods pull without them.\n")
	return b.String(), nil
}

// credentialProviderConfig is the kubelet's CredentialProviderConfig v1 as
// YAML. Values are JSON strings, which YAML reads as the same strings.
func credentialProviderConfig(registries []string, audience string) string {
	var b strings.Builder
	b.WriteString("apiVersion: kubelet.config.k8s.io/v1\n")
	b.WriteString("kind: CredentialProviderConfig\n")
	b.WriteString("providers:\n")
	fmt.Fprintf(&b, "- name: %s\n", CredentialProviderPlugin)
	b.WriteString("  matchImages:\n")
	for _, r := range registries {
		fmt.Fprintf(&b, "  - %s\n", yamlString(r))
	}
	fmt.Fprintf(&b, "  defaultCacheDuration: %s\n", yamlString(credentialProviderCacheDuration))
	b.WriteString("  apiVersion: credentialprovider.kubelet.k8s.io/v1\n")
	b.WriteString("  args:\n  - get-credentials\n")
	b.WriteString("  tokenAttributes:\n")
	fmt.Fprintf(&b, "    serviceAccountTokenAudience: %s\n", yamlString(audience))
	// Token: a credential is cached per pod token, never shared with
	// another pod of the same ServiceAccount beyond that token's life.
	b.WriteString("    cacheType: Token\n")
	b.WriteString("    requireServiceAccount: true\n")
	return b.String()
}

// nodeAudienceRBAC lets the nodes request tokens for audience: the verb
// request-serviceaccounts-token-audience on the audience as resource, for
// the named ServiceAccounts (plugin/pkg/admission/noderestriction in 1.34).
func nodeAudienceRBAC(audience string, serviceAccounts []string, all bool) string {
	var b strings.Builder
	b.WriteString("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: kubelet-credential-provider-audience\nrules:\n")
	fmt.Fprintf(&b, "- apiGroups: [\"\"]\n  resources: [%s]\n  verbs: [\"request-serviceaccounts-token-audience\"]\n", yamlString(audience))
	if !all {
		quoted := make([]string, len(serviceAccounts))
		for i, sa := range serviceAccounts {
			quoted[i] = yamlString(sa)
		}
		fmt.Fprintf(&b, "  resourceNames: [%s]\n", strings.Join(quoted, ", "))
	}
	b.WriteString("---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: kubelet-credential-provider-audience\n")
	b.WriteString("roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: kubelet-credential-provider-audience\n")
	b.WriteString("subjects:\n- apiGroup: rbac.authorization.k8s.io\n  kind: Group\n  name: system:nodes\n")
	return b.String()
}

func yamlString(s string) string {
	out, _ := json.Marshal(s)
	return string(out)
}

// celList is a CEL list literal of single-quoted strings (the values hold
// no quote: checked above).
func celList(values []string) string {
	return "['" + strings.Join(values, "', '") + "']"
}
