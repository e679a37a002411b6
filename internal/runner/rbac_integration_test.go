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
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/util/yaml"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/testing/check"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

// These tests run pullsecret as a real ServiceAccount (a TokenRequest
// token, no client certificate) bound to exactly the RBAC manifests in
// deploy/: the files are parsed here, never copied. Only object names and
// namespaces are rewritten so parallel tests do not share an identity.

// rbacVariant is one shipped manifest and the runs it must support.
type rbacVariant struct {
	file string
	// namespaces maps each namespace the manifest names to the one the
	// test uses; it prepares the cluster as an admin and returns the steps.
	prepare func(t *testing.T, cp *controlplane.ControlPlane, cs kubernetes.Interface) (namespaces map[string]string, steps []rbacStep, check func(t *testing.T, id rbacIdentity))
}

type rbacStep struct {
	name   string
	inputs map[string]string
}

var rbacVariants = []rbacVariant{
	{
		file:    "rbac.yaml",
		prepare: prepareClusterWide,
	},
	{
		file:    "rbac-namespaced.yaml",
		prepare: prepareNamespaced,
	},
}

// The shipped manifests are enough for every mode they are documented for,
// and give nothing more: the identity cannot read a secret of another name.
func TestRBACManifestsAreSufficient(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	for _, v := range rbacVariants {
		t.Run(v.file, func(t *testing.T) {
			t.Parallel()
			m := loadManifest(t, v.file)
			namespaces, steps, check := v.prepare(t, cp, cs)
			id := installManifest(t, cp, cs, m, namespaces, nil)
			if i, r := runSteps(t, id, steps); r.err != nil {
				t.Fatalf("step %q with exactly %s failed: %v\n%s", steps[i].name, v.file, r.err, r.log)
			}
			check(t, id)
		})
	}
}

// Every verb of every rule is needed: without it a run fails, and the error
// names the verb and the resource and points at the manifest.
func TestRBACEachVerbIsNeeded(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	for _, v := range rbacVariants {
		m := loadManifest(t, v.file)
		for ri, rule := range m.rules(t) {
			for _, verb := range rule.Verbs {
				drop := &droppedVerb{rule: ri, verb: verb}
				t.Run(fmt.Sprintf("%s/without %s %s", v.file, verb, strings.Join(rule.Resources, ",")), func(t *testing.T) {
					t.Parallel()
					namespaces, steps, _ := v.prepare(t, cp, cs)
					id := installManifest(t, cp, cs, m, namespaces, drop)
					i, r := runSteps(t, id, steps)
					if r.err == nil {
						t.Fatalf("every step succeeded without %q on %v: %s grants more than pullsecret uses", verb, rule.Resources, v.file)
					}
					msg := r.err.Error()
					named := slices.ContainsFunc(rule.Resources, func(res string) bool {
						return strings.Contains(msg, fmt.Sprintf("cannot %s resource %q", verb, res))
					})
					if !named {
						t.Errorf("step %q failed without naming the missing permission (cannot %s resource %v): %v", steps[i].name, verb, rule.Resources, r.err)
					}
					if !strings.Contains(msg, "deploy/rbac.yaml") {
						t.Errorf("step %q: Forbidden error does not point at deploy/rbac.yaml: %v", steps[i].name, r.err)
					}
				})
			}
		}
	}
}

// An identity bound to nothing is told what it lacks and where to get it.
func TestRBACUnboundIdentityIsToldWhatToGrant(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	ns := controlplanetest.Namespace(t, cp)
	createSA(t, cs, ns, "stranger")
	id := tokenIdentity(t, cp, cs, ns, "stranger")
	r := runWith(t, id.kubeconfig, withCreds(t, fakestack.KeyToken, map[string]string{config.InNamespaces: ns}))
	if r.err == nil {
		t.Fatal("an unbound ServiceAccount wrote the secret")
	}
	for _, want := range []string{`cannot get resource "namespaces"`, "deploy/rbac.yaml"} {
		if !strings.Contains(r.err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, r.err)
		}
	}
}

