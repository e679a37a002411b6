//go:build integration

package runner

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/kube"
	"github.com/pullsecret/pullsecret/internal/labels"
	"github.com/pullsecret/pullsecret/internal/testing/check"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

// A secret that another controller takes over between pullsecret's
// ownership read and its write is re-checked, not overwritten.
func TestApplyDoesNotOverwriteSecretChangedAfterOwnershipCheck(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	ns := controlplanetest.Namespace(t, cp)
	spec := kube.SecretSpec{Name: "racy", Payload: []byte(`{"auths":{"gcr.io":{"username":"oauth2accesstoken","password":"ours"}}}`)}
	c := kubeClientFor(t, cp)
	if _, err := kube.ApplySecret(t.Context(), c, ns, spec, nil); err != nil {
		t.Fatal(err)
	}
	// pullsecret's read, then another writer takes the secret over before
	// pullsecret writes what it read.
	st, err := kube.ReadState(t.Context(), c, ns, kube.StateRequest{SecretName: spec.Name})
	if err != nil || st.Secret == nil {
		t.Fatalf("read: %v (secret %v)", err, st)
	}
	theirs := []byte(`{"auths":{"registry.example.com":{"username":"bot","password":"theirs"}}}`)
	s := getSecret(t, cs, ns, spec.Name)
	s.Labels[labels.ManagedBy] = "external-secrets"
	s.Data[corev1.DockerConfigJsonKey] = theirs
	if _, err := cs.CoreV1().Secrets(ns).Update(t.Context(), s, metav1.UpdateOptions{FieldManager: "external-secrets"}); err != nil {
		t.Fatalf("concurrent writer: %v", err)
	}
	_, err = kube.ApplySecret(t.Context(), c, ns, spec, st.Secret)
	if !errors.Is(err, kube.ErrNotOurs) {
		t.Errorf("want ErrNotOurs after the re-check, got %v", err)
	}
	after := getSecret(t, cs, ns, spec.Name)
	if string(after.Data[corev1.DockerConfigJsonKey]) != string(theirs) || after.Labels[labels.ManagedBy] != "external-secrets" {
		t.Errorf("the other writer's secret was overwritten (managed-by %q)", after.Labels[labels.ManagedBy])
	}
}

// A forced replacement whose create is refused (here by an admission
// policy, as a policy engine would) puts the original secret back: the
// name is never left empty for the ServiceAccounts that reference it.
func TestFailedForcedReplacementRestoresTheSecret(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	ns := controlplanetest.Namespace(t, cp)
	createSA(t, cs, ns, "app", config.DefaultSecretName)
	denyDockerConfigSecrets(t, cs, ns)
	orig := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: config.DefaultSecretName, Labels: map[string]string{"team": "web"}, Annotations: map[string]string{"note": "hand-made"}},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{"password": []byte("x")},
	}
	if _, err := cs.CoreV1().Secrets(ns).Create(t.Context(), orig, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r := runWith(t, cp.Kubeconfig(), withCreds(t, fakestack.KeyToken, map[string]string{config.InNamespaces: ns, config.InServiceAccounts: "app", config.InForce: "true"}))
	if check.ErrDiff(r.err, "denied") != "" {
		t.Fatalf("want the admission denial reported, got %v", r.err)
	}
	got, err := cs.CoreV1().Secrets(ns).Get(t.Context(), config.DefaultSecretName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the failed replacement left no secret of that name: %v", err)
	}
	if got.Type != orig.Type || string(got.Data["password"]) != "x" || got.Labels["team"] != "web" || got.Annotations["note"] != "hand-made" {
		t.Errorf("restored secret differs: type %s labels %v annotations %v", got.Type, got.Labels, got.Annotations)
	}
	if diff := cmp.Diff([]string{config.DefaultSecretName}, pullSecretNames(getSA(t, cs, ns, "app"))); diff != "" {
		t.Errorf("ServiceAccount (-want +got):\n%s", diff)
	}
}

// dry_run with force on a secret of another type says it would replace it
// and changes nothing (a dry-run apply would fail on the immutable type).
func TestDryRunForcedReplacementReportsWouldReplace(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	ns := controlplanetest.Namespace(t, cp)
	created, err := cs.CoreV1().Secrets(ns).Create(t.Context(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: config.DefaultSecretName}, Type: corev1.SecretTypeOpaque}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := runWith(t, cp.Kubeconfig(), withCreds(t, fakestack.KeyToken, map[string]string{
		config.InNamespaces: ns, config.InServiceAccounts: "", config.InForce: "true", config.InDryRun: "true",
	}))
	if r.err != nil {
		t.Fatal(r.err)
	}
	if got := string(r.res.Namespaces[0].Secret); got != "replaced" {
		t.Errorf("secret result = %q, want replaced", got)
	}
	if !strings.Contains(r.summary, "would replace") {
		t.Errorf("summary does not say it would replace:\n%s", r.summary)
	}
	if after := getSecret(t, cs, ns, config.DefaultSecretName); after.ResourceVersion != created.ResourceVersion || after.UID != created.UID {
		t.Error("dry run changed the secret")
	}
}

