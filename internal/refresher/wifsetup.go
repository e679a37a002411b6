package refresher

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"unicode"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/kube"
)

// public reports whether Google could plausibly fetch an issuer's keys
// itself: an https URL on a public DNS name. In-cluster names
// (kubernetes.default.svc…), .local/.internal names and IP addresses are
// not, so their keys must be uploaded.
func public(issuerURL string) bool {
	u, err := url.Parse(issuerURL)
	if err != nil || u.Scheme != "https" {
		return false
	}
	h := strings.ToLower(u.Hostname())
	if net.ParseIP(h) != nil || !strings.Contains(h, ".") {
		return false
	}
	for _, suffix := range []string{".local", ".svc", ".internal", ".localhost", ".cluster.local", ".lan", ".home.arpa"} {
		if strings.HasSuffix(h, suffix) {
			return false
		}
	}
	return true
}

var providerParts = regexp.MustCompile(`^projects/([0-9]+)/locations/global/workloadIdentityPools/([a-z0-9-]+)/providers/([a-z0-9-]+)$`)

// MaxSubjectBytes is Google's limit on a mapped google.subject
// (https://cloud.google.com/iam/docs/workload-identity-federation#mapping).
const MaxSubjectBytes = 127

// KubernetesSubject is the sub claim of the refresher's ServiceAccount
// tokens, which the provider's attribute condition pins.
func KubernetesSubject(namespace string) string {
	return "system:serviceaccount:" + namespace + ":" + Name
}

// SubjectMapping is the provider's google.subject mapping (CEL): the
// provider's ID, then the token's sub. A pool's principals are
// pool-wide, so without the ID the same namespace and ServiceAccount in
// another cluster trusted by the pool would be the same principal.
func SubjectMapping(provider string) string {
	return "'" + providerID(provider) + ":' + assertion.sub"
}

// AttributeCondition is the provider's attribute condition (CEL): only
// the refresher's ServiceAccount may exchange tokens there, not every
// workload of the cluster.
func AttributeCondition(namespace string) string {
	return "assertion.sub == '" + KubernetesSubject(namespace) + "'"
}

// GoogleSubject is the google.subject SubjectMapping gives the
// refresher's tokens.
func GoogleSubject(provider, namespace string) string {
	return providerID(provider) + ":" + KubernetesSubject(namespace)
}

// RefresherPrincipal is the IAM member of the refresher's Kubernetes
// ServiceAccount under provider, mapped as SubjectMapping says.
func RefresherPrincipal(provider, namespace string) string {
	m := providerParts.FindStringSubmatch(provider)
	if m == nil {
		return ""
	}
	return fmt.Sprintf("principal://iam.googleapis.com/projects/%s/locations/global/workloadIdentityPools/%s/subject/%s", m[1], m[2], GoogleSubject(provider, namespace))
}

func providerID(provider string) string {
	if m := providerParts.FindStringSubmatch(provider); m != nil {
		return m[3]
	}
	return ""
}

// JWKSFile is the file name the printed commands save the keys to.
const JWKSFile = "cluster-jwks.json"

