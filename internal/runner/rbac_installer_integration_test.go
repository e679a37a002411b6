//go:build integration

package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

// installerManifest is deploy/rbac-refresh-installer.yaml, decoded.
type installerManifest struct {
	namespace    corev1.Namespace
	clusterRole  rbacv1.ClusterRole
	clusterBind  rbacv1.ClusterRoleBinding
	role         rbacv1.Role
	roleBinding  rbacv1.RoleBinding
	clusterRules int
}

func loadInstallerManifest(t *testing.T) installerManifest {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "rbac-refresh-installer.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var m installerManifest
	targets := map[string]any{"Namespace": &m.namespace, "ClusterRole": &m.clusterRole, "ClusterRoleBinding": &m.clusterBind, "Role": &m.role, "RoleBinding": &m.roleBinding}
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	for {
		var doc json.RawMessage
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		var head metav1.TypeMeta
		if err := json.Unmarshal(doc, &head); err != nil {
			t.Fatal(err)
		}
		target, ok := targets[head.Kind]
		if !ok {
			t.Fatalf("rbac-refresh-installer.yaml: unexpected kind %q", head.Kind)
		}
		delete(targets, head.Kind)
		if err := json.Unmarshal(doc, target); err != nil {
			t.Fatal(err)
		}
	}
	if len(targets) > 0 {
		t.Fatalf("rbac-refresh-installer.yaml lacks %v", targets)
	}
	m.clusterRules = len(m.clusterRole.Rules)
	return m
}

// rules are the ClusterRole's rules, then the Role's, for dropping one
// verb by index.
func (m installerManifest) rules() []rbacv1.PolicyRule {
	return append(append([]rbacv1.PolicyRule{}, m.clusterRole.Rules...), m.role.Rules...)
}

// install creates rbac.yaml and the installer manifest for one fresh
// identity, the manifest's namespace mapped to refreshNS, with drop's verb
// removed (drop.rule indexes rules()).
func (m installerManifest) install(t *testing.T, cp *controlplane.ControlPlane, cs kubernetes.Interface, refreshNS string, drop *droppedVerb) rbacIdentity {
	t.Helper()
	ctx := t.Context()
	identityNS := controlplanetest.Namespace(t, cp)
	id := installManifest(t, cp, cs, loadManifest(t, "rbac.yaml"), map[string]string{"pullsecret": identityNS}, nil)
	ns := m.namespace.DeepCopy()
	ns.Name = refreshNS
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), refreshNS, metav1.DeleteOptions{}) })
	all := drop.apply(m.rules())
	if drop != nil && drop.rule < m.clusterRules && len(all) < len(m.rules()) {
		// The dropped verb was its rule's last: the split point moves.
		m.clusterRules--
	}
	suffix := "-" + freshName("t")
	subjects := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "pullsecret", Namespace: identityNS}}
	cr := m.clusterRole.DeepCopy()
	cr.Name += suffix
	cr.Rules = all[:m.clusterRules]
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, cr, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.RbacV1().ClusterRoles().Delete(context.Background(), cr.Name, metav1.DeleteOptions{}) })
	crb := m.clusterBind.DeepCopy()
	crb.Name, crb.RoleRef.Name, crb.Subjects = crb.Name+suffix, cr.Name, subjects
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.RbacV1().ClusterRoleBindings().Delete(context.Background(), crb.Name, metav1.DeleteOptions{})
	})
	role := m.role.DeepCopy()
	role.Namespace, role.Rules = refreshNS, all[m.clusterRules:]
	if _, err := cs.RbacV1().Roles(refreshNS).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rb := m.roleBinding.DeepCopy()
	rb.Namespace, rb.Subjects = refreshNS, subjects
	if _, err := cs.RbacV1().RoleBindings(refreshNS).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return id
}

// installerSteps are the refresher's life cycle as CI drives it: named
// coverage (a CronJob), a glob added by a run that switches to the
// watching refresher recovering pods (the per-namespace Roles give way,
// the Deployment replaces the CronJob), the glob torn down (the Roles come
// back, with the watch and pod rules), the last namespace torn down by a
// run that names no service_account (the refresher is found and removed,
// its Lease too).
func installerSteps(t *testing.T, cp *controlplane.ControlPlane, cs kubernetes.Interface, refreshNS string) []rbacStep {
	named := controlplanetest.Namespace(t, cp)
	ensureDefaultSA(t, cs, named)
	prefix := freshName("inst")
	newNamespace(t, cs, prefix+"-1")
	in := func(extra map[string]string) map[string]string {
		return withCreds(t, fakestack.WIF, mergeInputs(map[string]string{config.InRefresh: "true", config.InRefreshImage: refresherImage, config.InRefreshNamespace: refreshNS}, extra))
	}
	return []rbacStep{
		{name: "install, named coverage", inputs: in(map[string]string{config.InNamespaces: named})},
		{name: "add a glob, watching and recovering pods", inputs: in(map[string]string{config.InNamespaces: prefix + "-*",
			config.InRefreshMode: config.RefreshWatch, config.InRefreshRecoverPods: "true"})},
		{name: "tear the glob down", inputs: map[string]string{config.InNamespaces: prefix + "-*", config.InMode: "delete", config.InRefresh: "true",
			config.InRefreshNamespace: refreshNS, config.InServiceAccount: fakestack.ImpersonatedSA}},
		{name: "tear the last namespace down, no service_account", inputs: map[string]string{config.InNamespaces: named, config.InMode: "delete",
			config.InRefresh: "true", config.InRefreshNamespace: refreshNS}},
	}
}