// rbac-namespaced.yaml's Role bound in two namespaces: the run cannot list
// across namespaces, says so, and reads each namespace on its own; both
// get the secret and the reference (in apply and in delete mode).
func TestRBACNamespacedRoleInSeveralNamespacesFallsBack(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	m := loadManifest(t, "rbac-namespaced.yaml")
	first, second := controlplanetest.Namespace(t, cp), controlplanetest.Namespace(t, cp)
	id := installManifest(t, cp, cs, m, map[string]string{"my-app": first}, nil)
	// The same Role and a binding to the same identity in the second one.
	role, binding := m.roles[0], m.bindings[0]
	role.Namespace, binding.Namespace = second, second
	binding.Subjects = []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "pullsecret", Namespace: first}}
	if _, err := cs.RbacV1().Roles(second).Create(t.Context(), &role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RbacV1().RoleBindings(second).Create(t.Context(), &binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	both := first + "," + second
	r := runWith(t, id.kubeconfig, withCreds(t, fakestack.KeyToken, map[string]string{config.InNamespaces: both}))
	if r.err != nil {
		t.Fatalf("run: %v\n%s", r.err, r.log)
	}
	if !strings.Contains(r.log, `Reading namespaces one by one: cannot list secrets across namespaces`) {
		t.Errorf("the log does not say why it reads namespaces one by one:\n%s", r.log)
	}
	for _, ns := range []string{first, second} {
		getSecret(t, cs, ns, config.DefaultSecretName)
		if got := pullSecretNames(getSA(t, cs, ns, "default")); !slices.Contains(got, config.DefaultSecretName) {
			t.Errorf("%s: default ServiceAccount lacks the reference: %v", ns, got)
		}
	}
	r = runWith(t, id.kubeconfig, map[string]string{config.InNamespaces: both, config.InMode: "delete"})
	if r.err != nil {
		t.Fatalf("delete: %v\n%s", r.err, r.log)
	}
	for _, ns := range []string{first, second} {
		if !secretAbsent(t, cs, ns, config.DefaultSecretName) {
			t.Errorf("%s: secret survived mode delete", ns)
		}
	}
}

func prepareClusterWide(t *testing.T, cp *controlplane.ControlPlane, cs kubernetes.Interface) (map[string]string, []rbacStep, func(*testing.T, rbacIdentity)) {
	ctx := t.Context()
	identityNS := controlplanetest.Namespace(t, cp)
	apply := controlplanetest.Namespace(t, cp)
	createSA(t, cs, apply, "app")
	// The glob step takes over a hand-made secret of our name (force):
	// get, delete, then create by server-side apply.
	globbed := controlplanetest.Namespace(t, cp)
	if _, err := cs.CoreV1().Secrets(globbed).Create(ctx, foreignSecret(config.DefaultSecretName), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	selected := controlplanetest.Namespace(t, cp)
	label := "pullsecret.dev/rbac-test"
	nsObj, err := cs.CoreV1().Namespaces().Get(ctx, selected, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nsObj.Labels[label] = selected
	if _, err := cs.CoreV1().Namespaces().Update(ctx, nsObj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	preview := freshName("rbac-preview")
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), preview, metav1.DeleteOptions{}) })
	other := otherSecret(t, cs, apply)

	in := func(extra map[string]string) map[string]string { return withCreds(t, fakestack.KeyToken, extra) }
	steps := []rbacStep{
		{
			name:   "apply, every ServiceAccount",
			inputs: in(map[string]string{config.InNamespaces: apply, config.InServiceAccounts: "*"}),
		},
		{
			name:   "re-run",
			inputs: in(map[string]string{config.InNamespaces: apply, config.InServiceAccounts: "*"}),
		},
		{
			name:   "glob, force over a foreign secret",
			inputs: in(map[string]string{config.InNamespaces: globbed[:len(globbed)-2] + "*", config.InForce: "true"}),
		},
		{
			name:   "selector",
			inputs: in(map[string]string{config.InNamespaceSelector: label + "=" + selected}),
		},
		{
			name:   "create_namespaces",
			inputs: in(map[string]string{config.InNamespaces: preview, config.InCreateNamespaces: "true"}),
		},
		{
			name:   "delete",
			inputs: map[string]string{config.InNamespaces: apply, config.InMode: "delete"},
		},
	}
	check := func(t *testing.T, id rbacIdentity) {
		for _, ns := range []string{globbed, selected, preview} {
			if s := getSecret(t, cs, ns, config.DefaultSecretName); s.Type != corev1.SecretTypeDockerConfigJson {
				t.Errorf("%s: secret has type %q", ns, s.Type)
			}
		}
		if !secretAbsent(t, cs, apply, config.DefaultSecretName) {
			t.Errorf("%s: secret survived mode delete", apply)
		}
		if got := pullSecretNames(getSA(t, cs, apply, "app")); slices.Contains(got, config.DefaultSecretName) {
			t.Errorf("%s: ServiceAccount app still references the secret: %v", apply, got)
		}
		assertCannotReadOtherSecrets(t, id, other)
		assertOtherSecretNameRefused(t, id, selected)
	}
	return map[string]string{"pullsecret": identityNS}, steps, check
}

