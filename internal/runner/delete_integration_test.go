//go:build integration

package runner

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/controlplane/controlplanetest"
	"github.com/pullsecret/pullsecret/internal/fakestack"
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
	if r.err == nil || !strings.Contains(r.err.Error(), "force") {
		t.Fatalf("want refusal naming force, got %v", r.err)
	}
	getSecret(t, cs, ns, "theirs")
}
