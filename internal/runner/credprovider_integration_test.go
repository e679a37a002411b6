//go:build integration

package runner

import (
	"bytes"
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/container"
	"github.com/pullsecret/pullsecret/internal/kube"
	"github.com/pullsecret/pullsecret/internal/refresher"
	"github.com/pullsecret/pullsecret/internal/testing/check"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
)

// --print-wif-setup --credential-provider against a real API server: it
// prints the cluster's own issuer and keys, and the RBAC it prints for the
// nodes, applied, lets a node request tokens for the provider's audience
// for the named ServiceAccounts only — the authorization the API server's
// NodeRestriction plugin asks for (verb request-serviceaccounts-token-audience,
// the audience as resource, the ServiceAccount as name).
func TestPrintCredentialProviderSetup(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	ctx := controlplanetest.Context(t)
	const provider = "projects/123456/locations/global/workloadIdentityPools/k8s/providers/kubelet"
	var out bytes.Buffer
	lookup := check.Lookup(map[string]string{config.InKubeconfig: cp.Kubeconfig(), config.InWorkloadIdentityProvider: provider,
		config.InNamespaces: "team-a,team-b", config.InServiceAccounts: "default,builder"})
	if err := PrintCredentialProviderSetup(ctx, lookup, &out, Deps{Getenv: check.Getenv(nil), Host: container.Host{InContainer: func() bool { return false }}}); err != nil {
		t.Fatal(err)
	}
	printed := out.String()
	cs := clientFor(t, cp)
	iss, err := kube.ReadIssuer(ctx, cs.CoreV1().RESTClient())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(printed, "--issuer-uri="+iss.URL) || !strings.Contains(printed, string(iss.JWKS)) {
		t.Fatalf("the setup lacks the cluster's issuer or keys:\n%s", printed)
	}

	_, rest, _ := strings.Cut(printed, "<<'RBAC'\n")
	body, _, _ := strings.Cut(rest, "\nRBAC\n")
	docs := strings.Split(body, "---\n")
	if len(docs) != 2 {
		t.Fatalf("want a ClusterRole and its binding, got:\n%s", body)
	}
	var role rbacv1.ClusterRole
	var binding rbacv1.ClusterRoleBinding
	if err := yaml.UnmarshalStrict([]byte(docs[0]), &role); err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict([]byte(docs[1]), &binding); err != nil {
		t.Fatal(err)
	}
	// Unique names: the control plane is shared with other tests.
	suffix := "-" + freshName("t")
	role.Name += suffix
	binding.Name, binding.RoleRef.Name = binding.Name+suffix, role.Name
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, &role, metav1.CreateOptions{}); err != nil {
		t.Fatalf("the API server refuses the printed ClusterRole: %v", err)
	}
	t.Cleanup(func() { _ = cs.RbacV1().ClusterRoles().Delete(ctx, role.Name, metav1.DeleteOptions{}) })
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, &binding, metav1.CreateOptions{}); err != nil {
		t.Fatalf("the API server refuses the printed ClusterRoleBinding: %v", err)
	}
	t.Cleanup(func() { _ = cs.RbacV1().ClusterRoleBindings().Delete(ctx, binding.Name, metav1.DeleteOptions{}) })

	audience := refresher.CredentialProviderAudience(provider)
	allowed := func(audience, sa string) bool {
		t.Helper()
		r, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: "system:node:node-1", Groups: []string{"system:nodes", "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: "team-a", Verb: "request-serviceaccounts-token-audience",
				Version: "v1", Resource: audience, Name: sa},
		}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return r.Status.Allowed
	}
	for _, tc := range []struct {
		audience, sa string
		want         bool
	}{
		{audience, "default", true},
		{audience, "builder", true},
		{audience, "other", false},
		{"https://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/k8s/providers/elsewhere", "default", false},
	} {
		if got := allowed(tc.audience, tc.sa); got != tc.want {
			t.Errorf("node requesting a token of %s for %s: allowed %v, want %v", tc.sa, tc.audience, got, tc.want)
		}
	}
}

// --print-wif-setup through pullsecret's own (JSON) client reads the
// signing keys, which the API server serves as application/jwk-set+json:
// a client accepting application/json only got 406 Not Acceptable.
func TestPrintWIFSetupReadsKeys(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	var out bytes.Buffer
	lookup := check.Lookup(map[string]string{config.InKubeconfig: cp.Kubeconfig(),
		config.InRefreshWorkloadIdentityProvider: "projects/123456/locations/global/workloadIdentityPools/k8s/providers/cluster",
		config.InServiceAccount:                  "puller@my-project.iam.gserviceaccount.com"})
	if err := PrintWIFSetup(controlplanetest.Context(t), lookup, &out, Deps{Getenv: check.Getenv(nil), Host: container.Host{InContainer: func() bool { return false }}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"keys"`) {
		t.Errorf("the setup lacks the cluster's keys:\n%s", out.String())
	}
}
