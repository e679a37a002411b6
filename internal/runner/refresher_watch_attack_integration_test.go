//go:build integration

package runner

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kwait "k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

// The attacks of refresher_attack_integration_test.go on the watching
// refresher, whose identity also watches, holds a Lease and (with
// refresh_recover_pods) deletes pods: impersonating its ServiceAccount, it
// must not read other secrets, take another refresher's Lease, or delete
// any pod but a controller-owned one stuck on an image pull in a namespace
// it covers.

// refusedEventually reports whether attempt is refused before wait ends
// (controlplanetest.Context, shared by a test's attempts): admission
// policies load asynchronously, so an acceptance is final only then, and
// once wait has ended every later attempt is judged at once. attempt must
// change nothing (a dry run or a read).
func refusedEventually(t *testing.T, wait context.Context, attempt func(ctx context.Context) error) bool {
	t.Helper()
	_ = kwait.PollUntilContextCancel(wait, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		return attempt(ctx) != nil && ctx.Err() == nil, nil
	})
	return attempt(t.Context()) != nil
}

// Attack: the watching refresher's identity lists or watches secrets of
// another name, cluster-wide or in a covered namespace. Its own secret name
// may be watched (by metadata.name), nothing else.
func TestRefresherWatchAttackReadsOtherSecrets(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	for _, kind := range []string{"named", "glob"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			refreshNS, covered, coverage := coverageOfKind(t, cs, kind, "watk1")
			installRefresherFor(t, cp, refreshNS, coverage, map[string]string{config.InRefreshMode: config.RefreshWatch, config.InRefreshRecoverPods: "true"})
			as := impersonate(t, cp, saUser(refreshNS, pullerRefresher))
			ctx := t.Context()
			byName := func(name string) metav1.ListOptions {
				return metav1.ListOptions{FieldSelector: "metadata.name=" + name}
			}
			for _, ns := range []string{metav1.NamespaceAll, covered} {
				for what, opts := range map[string]metav1.ListOptions{"every secret": {}, "another name": byName("other-secret")} {
					if _, err := as.CoreV1().Secrets(ns).List(ctx, opts); !apierrors.IsForbidden(err) {
						t.Errorf("list %s in %q: %v, want Forbidden", what, ns, err)
					}
					w, err := as.CoreV1().Secrets(ns).Watch(ctx, opts)
					if err == nil {
						w.Stop()
					}
					if !apierrors.IsForbidden(err) {
						t.Errorf("watch %s in %q: %v, want Forbidden", what, ns, err)
					}
				}
			}
			// What it needs still works: its own name, where it writes.
			ownNS := covered
			if kind == "glob" {
				ownNS = metav1.NamespaceAll
			}
			w, err := as.CoreV1().Secrets(ownNS).Watch(ctx, byName(config.DefaultSecretName))
			if err != nil {
				t.Fatalf("the refresher cannot watch its own secret name in %q: %v", ownNS, err)
			}
			w.Stop()
		})
	}
}