func prepareNamespaced(t *testing.T, cp *controlplane.ControlPlane, cs kubernetes.Interface) (map[string]string, []rbacStep, func(*testing.T, rbacIdentity)) {
	ns := controlplanetest.Namespace(t, cp)
	createSA(t, cs, ns, "app")
	if _, err := cs.CoreV1().Secrets(ns).Create(t.Context(), foreignSecret(config.DefaultSecretName), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	other := otherSecret(t, cs, ns)
	in := func(extra map[string]string) map[string]string { return withCreds(t, fakestack.KeyToken, extra) }
	steps := []rbacStep{
		{
			name:   "apply, every ServiceAccount, force over a foreign secret",
			inputs: in(map[string]string{config.InNamespaces: ns, config.InServiceAccounts: "*", config.InForce: "true"}),
		},
		{
			name:   "re-run, named ServiceAccount",
			inputs: in(map[string]string{config.InNamespaces: ns, config.InServiceAccounts: "app"}),
		},
		{
			name:   "delete",
			inputs: map[string]string{config.InNamespaces: ns, config.InMode: "delete"},
		},
	}
	check := func(t *testing.T, id rbacIdentity) {
		if !secretAbsent(t, cs, ns, config.DefaultSecretName) {
			t.Errorf("%s: secret survived mode delete", ns)
		}
		for _, sa := range []string{"app", "default"} {
			if got := pullSecretNames(getSA(t, cs, ns, sa)); slices.Contains(got, config.DefaultSecretName) {
				t.Errorf("ServiceAccount %s still references the secret: %v", sa, got)
			}
		}
		assertCannotReadOtherSecrets(t, id, other)
		assertOtherSecretNameRefused(t, id, ns)
	}
	return map[string]string{"my-app": ns}, steps, check
}

// otherSecret is a secret the pullsecret identity must not be able to read.
func otherSecret(t *testing.T, cs kubernetes.Interface, ns string) *corev1.Secret {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "database-password", Namespace: ns}, StringData: map[string]string{"password": "not-for-pullsecret"}}
	if _, err := cs.CoreV1().Secrets(ns).Create(t.Context(), s, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return s
}

func assertCannotReadOtherSecrets(t *testing.T, id rbacIdentity, other *corev1.Secret) {
	t.Helper()
	ctx := t.Context()
	secrets := id.client.CoreV1().Secrets(other.Namespace)
	_, err := secrets.Get(ctx, other.Name, metav1.GetOptions{})
	if !apierrors.IsForbidden(err) || check.ErrDiff(err, `cannot get resource "secrets"`) != "" {
		t.Errorf("reading secret %s/%s as %s: want 403 cannot get, got %v", other.Namespace, other.Name, id.user, err)
	}
	for _, opts := range []metav1.ListOptions{{}, {FieldSelector: "metadata.name=" + other.Name}} {
		if _, err := secrets.List(ctx, opts); !apierrors.IsForbidden(err) {
			t.Errorf("listing secrets in %s (%q) as %s: want 403, got %v", other.Namespace, opts.FieldSelector, id.user, err)
		}
	}
}