// denyDockerConfigSecrets installs a ValidatingAdmissionPolicy refusing to
// create dockerconfigjson secrets in ns, and waits until it is enforced.
func denyDockerConfigSecrets(t *testing.T, cs kubernetes.Interface, ns string) {
	t.Helper()
	ctx := t.Context()
	fail := admissionv1.Fail
	policy := &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "deny-registry-secrets-"},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: &fail,
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionv1.RuleWithOperations{
					Operations: []admissionv1.OperationType{admissionv1.Create},
					Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"secrets"}},
				},
			}}},
			Validations: []admissionv1.Validation{{Expression: "object.type != 'kubernetes.io/dockerconfigjson'", Message: "registry credentials are managed by the platform team"}},
		},
	}
	p, err := cs.AdmissionregistrationV1().ValidatingAdmissionPolicies().Create(ctx, policy, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.AdmissionregistrationV1().ValidatingAdmissionPolicies().Delete(context.Background(), p.Name, metav1.DeleteOptions{})
	})
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: p.Name},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        p.Name,
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
			MatchResources: &admissionv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
				MatchLabels: map[string]string{corev1.LabelMetadataName: ns},
			}},
		},
	}
	if _, err := cs.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Delete(context.Background(), binding.Name, metav1.DeleteOptions{})
	})
	// The policy reaches the admission plugin through an informer: wait
	// until a dry-run create is refused.
	probe := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "probe"}, Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{}}`)}}
	guard := controlplanetest.Context(t)
	for {
		_, err := cs.CoreV1().Secrets(ns).Create(guard, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if apierrors.IsInvalid(err) || apierrors.IsForbidden(err) {
			return
		}
		select {
		case <-guard.Done():
			t.Fatalf("admission policy never enforced before the test deadline (last: %v)", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// A secret someone creates between pullsecret's read (not found) and its
// write is not taken over: the create is refused, re-read and re-checked.
func TestCreateDoesNotTakeOverSecretMadeAfterRead(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	ns := controlplanetest.Namespace(t, cp)
	theirs := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "late"},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{"registry.example.com":{}}}`)},
	}
	c := kubeClientFor(t, cp)
	st, err := kube.ReadState(t.Context(), c, ns, kube.StateRequest{SecretName: theirs.Name})
	if err != nil || st.Secret != nil {
		t.Fatalf("read: %v (secret %v)", err, st)
	}
	if _, err := cs.CoreV1().Secrets(ns).Create(t.Context(), theirs, metav1.CreateOptions{}); err != nil {
		t.Fatalf("concurrent writer: %v", err)
	}
	_, err = kube.ApplySecret(t.Context(), c, ns, kube.SecretSpec{Name: theirs.Name, Payload: []byte(`{"auths":{}}`)}, st.Secret)
	if !errors.Is(err, kube.ErrNotOurs) {
		t.Errorf("want ErrNotOurs after the re-check, got %v", err)
	}
	after := getSecret(t, cs, ns, theirs.Name)
	if string(after.Data[corev1.DockerConfigJsonKey]) != string(theirs.Data[corev1.DockerConfigJsonKey]) || after.Labels[labels.ManagedBy] != "" {
		t.Errorf("the secret made after the read was taken over (labels %v)", after.Labels)
	}
}

// The secret is created by an apply with a precondition, so its fields
// are with pullsecret's apply manager alone: a later run that no
// longer sets a label or annotation removes it.
func TestRerunDropsLabelsItNoLongerSets(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	ns := controlplanetest.Namespace(t, cp)
	in := withCreds(t, fakestack.KeyToken, map[string]string{config.InNamespaces: ns, config.InServiceAccounts: "", config.InSecretLabels: "team=web", config.InSecretAnnotations: "owner=web"})
	if r := runWith(t, cp.Kubeconfig(), in); r.err != nil {
		t.Fatal(r.err)
	}
	for _, m := range getSecret(t, cs, ns, config.DefaultSecretName).ManagedFields {
		if m.Manager == kube.FieldManager && m.Operation != metav1.ManagedFieldsOperationApply {
			t.Errorf("pullsecret owns fields through %s, want Apply only", m.Operation)
		}
	}
	delete(in, config.InSecretLabels)
	delete(in, config.InSecretAnnotations)
	if r := runWith(t, cp.Kubeconfig(), in); r.err != nil {
		t.Fatal(r.err)
	}
	s := getSecret(t, cs, ns, config.DefaultSecretName)
	if _, ok := s.Labels["team"]; ok {
		t.Errorf("label kept after the run stopped setting it: %v", s.Labels)
	}
	if _, ok := s.Annotations["owner"]; ok {
		t.Errorf("annotation kept after the run stopped setting it: %v", s.Annotations)
	}
	if s.Labels[labels.ManagedBy] != labels.Manager {
		t.Errorf("labels = %v", s.Labels)
	}
}