// Attack: the watching refresher's identity lists or watches ConfigMaps
// of refresh_namespace other than its own (another refresher's coverage,
// whatever else lives there), or any ConfigMap across the cluster: it may
// list and watch its own by name (a metadata.name field selector), nothing
// else.
func TestRefresherWatchAttackReadsOtherConfigMaps(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	refreshNS := freshName("ps-watk4")
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), refreshNS, metav1.DeleteOptions{}) })
	prefix := freshName("watk4")
	newNamespace(t, cs, prefix+"-a")
	installRefresherFor(t, cp, refreshNS, prefix+"-*", map[string]string{config.InRefreshMode: config.RefreshWatch})
	other := refresherObjectName(fakestack.ImpersonatedSA, "other-pull-secret")
	installRefresherFor(t, cp, refreshNS, prefix+"-*", map[string]string{config.InRefreshMode: config.RefreshWatch, config.InSecretName: "other-pull-secret"})
	if _, err := cs.CoreV1().ConfigMaps(refreshNS).Create(t.Context(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "unrelated"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	as := impersonate(t, cp, saUser(refreshNS, pullerRefresher))
	ctx := t.Context()
	byName := func(name string) metav1.ListOptions {
		return metav1.ListOptions{FieldSelector: "metadata.name=" + name}
	}
	attempts := map[string]metav1.ListOptions{"every ConfigMap": {}, "another refresher's": byName(other), "an unrelated one": byName("unrelated")}
	for _, ns := range []string{refreshNS, metav1.NamespaceAll} {
		for what, opts := range attempts {
			if _, err := as.CoreV1().ConfigMaps(ns).List(ctx, opts); !apierrors.IsForbidden(err) {
				t.Errorf("list %s in %q: %v, want Forbidden", what, ns, err)
			}
			w, err := as.CoreV1().ConfigMaps(ns).Watch(ctx, opts)
			if err == nil {
				w.Stop()
			}
			if !apierrors.IsForbidden(err) {
				t.Errorf("watch %s in %q: %v, want Forbidden", what, ns, err)
			}
		}
	}
	for _, name := range []string{other, "unrelated"} {
		if _, err := as.CoreV1().ConfigMaps(refreshNS).Get(ctx, name, metav1.GetOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("get ConfigMap %s: %v, want Forbidden", name, err)
		}
	}
	// What it needs still works: its own ConfigMap, by name.
	list, err := as.CoreV1().ConfigMaps(refreshNS).List(ctx, byName(pullerRefresher))
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("the refresher cannot list its own ConfigMap by name: %v", err)
	}
	w, err := as.CoreV1().ConfigMaps(refreshNS).Watch(ctx, byName(pullerRefresher))
	if err != nil {
		t.Fatalf("the refresher cannot watch its own ConfigMap by name: %v", err)
	}
	w.Stop()
}

// Attack: a refresher's identity takes another refresher's Lease (in the
// same refresh_namespace) to stop it from leading: it may neither create
// it first, nor read or renew it once it exists, nor hold a Lease
// elsewhere.
func TestRefresherWatchAttackTakesAnotherLease(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	refreshNS := freshName("ps-watk2")
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), refreshNS, metav1.DeleteOptions{}) })
	covered := newNamespace(t, cs, freshName("watk2"))
	watch := map[string]string{config.InRefreshMode: config.RefreshWatch}
	installRefresherFor(t, cp, refreshNS, covered, watch)
	// A second refresher in the same namespace: the same Google account
	// for another secret name.
	other := refresherObjectName(fakestack.ImpersonatedSA, "other-pull-secret")
	installRefresherFor(t, cp, refreshNS, covered, map[string]string{config.InRefreshMode: config.RefreshWatch, config.InSecretName: "other-pull-secret"})
	attacker := impersonate(t, cp, saUser(refreshNS, pullerRefresher))
	dry := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	if !refusedEventually(t, controlplanetest.Context(t), func(ctx context.Context) error {
		_, err := attacker.CoordinationV1().Leases(refreshNS).Create(ctx, leaseFor(refreshNS, other, "attacker"), dry)
		return err
	}) {
		t.Errorf("the refresher's identity may create another refresher's Lease %s", other)
	}
	if _, err := attacker.CoordinationV1().Leases(covered).Create(t.Context(), leaseFor(covered, pullerRefresher, "attacker"), dry); err == nil {
		t.Errorf("the refresher's identity may create a Lease in covered namespace %s", covered)
	}
	// Once the other refresher holds it: not readable, not renewable.
	victim := impersonate(t, cp, saUser(refreshNS, other))
	takeLease(t, victim, refreshNS, other)
	lease, err := cs.CoordinationV1().Leases(refreshNS).Get(t.Context(), other, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := attacker.CoordinationV1().Leases(refreshNS).Get(t.Context(), other, metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("get another refresher's Lease: %v, want Forbidden", err)
	}
	holder := "attacker"
	lease.Spec.HolderIdentity = &holder
	if _, err := attacker.CoordinationV1().Leases(refreshNS).Update(t.Context(), lease, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}}); !apierrors.IsForbidden(err) {
		t.Errorf("update another refresher's Lease: %v, want Forbidden", err)
	}
	// Its own Lease still works.
	takeLease(t, attacker, refreshNS, pullerRefresher)
}