// assertOtherSecretNameRefused: a secret_name the manifest does not list
// fails, saying which name to add, and writes nothing.
func assertOtherSecretNameRefused(t *testing.T, id rbacIdentity, ns string) {
	t.Helper()
	r := runWith(t, id.kubeconfig, withCreds(t, fakestack.KeyToken, map[string]string{config.InNamespaces: ns, config.InSecretName: "renamed-pull"}))
	if r.err == nil {
		t.Fatal("secret_name outside the manifest's resourceNames succeeded")
	}
	for _, want := range []string{`cannot list resource "secrets"`, `secret_name "renamed-pull" in the secrets rule's resourceNames`} {
		if !strings.Contains(r.err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, r.err)
		}
	}
	sa, err := id.client.CoreV1().ServiceAccounts(ns).Get(t.Context(), "default", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := pullSecretNames(sa); slices.Contains(got, "renamed-pull") {
		t.Errorf("refused run still referenced its secret: %v", got)
	}
}

// runSteps runs steps in order until one fails, returning its index.
func runSteps(t *testing.T, id rbacIdentity, steps []rbacStep) (int, run) {
	t.Helper()
	for i, s := range steps {
		if r := runWith(t, id.kubeconfig, s.inputs); r.err != nil {
			return i, r
		}
	}
	return len(steps), run{}
}

// manifest is a deploy/ file, decoded by kind.
type manifest struct {
	file            string
	namespaces      []corev1.Namespace
	serviceAccounts []corev1.ServiceAccount
	clusterRoles    []rbacv1.ClusterRole
	clusterBindings []rbacv1.ClusterRoleBinding
	roles           []rbacv1.Role
	bindings        []rbacv1.RoleBinding
}

func loadManifest(t *testing.T, file string) manifest {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", file))
	if err != nil {
		t.Fatal(err)
	}
	m := manifest{file: file}
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	for {
		var doc json.RawMessage
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		var head metav1.TypeMeta
		if err := json.Unmarshal(doc, &head); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		var target any
		switch head.Kind {
		case "":
			continue // an empty document
		case "Namespace":
			m.namespaces = append(m.namespaces, corev1.Namespace{})
			target = &m.namespaces[len(m.namespaces)-1]
		case "ServiceAccount":
			m.serviceAccounts = append(m.serviceAccounts, corev1.ServiceAccount{})
			target = &m.serviceAccounts[len(m.serviceAccounts)-1]
		case "ClusterRole":
			m.clusterRoles = append(m.clusterRoles, rbacv1.ClusterRole{})
			target = &m.clusterRoles[len(m.clusterRoles)-1]
		case "ClusterRoleBinding":
			m.clusterBindings = append(m.clusterBindings, rbacv1.ClusterRoleBinding{})
			target = &m.clusterBindings[len(m.clusterBindings)-1]
		case "Role":
			m.roles = append(m.roles, rbacv1.Role{})
			target = &m.roles[len(m.roles)-1]
		case "RoleBinding":
			m.bindings = append(m.bindings, rbacv1.RoleBinding{})
			target = &m.bindings[len(m.bindings)-1]
		default:
			t.Fatalf("%s: kind %q is not handled by this test", file, head.Kind)
		}
		if err := json.Unmarshal(doc, target); err != nil {
			t.Fatalf("%s: %s: %v", file, head.Kind, err)
		}
	}
	if n := len(m.clusterRoles) + len(m.roles); n != 1 {
		t.Fatalf("%s: want exactly one ClusterRole or Role, found %d", file, n)
	}
	return m
}

// rules are the manifest's one role's rules.
func (m manifest) rules(t *testing.T) []rbacv1.PolicyRule {
	t.Helper()
	if len(m.clusterRoles) == 1 {
		return m.clusterRoles[0].Rules
	}
	return m.roles[0].Rules
}

type droppedVerb struct {
	rule int
	verb string
}

func (d *droppedVerb) apply(rules []rbacv1.PolicyRule) []rbacv1.PolicyRule {
	out := make([]rbacv1.PolicyRule, 0, len(rules))
	for i, r := range rules {
		r = *r.DeepCopy()
		if d != nil && i == d.rule {
			r.Verbs = slices.DeleteFunc(r.Verbs, func(v string) bool { return v == d.verb })
			if len(r.Verbs) == 0 {
				continue
			}
		}
		out = append(out, r)
	}
	return out
}