func mergeInputs(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range []map[string]string{a, b} {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// deploy/rbac-refresh-installer.yaml (with rbac.yaml) is enough for the
// refresher's whole life cycle, and every verb in it is used.
func TestRBACRefreshInstaller(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	m := loadInstallerManifest(t)
	t.Run("sufficient", func(t *testing.T) {
		t.Parallel()
		refreshNS := freshName("ps-inst")
		id := m.install(t, cp, cs, refreshNS, nil)
		steps := installerSteps(t, cp, cs, refreshNS)
		if i, r := runSteps(t, id, steps); r.err != nil {
			t.Fatalf("step %q with exactly rbac.yaml and rbac-refresh-installer.yaml failed: %v\n%s", steps[i].name, r.err, r.log)
		}
		if left := refresherObjects(t, cs, refreshNS); len(left) != 0 {
			t.Errorf("teardown left %v", left)
		}
	})
	for ri, rule := range m.rules() {
		for _, verb := range rule.Verbs {
			drop := &droppedVerb{rule: ri, verb: verb}
			t.Run(fmt.Sprintf("without %s %s", verb, strings.Join(rule.Resources, ",")), func(t *testing.T) {
				t.Parallel()
				refreshNS := freshName("ps-inst")
				id := m.install(t, cp, cs, refreshNS, drop)
				if _, r := runSteps(t, id, installerSteps(t, cp, cs, refreshNS)); r.err == nil {
					t.Fatalf("every step succeeded without %q on %v: rbac-refresh-installer.yaml grants more than the installer uses", verb, rule.Resources)
				}
			})
		}
	}
}

// cronOnly is the manifest as it was before refresh_mode: watch, as
// clusters that applied it still have it: no watch verbs, no Deployment,
// PodDisruptionBudget, Lease or pod rules.
func (m installerManifest) cronOnly() installerManifest {
	keep := func(rules []rbacv1.PolicyRule) []rbacv1.PolicyRule {
		var out []rbacv1.PolicyRule
		for _, r := range rules {
			r = *r.DeepCopy()
			if slices.ContainsFunc(r.Resources, func(res string) bool {
				return res == "deployments" || res == "poddisruptionbudgets" || res == "leases" || res == "pods"
			}) {
				continue
			}
			r.Verbs = slices.DeleteFunc(r.Verbs, func(v string) bool {
				return v == "watch" || (v == "list" && slices.Contains(r.Resources, "configmaps"))
			})
			if len(r.Verbs) > 0 {
				out = append(out, r)
			}
		}
		return out
	}
	m.clusterRole = *m.clusterRole.DeepCopy()
	m.role = *m.role.DeepCopy()
	m.clusterRole.Rules, m.role.Rules = keep(m.clusterRole.Rules), keep(m.role.Rules)
	m.clusterRules = len(m.clusterRole.Rules)
	return m
}

// A cluster whose installer holds the manifest from before the watching
// refresher keeps installing, narrowing and removing cron refreshers: an
// install or teardown in cron mode needs no permission on the watch
// mode's objects (it deletes them only when the record says they exist).
func TestRBACRefreshInstallerCronOnly(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	m := loadInstallerManifest(t).cronOnly()
	refreshNS := freshName("ps-inst")
	id := m.install(t, cp, cs, refreshNS, nil)
	steps := installerSteps(t, cp, cs, refreshNS)
	steps[1].inputs = mergeInputs(steps[1].inputs, map[string]string{config.InRefreshMode: config.RefreshCron, config.InRefreshRecoverPods: "false"})
	if i, r := runSteps(t, id, steps); r.err != nil {
		t.Fatalf("step %q with the cron-only installer manifest failed: %v\n%s", steps[i].name, r.err, r.log)
	}
	if left := refresherObjects(t, cs, refreshNS); len(left) != 0 {
		t.Errorf("teardown left %v", left)
	}
}
