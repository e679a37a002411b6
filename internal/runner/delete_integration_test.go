//go:build integration

package runner

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/labels"
	"github.com/pullsecret/pullsecret/internal/testing/check"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

// Teardown removes the secret and only our entry; other entries stay, and
// deleting again (or in a namespace that is gone) succeeds.
func TestDeleteRemovesOnlyOurs(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	ns := controlplanetest.Namespace(t, cp)
	createSA(t, cs, ns, "app", "other-team")
	in := withCreds(t, fakestack.KeyToken, map[string]string{config.InNamespaces: ns, config.InServiceAccounts: "app"})
	if r := runWith(t, cp.Kubeconfig(), in); r.err != nil {
		t.Fatal(r.err)
	}
	// Teardown needs no Google credentials at all.
	del := map[string]string{config.InNamespaces: ns, config.InMode: "delete"}
	r := runWith(t, cp.Kubeconfig(), del)
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.log)
	}
	if !secretAbsent(t, cs, ns, config.DefaultSecretName) {
		t.Error("secret still exists")
	}
	if diff := cmp.Diff([]string{"other-team"}, pullSecretNames(getSA(t, cs, ns, "app"))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if r := runWith(t, cp.Kubeconfig(), del); r.err != nil {
		t.Errorf("second delete: %v", r.err)
	}
	if r := runWith(t, cp.Kubeconfig(), map[string]string{config.InNamespaces: freshName("gone"), config.InMode: "delete"}); r.err != nil {
		t.Errorf("delete in a missing namespace: %v", r.err)
	}
}

func TestDeleteRefusesForeignSecret(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	ns := controlplanetest.Namespace(t, cp)
	createSA(t, cs, ns, "app")
	r := runWith(t, cp.Kubeconfig(), map[string]string{config.InNamespaces: ns, config.InMode: "delete", config.InSecretName: "kube-root-ca.crt"})
	if r.err != nil {
		t.Fatalf("deleting an absent secret: %v", r.err)
	}
	// A secret someone else made is not ours to delete.
	if _, err := cs.CoreV1().Secrets(ns).Create(t.Context(), foreignSecret("theirs"), metav1CreateOptions()); err != nil {
		t.Fatal(err)
	}
	r = runWith(t, cp.Kubeconfig(), map[string]string{config.InNamespaces: ns, config.InMode: "delete", config.InSecretName: "theirs"})
	if check.ErrDiff(r.err, "force") != "" {
		t.Fatalf("want refusal naming force, got %v", r.err)
	}
	getSecret(t, cs, ns, "theirs")
}

// Teardown checks ownership before it touches anything: a secret that is
// not ours fails the namespace with the secret and every ServiceAccount
// reference untouched (pods keep pulling), and force then removes both.
func TestDeleteForeignSecretChangesNothing(t *testing.T) {
	t.Parallel()
	owner := metav1.OwnerReference{APIVersion: "external-secrets.io/v1", Kind: "ExternalSecret", Name: "registry", UID: "6d0c6a7e-0000-4000-8000-000000000001"}
	cases := []struct {
		name   string
		secret *corev1.Secret
	}{
		{
			name:   "hand-made dockerconfigjson",
			secret: &corev1.Secret{Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{}}`)}},
		},
		{
			name:   "opaque",
			secret: &corev1.Secret{Type: corev1.SecretTypeOpaque},
		},
		{
			name: "labelled ours but owned by a controller",
			secret: &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{labels.ManagedBy: labels.Manager}, OwnerReferences: []metav1.OwnerReference{owner}},
				Type:       corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{}}`)},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cp := controlplanetest.Shared(t)
			cs := clientFor(t, cp)
			ns := controlplanetest.Namespace(t, cp)
			createSA(t, cs, ns, "app", "other-team", config.DefaultSecretName)
			createSA(t, cs, ns, "worker", config.DefaultSecretName)
			tc.secret.Name = config.DefaultSecretName
			created, err := cs.CoreV1().Secrets(ns).Create(t.Context(), tc.secret, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			before := map[string]*corev1.ServiceAccount{"app": getSA(t, cs, ns, "app"), "worker": getSA(t, cs, ns, "worker")}

			del := map[string]string{config.InNamespaces: ns, config.InMode: "delete", config.InServiceAccounts: "*"}
			r := runWith(t, cp.Kubeconfig(), del)
			if check.ErrDiff(r.err, "force", ns) != "" {
				t.Fatalf("want a refusal naming the namespace and force, got %v", r.err)
			}
			if got := getSecret(t, cs, ns, config.DefaultSecretName); got.ResourceVersion != created.ResourceVersion {
				t.Error("refused teardown modified the secret")
			}
			for name, sa := range before {
				after := getSA(t, cs, ns, name)
				if diff := cmp.Diff(pullSecretNames(sa), pullSecretNames(after)); diff != "" || after.ResourceVersion != sa.ResourceVersion {
					t.Errorf("refused teardown changed ServiceAccount %s (-before +after):\n%s", name, diff)
				}
			}
			if len(r.res.Namespaces) != 1 || len(r.res.Namespaces[0].Patched) != 0 {
				t.Errorf("result reports changes: %+v", r.res.Namespaces)
			}

			del[config.InForce] = "true"
			if r := runWith(t, cp.Kubeconfig(), del); r.err != nil {
				t.Fatalf("forced teardown: %v", r.err)
			}
			if !secretAbsent(t, cs, ns, config.DefaultSecretName) {
				t.Error("forced teardown left the secret")
			}
			if diff := cmp.Diff([]string{"other-team"}, pullSecretNames(getSA(t, cs, ns, "app"))); diff != "" {
				t.Errorf("app after forced teardown (-want +got):\n%s", diff)
			}
			if got := pullSecretNames(getSA(t, cs, ns, "worker")); len(got) != 0 {
				t.Errorf("worker after forced teardown: %v", got)
			}
		})
	}
}

// An absent secret still has our dangling reference removed, other
// entries kept.
func TestDeleteAbsentSecretRemovesDanglingReference(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	ns := controlplanetest.Namespace(t, cp)
	createSA(t, cs, ns, "app", config.DefaultSecretName, "other-team")
	r := runWith(t, cp.Kubeconfig(), map[string]string{config.InNamespaces: ns, config.InMode: "delete"})
	if r.err != nil {
		t.Fatal(r.err)
	}
	if diff := cmp.Diff([]string{"other-team"}, pullSecretNames(getSA(t, cs, ns, "app"))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"app"}, r.res.Namespaces[0].Patched); diff != "" {
		t.Errorf("patched (-want +got):\n%s", diff)
	}
}
