//go:build integration

package runner

import (
	"context"
	"slices"
	"strings"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/refresher"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

// kinds are the refresher object kinds present, sorted.
func (v objectVersions) kinds() []string {
	var out []string
	for k := range v {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// The watching refresher's life cycle: installed as a Deployment with its
// PodDisruptionBudget and no CronJob, admitted under Pod Security
// "restricted", its identity holding its Lease; a later run switches it to
// cron (the Deployment, budget and Lease go) and back; pod recovery is
// turned off by a re-install; teardown leaves nothing.
func TestRefresherWatchModeLifecycle(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	refreshNS := freshName("ps-watch")
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), refreshNS, metav1.DeleteOptions{}) })
	prefix := freshName("wt")
	newNamespace(t, cs, prefix+"-1")
	install := func(mode, recover string) run {
		t.Helper()
		r := runWith(t, cp.Kubeconfig(), withCreds(t, fakestack.WIF, map[string]string{
			config.InNamespaces: prefix + "-*", config.InRefresh: "true", config.InRefreshImage: refresherImage,
			config.InRefreshNamespace: refreshNS, config.InRefreshMode: mode, config.InRefreshRecoverPods: recover,
		}))
		if r.err != nil {
			t.Fatalf("install run (%s, recover pods %s): %v\n%s", mode, recover, r.err, r.log)
		}
		return r
	}
	cronKinds := []string{"ClusterRole", "ClusterRoleBinding", "ConfigMap", "CronJob", "Role", "RoleBinding", "ServiceAccount",
		"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}
	watchKinds := []string{"ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment", "PodDisruptionBudget", "Role", "RoleBinding",
		"ServiceAccount", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}

	r := install("watch", "true")
	installed := refresherObjects(t, cs, refreshNS)
	if got := installed.kinds(); !slices.Equal(got, watchKinds) {
		t.Fatalf("watch mode installed %v, want %v", got, watchKinds)
	}
	if !strings.Contains(r.summary, "mode `watch`") || !strings.Contains(r.summary, "recovering stuck pods") {
		t.Errorf("step summary does not say the mode:\n%s", r.summary)
	}
	dep, err := cs.AppsV1().Deployments(refreshNS).Get(t.Context(), pullerRefresher, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	args := dep.Spec.Template.Spec.Containers[0].Args
	if *dep.Spec.Replicas != 2 || !slices.Contains(args, "--watch") || !slices.Contains(args, "--recover-pods") {
		t.Errorf("Deployment: %d replicas, args %q", *dep.Spec.Replicas, args)
	}
	// Idempotent.
	install("watch", "true")
	if again := refresherObjects(t, cs, refreshNS); !mapsEqual(installed, again) {
		t.Errorf("re-install changed objects: %v -> %v", installed, again)
	}
	// Pod Security "restricted" admits its pods.
	nsObj, err := cs.CoreV1().Namespaces().Get(t.Context(), refreshNS, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nsObj.Labels["pod-security.kubernetes.io/enforce"] = "restricted"
	if _, err := cs.CoreV1().Namespaces().Update(t.Context(), nsObj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := createPod(t, cs, refreshNS, dep.Spec.Template.Spec); err != nil {
		t.Errorf("restricted namespace refused the watching refresher's pod: %v", err)
	}
	// Its pods' leader election, as client-go does it: create, get, update.
	as := impersonate(t, cp, saUser(refreshNS, pullerRefresher))
	takeLease(t, as, refreshNS, pullerRefresher)

	// Switched to cron: the Deployment, its budget and the Lease go.
	r = install("cron", "false")
	if got := refresherObjects(t, cs, refreshNS).kinds(); !slices.Equal(got, cronKinds) {
		t.Errorf("switched to cron: %v, want %v", got, cronKinds)
	}
	if !strings.Contains(r.log, "deleted: Deployment "+refreshNS+"/"+pullerRefresher) || !strings.Contains(r.summary, "mode `cron`") {
		t.Errorf("the switch is not reported:\n%s\n%s", r.log, r.summary)
	}
	// And back, without pod recovery: nothing grants a pod delete.
	install("watch", "false")
	if got := refresherObjects(t, cs, refreshNS).kinds(); !slices.Equal(got, watchKinds) {
		t.Errorf("switched back to watch: %v, want %v", got, watchKinds)
	}
	cr, err := cs.RbacV1().ClusterRoles().Get(t.Context(), refresher.OuterName(pullerRefresher, refreshNS), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, rule := range cr.Rules {
		if slices.Contains(rule.Resources, "pods") {
			t.Errorf("pod recovery turned off, yet the ClusterRole grants %v on pods", rule.Verbs)
		}
	}
	takeLease(t, as, refreshNS, pullerRefresher)

	teardown := runWith(t, cp.Kubeconfig(), map[string]string{config.InNamespaces: prefix + "-*", config.InMode: "delete",
		config.InRefresh: "true", config.InRefreshNamespace: refreshNS, config.InServiceAccount: fakestack.ImpersonatedSA})
	if teardown.err != nil {
		t.Fatalf("teardown: %v\n%s", teardown.err, teardown.log)
	}
	if left := refresherObjects(t, cs, refreshNS); len(left) != 0 {
		t.Errorf("teardown left %v", left)
	}
}

// takeLease does what the watching refresher's leader election does, as
// its identity: it creates its Lease (or reads it) and renews it.
func takeLease(t *testing.T, as kubernetes.Interface, ns, name string) {
	t.Helper()
	leases := as.CoordinationV1().Leases(ns)
	lease, err := leases.Get(t.Context(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		lease, err = leases.Create(t.Context(), leaseFor(ns, name, "pod-a"), metav1.CreateOptions{})
	}
	if err != nil {
		t.Fatalf("the refresher cannot take its Lease: %v", err)
	}
	holder := "pod-b"
	lease.Spec.HolderIdentity = &holder
	if _, err := leases.Update(t.Context(), lease, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("the refresher cannot renew its Lease: %v", err)
	}
}

func leaseFor(ns, name, holder string) *coordinationv1.Lease {
	seconds := int32(15)
	return &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &seconds}}
}