// stuckPod creates a pod in ns (owned by a controller unless bare) and,
// unless running, gives it the status kubelet gives a pod whose image
// pull failed.
func stuckPod(t *testing.T, cs kubernetes.Interface, ns string, owned, stuck bool) *corev1.Pod {
	t.Helper()
	ctx := t.Context()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "app-"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "us-docker.pkg.dev/p/r/app:1"}}}}
	if owned {
		// Any object may be a pod's controlling owner; a ConfigMap keeps
		// the garbage collector content and no controller races the test.
		owner, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "owner-"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		yes := true
		pod.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID, Controller: &yes}}
		t.Cleanup(func() {
			_ = cs.CoreV1().ConfigMaps(ns).Delete(context.Background(), owner.Name, metav1.DeleteOptions{})
		})
	}
	pod, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Pods(ns).Delete(context.Background(), pod.Name, metav1.DeleteOptions{}) })
	state := corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}
	if stuck {
		state = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "Back-off pulling image"}}
	}
	pod.Status.Phase = corev1.PodPending
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Image: pod.Spec.Containers[0].Image, State: state}}
	if pod, err = cs.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	return pod
}

// Attack: with refresh_recover_pods the refresher's identity deletes pods
// that are not stuck on an image pull, or not recreated by a controller,
// or not in a namespace it covers; without it, it deletes no pod at all.
// Every delete is a dry run: a hole is proven without damage.
func TestRefresherWatchAttackDeletesPods(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	for _, tc := range []struct {
		kind    string
		recover bool
	}{{"named", true}, {"glob", true}, {"named", false}, {"glob", false}} {
		name := tc.kind + map[bool]string{true: ", recover pods", false: ", no pod recovery"}[tc.recover]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			refreshNS, covered, coverage := coverageOfKind(t, cs, tc.kind, "watk3")
			uncovered := controlplanetest.Namespace(t, cp)
			installRefresherFor(t, cp, refreshNS, coverage, map[string]string{config.InRefreshMode: config.RefreshWatch,
				config.InRefreshRecoverPods: map[bool]string{true: "true", false: "false"}[tc.recover]})
			as := impersonate(t, cp, saUser(refreshNS, pullerRefresher))
			del := func(p *corev1.Pod) func(context.Context) error {
				return func(ctx context.Context) error {
					return as.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}})
				}
			}
			wait := controlplanetest.Context(t)
			for what, p := range map[string]*corev1.Pod{
				"a running controller-owned pod":              stuckPod(t, cs, covered, true, false),
				"a stuck bare pod":                            stuckPod(t, cs, covered, false, true),
				"a stuck controller-owned pod, uncovered":     stuckPod(t, cs, uncovered, true, true),
				"a stuck controller-owned pod in kube-system": stuckPod(t, cs, "kube-system", true, true),
			} {
				if !refusedEventually(t, wait, del(p)) {
					t.Errorf("the refresher's identity may delete %s (%s/%s)", what, p.Namespace, p.Name)
				}
			}
			recoverable := stuckPod(t, cs, covered, true, true)
			err := del(recoverable)(t.Context())
			switch {
			case tc.recover && err != nil:
				t.Errorf("pod recovery cannot delete a stuck controller-owned pod in covered %s: %v", covered, err)
			case !tc.recover && !apierrors.IsForbidden(err):
				t.Errorf("without refresh_recover_pods, deleting a stuck controller-owned pod in %s: %v, want Forbidden", covered, err)
			}
			if _, err := as.CoreV1().Pods(covered).List(t.Context(), metav1.ListOptions{}); (err == nil) != tc.recover {
				t.Errorf("recover pods %v: listing pods in %s: %v", tc.recover, covered, err)
			}
			// Events: on its failures in refresh_namespace, on recovered
			// pods' owners in covered namespaces, nowhere else.
			event := func(ns string) func(context.Context) error {
				return func(ctx context.Context) error {
					ev := &corev1.Event{ObjectMeta: metav1.ObjectMeta{GenerateName: "attack-", Namespace: ns},
						InvolvedObject: corev1.ObjectReference{Kind: "ConfigMap", Namespace: ns, Name: "x"}, Reason: "Attack", Message: "m", Type: corev1.EventTypeWarning}
					_, err := as.CoreV1().Events(ns).Create(ctx, ev, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
					return err
				}
			}
			if !refusedEventually(t, wait, event(uncovered)) {
				t.Errorf("the refresher's identity may create Events in uncovered %s", uncovered)
			}
			for ns, want := range map[string]bool{refreshNS: true, covered: tc.recover} {
				if err := event(ns)(t.Context()); (err == nil) != want {
					t.Errorf("recover pods %v: an Event in %s: %v", tc.recover, ns, err)
				}
			}
		})
	}
}