type rbacIdentity struct {
	user       string
	kubeconfig string
	client     kubernetes.Interface
}

// installManifest creates m's objects as an admin, with each namespace the
// manifest names mapped through namespaces (which must cover all of them),
// cluster-scoped names made unique, and drop's verb removed, then returns
// the identity of the ServiceAccount its binding names.
func installManifest(t *testing.T, cp *controlplane.ControlPlane, cs kubernetes.Interface, m manifest, namespaces map[string]string, drop *droppedVerb) rbacIdentity {
	t.Helper()
	ctx := t.Context()
	suffix := "-" + freshName("t")
	mapNS := func(ns string) string {
		mapped, ok := namespaces[ns]
		if !ok {
			t.Fatalf("%s names namespace %q, which the test does not map", m.file, ns)
		}
		return mapped
	}
	for _, ns := range m.namespaces {
		mapNS(ns.Name) // the test created it
	}
	for _, sa := range m.serviceAccounts {
		sa.Namespace = mapNS(sa.Namespace)
		if _, err := cs.CoreV1().ServiceAccounts(sa.Namespace).Create(ctx, &sa, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var subjects []rbacv1.Subject
	mapSubjects := func(in []rbacv1.Subject) []rbacv1.Subject {
		out := slices.Clone(in)
		for i := range out {
			if out[i].Kind == rbacv1.ServiceAccountKind {
				out[i].Namespace = mapNS(out[i].Namespace)
			}
		}
		subjects = append(subjects, out...)
		return out
	}
	for _, r := range m.clusterRoles {
		r.Name += suffix
		r.Rules = drop.apply(r.Rules)
		if _, err := cs.RbacV1().ClusterRoles().Create(ctx, &r, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cs.RbacV1().ClusterRoles().Delete(context.Background(), r.Name, metav1.DeleteOptions{}) })
	}
	for _, b := range m.clusterBindings {
		b.Name += suffix
		b.RoleRef.Name += suffix
		b.Subjects = mapSubjects(b.Subjects)
		if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, &b, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cs.RbacV1().ClusterRoleBindings().Delete(context.Background(), b.Name, metav1.DeleteOptions{})
		})
	}
	for _, r := range m.roles {
		r.Namespace = mapNS(r.Namespace)
		r.Rules = drop.apply(r.Rules)
		if _, err := cs.RbacV1().Roles(r.Namespace).Create(ctx, &r, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range m.bindings {
		b.Namespace = mapNS(b.Namespace)
		b.Subjects = mapSubjects(b.Subjects)
		if _, err := cs.RbacV1().RoleBindings(b.Namespace).Create(ctx, &b, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if len(subjects) != 1 || subjects[0].Kind != rbacv1.ServiceAccountKind {
		t.Fatalf("%s: want its binding to name exactly one ServiceAccount, got %+v", m.file, subjects)
	}
	return tokenIdentity(t, cp, cs, subjects[0].Namespace, subjects[0].Name)
}

// tokenIdentity is a kubeconfig holding a real token of the ServiceAccount,
// as a pod or a CI system would use.
func tokenIdentity(t *testing.T, cp *controlplane.ControlPlane, cs kubernetes.Interface, ns, name string) rbacIdentity {
	t.Helper()
	tok, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(t.Context(), name, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token for ServiceAccount %s/%s: %v", ns, name, err)
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["c"] = &clientcmdapi.Cluster{Server: cp.Server(), CertificateAuthorityData: cp.RESTConfig().CAData}
	kc.AuthInfos["sa"] = &clientcmdapi.AuthInfo{Token: tok.Status.Token}
	kc.Contexts["sa"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "sa", Namespace: ns}
	kc.CurrentContext = "sa"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	return rbacIdentity{user: "system:serviceaccount:" + ns + ":" + name, kubeconfig: path, client: client}
}

// deploy/secret-type-policy.yaml stops the identity from writing its one
// secret name as a ServiceAccount token secret (which the token controller
// would fill with a token it could then read), and pullsecret still works.
func TestRBACSecretTypePolicy(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	ctx := t.Context()
	identityNS := controlplanetest.Namespace(t, cp)
	ns := controlplanetest.Namespace(t, cp)
	createSA(t, cs, ns, "app")
	id := installManifest(t, cp, cs, loadManifest(t, "rbac.yaml"), map[string]string{"pullsecret": identityNS}, nil)
	installSecretTypePolicy(t, cs, id.user)

	attack := corev1ac.Secret(config.DefaultSecretName, ns).
		WithType(corev1.SecretTypeServiceAccountToken).
		WithAnnotations(map[string]string{corev1.ServiceAccountNameKey: "app"})
	// The API server loads a new policy asynchronously: wait until it denies.
	const denial = "may only write secrets of type kubernetes.io/dockerconfigjson"
	poll := wait.PollUntilContextCancel(controlplanetest.Context(t), 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		_, err := id.client.CoreV1().Secrets(ns).Apply(ctx, attack, metav1.ApplyOptions{FieldManager: "attacker", Force: true, DryRun: []string{metav1.DryRunAll}})
		switch {
		case err == nil:
			return false, nil // not enforced yet
		case strings.Contains(err.Error(), denial):
			return true, nil
		default:
			return false, fmt.Errorf("refused for another reason: %w", err)
		}
	})
	if poll != nil {
		t.Fatalf("writing %q as a ServiceAccount token secret was not denied by the policy: %v", config.DefaultSecretName, poll)
	}
	if _, err := cs.CoreV1().Secrets(ns).Create(ctx, foreignSecret(config.DefaultSecretName), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	in := withCreds(t, fakestack.KeyToken, map[string]string{config.InNamespaces: ns, config.InServiceAccounts: "*", config.InForce: "true"})
	for _, step := range []string{"apply, force over a foreign secret", "re-run"} {
		if r := runWith(t, id.kubeconfig, in); r.err != nil {
			t.Fatalf("%s under the policy: %v\n%s", step, r.err, r.log)
		}
	}
	if s := getSecret(t, cs, ns, config.DefaultSecretName); s.Type != corev1.SecretTypeDockerConfigJson {
		t.Errorf("secret has type %q", s.Type)
	}
}

// installSecretTypePolicy applies deploy/secret-type-policy.yaml with its
// username set to user and unique names (the policy is cluster-wide).
func installSecretTypePolicy(t *testing.T, cs kubernetes.Interface, user string) {
	t.Helper()
	ctx := t.Context()
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "secret-type-policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	const shipped = "system:serviceaccount:pullsecret:pullsecret"
	suffix := "-" + freshName("t")
	var policy admissionregistrationv1.ValidatingAdmissionPolicy
	var binding admissionregistrationv1.ValidatingAdmissionPolicyBinding
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	for _, target := range []any{&policy, &binding} {
		if err := dec.Decode(target); err != nil {
			t.Fatal(err)
		}
	}
	if policy.Kind != "ValidatingAdmissionPolicy" || binding.Kind != "ValidatingAdmissionPolicyBinding" || binding.Spec.PolicyName != policy.Name {
		t.Fatalf("unexpected secret-type-policy.yaml: %s %q, %s for %q", policy.Kind, policy.Name, binding.Kind, binding.Spec.PolicyName)
	}
	replaced := 0
	for i, c := range policy.Spec.MatchConditions {
		replaced += strings.Count(c.Expression, shipped)
		policy.Spec.MatchConditions[i].Expression = strings.ReplaceAll(c.Expression, shipped, user)
	}
	if replaced != 1 {
		t.Fatalf("secret-type-policy.yaml: want the username %q once in matchConditions, found it %d times", shipped, replaced)
	}
	policy.Name += suffix
	binding.Name += suffix
	binding.Spec.PolicyName = policy.Name
	if _, err := cs.AdmissionregistrationV1().ValidatingAdmissionPolicies().Create(ctx, &policy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.AdmissionregistrationV1().ValidatingAdmissionPolicies().Delete(context.Background(), policy.Name, metav1.DeleteOptions{})
	})
	if _, err := cs.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Create(ctx, &binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Delete(context.Background(), binding.Name, metav1.DeleteOptions{})
	})
}
