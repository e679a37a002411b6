//go:build integration

package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/yaml"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/controlplane/controlplanetest"
	"github.com/pullsecret/pullsecret/internal/fakestack"
)

// The ClusterRole shipped in deploy/rbac.yaml is enough for every mode, and
// an identity without it gets a clear Forbidden error.
func TestMinimalRBACManifestIsSufficient(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	ctx := context.Background()
	role := clusterRoleFromManifest(t)
	role.Name = freshName("pullsecret-test")
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.RbacV1().ClusterRoles().Delete(ctx, role.Name, metav1.DeleteOptions{}) })
	user := freshName("ci-user")
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: user}},
	}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.RbacV1().ClusterRoleBindings().Delete(ctx, binding.Name, metav1.DeleteOptions{}) })

	bound, err := cp.KubeconfigFor(user, nil)
	if err != nil {
		t.Fatal(err)
	}
	unbound, err := cp.KubeconfigFor(freshName("stranger"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ns := controlplanetest.Namespace(t, cp)
	createSA(t, cs, ns, "app", "other")
	preview := freshName("rbac-preview")
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(ctx, preview, metav1.DeleteOptions{}) })

	steps := []map[string]string{
		withCreds(t, fakestack.KeyToken, map[string]string{config.InNamespaces: ns, config.InServiceAccounts: "*"}),
		withCreds(t, fakestack.KeyToken, map[string]string{config.InNamespaces: preview, config.InCreateNamespaces: "true"}),
		withCreds(t, fakestack.KeyToken, map[string]string{config.InNamespaces: "rbac-preview-*", config.InServiceAccounts: ""}),
		{config.InNamespaces: ns, config.InMode: "delete"},
	}
	for i, in := range steps {
		if r := runWith(t, bound, in); r.err != nil {
			t.Fatalf("step %d with the minimal role failed: %v\n%s", i, r.err, r.log)
		}
	}
	r := runWith(t, unbound, withCreds(t, fakestack.KeyToken, map[string]string{config.InNamespaces: ns}))
	if r.err == nil || !strings.Contains(r.err.Error(), "forbidden") {
		t.Fatalf("unbound user: want a forbidden error, got %v", r.err)
	}
}

func clusterRoleFromManifest(t *testing.T) *rbacv1.ClusterRole {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	for {
		var obj struct {
			Kind string `json:"kind"`
		}
		var role rbacv1.ClusterRole
		var rawObj map[string]any
		if err := dec.Decode(&rawObj); err != nil {
			t.Fatalf("no ClusterRole in deploy/rbac.yaml: %v", err)
		}
		b, _ := json.Marshal(rawObj)
		_ = json.Unmarshal(b, &obj)
		if obj.Kind == "ClusterRole" {
			if err := json.Unmarshal(b, &role); err != nil {
				t.Fatal(err)
			}
			return &role
		}
	}
}