var namespaceName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// SetupCommands are the gcloud commands that register the cluster's issuer
// as a Workload Identity provider trusting only the refresher's
// ServiceAccount, and let it impersonate serviceAccount. Operators paste
// them into a shell, so every value is shell-quoted and one holding a
// control character (a newline would end a comment or a command) is
// refused.
func SetupCommands(iss *kube.Issuer, provider, serviceAccount, namespace string) (string, error) {
	for _, v := range []struct{ input, value string }{
		{config.InRefreshWorkloadIdentityProvider, provider}, {config.InServiceAccount, serviceAccount}, {config.InRefreshNamespace, namespace},
	} {
		if hasControl(v.value) {
			return "", fmt.Errorf("input %q: %q holds a control character (a newline, for one); refusing to print shell commands with it", v.input, v.value)
		}
	}
	if hasControl(iss.URL) || hasControl(string(iss.JWKS)) {
		return "", fmt.Errorf("the cluster's ServiceAccount issuer %q or its keys hold a control character (a newline, for one); refusing to print shell commands with them", iss.URL)
	}
	m := providerParts.FindStringSubmatch(provider)
	if m == nil {
		return "", fmt.Errorf("input %q: %q is not a provider resource name; expected projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>", config.InRefreshWorkloadIdentityProvider, provider)
	}
	if !namespaceName.MatchString(namespace) {
		return "", fmt.Errorf("input %q: %q is not a namespace name (lowercase letters, digits and '-', at most 63)", config.InRefreshNamespace, namespace)
	}
	if subject := GoogleSubject(provider, namespace); len(subject) > MaxSubjectBytes {
		return "", fmt.Errorf("input %q: the refresher's Google subject %q is %d bytes, over Google's limit of %d; use a shorter refresh_namespace or provider ID", config.InRefreshNamespace, subject, len(subject), MaxSubjectBytes)
	}
	project, pool, id := m[1], m[2], m[3]
	var b strings.Builder
	fmt.Fprintf(&b, "# Workload Identity Federation for pullsecret's in-cluster refresher.\n")
	fmt.Fprintf(&b, "# Cluster ServiceAccount token issuer: %s\n", iss.URL)
	fmt.Fprintf(&b, "#\n# Use one pool per cluster: any provider of a pool can map any subject, so whoever may add a\n")
	fmt.Fprintf(&b, "# provider to pool %s, or another cluster it trusts, could act as this refresher.\n", pool)
	fmt.Fprintf(&b, "# The provider below accepts only the refresher's ServiceAccount, %s/%s (attribute\n", namespace, Name)
	fmt.Fprintf(&b, "# condition), and maps it to a subject that names the provider, so the same namespace and\n")
	fmt.Fprintf(&b, "# ServiceAccount in another cluster are another principal.\n")
	upload := !public(iss.URL)
	if upload {
		fmt.Fprintf(&b, "#\n# Google cannot reach this issuer, so its signing keys (read from the cluster's /openid/v1/jwks)\n")
		fmt.Fprintf(&b, "# are uploaded with the provider. When the cluster rotates its ServiceAccount signing key, upload\n")
		fmt.Fprintf(&b, "# them again: gcloud iam workload-identity-pools providers update-oidc %s ... --jwk-json-path=%s\n\n", id, JWKSFile)
		fmt.Fprintf(&b, "cat > %s <<'JWKS'\n%s\nJWKS\n\n", JWKSFile, iss.JWKS)
	} else {
		fmt.Fprintf(&b, "#\n# Google fetches this issuer's keys itself (%s/.well-known/openid-configuration must be public).\n", strings.TrimSuffix(iss.URL, "/"))
		fmt.Fprintf(&b, "# If it is not, save the cluster's /openid/v1/jwks and add --jwk-json-path=%s.\n\n", JWKSFile)
	}
	fmt.Fprintf(&b, "gcloud iam workload-identity-pools create %s \\\n  --project=%s --location=global \\\n  --display-name='Kubernetes cluster'\n\n", shellQuote(pool), shellQuote(project))
	fmt.Fprintf(&b, "gcloud iam workload-identity-pools providers create-oidc %s \\\n  --project=%s --location=global --workload-identity-pool=%s \\\n  --issuer-uri=%s \\\n",
		shellQuote(id), shellQuote(project), shellQuote(pool), shellQuote(iss.URL))
	fmt.Fprintf(&b, "  --attribute-mapping=%s \\\n  --attribute-condition=%s", shellDoubleQuote("google.subject="+SubjectMapping(provider)), shellDoubleQuote(AttributeCondition(namespace)))
	if upload {
		fmt.Fprintf(&b, " \\\n  --jwk-json-path=%s", JWKSFile)
	}
	fmt.Fprintf(&b, "\n\n# The refresher's Kubernetes ServiceAccount (%s/%s) may impersonate %s:\n", namespace, Name, serviceAccount)
	fmt.Fprintf(&b, "gcloud iam service-accounts add-iam-policy-binding %s \\\n  --role=roles/iam.workloadIdentityUser \\\n  --member=%s\n\n", shellQuote(serviceAccount), shellQuote(RefresherPrincipal(provider, namespace)))
	fmt.Fprintf(&b, "# Then run the action with refresh: true, service_account: %s\n# and refresh_workload_identity_provider: %s\n", serviceAccount, provider)
	return b.String(), nil
}

func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9@%+=:,./_-]+$`)

// shellQuote is s as one POSIX shell word: bare when it holds only
// characters no shell treats specially, else single-quoted.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// shellDoubleQuote is s as one double-quoted shell word, for the CEL
// expressions, whose string literals are single-quoted: the characters
// special inside double quotes are escaped.
func shellDoubleQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`, "`", "\\`").Replace(s) + `"`
}
