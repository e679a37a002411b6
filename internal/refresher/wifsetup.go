package refresher

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"

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

// RefresherPrincipal is the IAM member of the refresher's Kubernetes
// ServiceAccount under provider (whose attribute mapping maps
// google.subject to the token's sub, system:serviceaccount:NS:NAME).
func RefresherPrincipal(provider, namespace string) string {
	m := providerParts.FindStringSubmatch(provider)
	if m == nil {
		return ""
	}
	return fmt.Sprintf("principal://iam.googleapis.com/projects/%s/locations/global/workloadIdentityPools/%s/subject/system:serviceaccount:%s:%s", m[1], m[2], namespace, Name)
}

// JWKSFile is the file name the printed commands save the keys to.
const JWKSFile = "cluster-jwks.json"

// SetupCommands are the gcloud commands that register the cluster's issuer
// as a Workload Identity provider and let the refresher impersonate
// serviceAccount.
func SetupCommands(iss *kube.Issuer, provider, serviceAccount, namespace string) (string, error) {
	m := providerParts.FindStringSubmatch(provider)
	if m == nil {
		return "", fmt.Errorf("%q is not a provider resource name; expected projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>", provider)
	}
	project, pool, id := m[1], m[2], m[3]
	var b strings.Builder
	fmt.Fprintf(&b, "# Workload Identity Federation for pullsecret's in-cluster refresher.\n")
	fmt.Fprintf(&b, "# Cluster ServiceAccount token issuer: %s\n", iss.URL)
	upload := !public(iss.URL)
	if upload {
		fmt.Fprintf(&b, "# Google cannot reach this issuer, so its signing keys (read from the cluster's /openid/v1/jwks)\n")
		fmt.Fprintf(&b, "# are uploaded with the provider. When the cluster rotates its ServiceAccount signing key, upload\n")
		fmt.Fprintf(&b, "# them again: gcloud iam workload-identity-pools providers update-oidc %s ... --jwk-json-path=%s\n\n", id, JWKSFile)
		fmt.Fprintf(&b, "cat > %s <<'JWKS'\n%s\nJWKS\n\n", JWKSFile, iss.JWKS)
	} else {
		fmt.Fprintf(&b, "# Google fetches this issuer's keys itself (%s/.well-known/openid-configuration must be public).\n", strings.TrimSuffix(iss.URL, "/"))
		fmt.Fprintf(&b, "# If it is not, save the cluster's /openid/v1/jwks and add --jwk-json-path=%s.\n\n", JWKSFile)
	}
	fmt.Fprintf(&b, "gcloud iam workload-identity-pools create %s \\\n  --project=%s --location=global \\\n  --display-name=\"Kubernetes clusters\"\n\n", pool, project)
	fmt.Fprintf(&b, "gcloud iam workload-identity-pools providers create-oidc %s \\\n  --project=%s --location=global --workload-identity-pool=%s \\\n  --issuer-uri=%s \\\n  --attribute-mapping=google.subject=assertion.sub", id, project, pool, shellQuote(iss.URL))
	if upload {
		fmt.Fprintf(&b, " \\\n  --jwk-json-path=%s", JWKSFile)
	}
	fmt.Fprintf(&b, "\n\n# The refresher's Kubernetes ServiceAccount (%s/%s) may impersonate %s:\n", namespace, Name, serviceAccount)
	fmt.Fprintf(&b, "gcloud iam service-accounts add-iam-policy-binding %s \\\n  --role=roles/iam.workloadIdentityUser \\\n  --member=%s\n\n", serviceAccount, RefresherPrincipal(provider, namespace))
	fmt.Fprintf(&b, "# Then run the action with refresh: true, service_account: %s\n# and refresh_workload_identity_provider: %s\n", serviceAccount, provider)
	return b.String(), nil
}

func shellQuote(s string) string {
	if regexp.MustCompile(`^[A-Za-z0-9@%+=:,./_-]+$`).MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
