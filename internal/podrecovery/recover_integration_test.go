//go:build integration

package podrecovery

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pullsecret/pullsecret/internal/kube"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
)

func TestMain(m *testing.M) { os.Exit(controlplanetest.Run(m)) }

const arImage = "us-docker.pkg.dev/proj/repo/app:1"

// rig is one namespace with a ReplicaSet to own pods (replicas 0: no
// controller-manager here runs the ReplicaSet controller, and the garbage
// collector leaves a pod alone while its owner exists), and the admin's
// client to set up what the recoverer then finds.
type rig struct {
	t     *testing.T
	cp    *controlplane.ControlPlane
	admin kubernetes.Interface
	ns    string
	owner metav1.OwnerReference
}

func newRig(t *testing.T) *rig {
	t.Helper()
	cp := controlplanetest.Shared(t)
	admin, err := kubernetes.NewForConfig(cp.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, cp: cp, admin: admin, ns: controlplanetest.Namespace(t, cp)}
	labels := map[string]string{"app": "web"}
	rs, err := admin.AppsV1().ReplicaSets(r.ns).Create(controlplanetest.Context(t), &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web-5d9f"},
		Spec: appsv1.ReplicaSetSpec{Replicas: new(int32), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: arImage}}}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating the owner: %v", err)
	}
	yes := true
	r.owner = metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID, Controller: &yes}
	return r
}

// serviceAccount creates name, referencing the pull secret or not.
func (r *rig) serviceAccount(name string, refs ...string) {
	r.t.Helper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}
	for _, ref := range refs {
		sa.ImagePullSecrets = append(sa.ImagePullSecrets, corev1.LocalObjectReference{Name: ref})
	}
	if _, err := r.admin.CoreV1().ServiceAccounts(r.ns).Create(controlplanetest.Context(r.t), sa, metav1.CreateOptions{}); err != nil {
		r.t.Fatalf("creating ServiceAccount %s: %v", name, err)
	}
}

// reference adds the pull secret to ServiceAccount name, as the refresher
// does after the pods were created.
func (r *rig) reference(name string) {
	r.t.Helper()
	ctx := controlplanetest.Context(r.t)
	sa, err := r.admin.CoreV1().ServiceAccounts(r.ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		r.t.Fatal(err)
	}
	sa.ImagePullSecrets = append(sa.ImagePullSecrets, corev1.LocalObjectReference{Name: secret})
	if _, err := r.admin.CoreV1().ServiceAccounts(r.ns).Update(ctx, sa, metav1.UpdateOptions{}); err != nil {
		r.t.Fatal(err)
	}
}

type podSpec struct {
	name, sa, image string
	owned           bool
	pullSecrets     []string
	// waiting is the container's waiting reason; "" means running.
	waiting string
}

// pod creates a pod and sets its status as a kubelet would (there is no
// kubelet here: the admin writes the status subresource).
func (r *rig) pod(p podSpec) *corev1.Pod {
	r.t.Helper()
	ctx := controlplanetest.Context(r.t)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: p.name, Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{ServiceAccountName: p.sa, Containers: []corev1.Container{{Name: "app", Image: p.image}}}}
	if p.owned {
		pod.OwnerReferences = []metav1.OwnerReference{r.owner}
	}
	for _, s := range p.pullSecrets {
		pod.Spec.ImagePullSecrets = append(pod.Spec.ImagePullSecrets, corev1.LocalObjectReference{Name: s})
	}
	created, err := r.admin.CoreV1().Pods(r.ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		r.t.Fatalf("creating pod %s: %v", p.name, err)
	}
	st := corev1.ContainerStatus{Name: "app", Image: p.image}
	created.Status.Phase = corev1.PodPending
	if p.waiting != "" {
		st.State.Waiting = &corev1.ContainerStateWaiting{Reason: p.waiting, Message: "Back-off pulling image"}
	} else {
		created.Status.Phase = corev1.PodRunning
		st.Ready, st.Started = true, &[]bool{true}[0]
		st.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.Now()}
	}
	created.Status.ContainerStatuses = []corev1.ContainerStatus{st}
	updated, err := r.admin.CoreV1().Pods(r.ns).UpdateStatus(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		r.t.Fatalf("setting pod %s's status: %v", p.name, err)
	}
	return updated
}

// recoverer is a Recoverer whose client is the refresher's identity
// holding only the rules the watch-mode RBAC grants for pod recovery in a
// covered namespace: pods list and delete, events create, and get on
// ServiceAccounts.
func (r *rig) recoverer(o Options) (*Recoverer, *logs) {
	r.t.Helper()
	ctx := controlplanetest.Context(r.t)
	user := "system:serviceaccount:pullsecret-system:pullsecret-refresher-0123456789"
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "recover-pods"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list", "delete"}},
		{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create"}},
		{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: []string{"get"}},
	}}
	if _, err := r.admin.RbacV1().Roles(r.ns).Create(ctx, role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		r.t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "recover-pods"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: user}}}
	if _, err := r.admin.RbacV1().RoleBindings(r.ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		r.t.Fatal(err)
	}
	rc, err := r.cp.RESTConfigFor(user, []string{"system:serviceaccounts", "system:authenticated"})
	if err != nil {
		r.t.Fatal(err)
	}
	if o.Client, err = kube.NewClient(rc); err != nil {
		r.t.Fatal(err)
	}
	l := &logs{}
	o.SecretName, o.Registries, o.Logf = secret, registries, l.add
	return New(o), l
}

type logs struct {
	mu    sync.Mutex
	lines []string
}

func (l *logs) add(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func (r *rig) podNames() []string {
	r.t.Helper()
	list, err := r.admin.CoreV1().Pods(r.ns).List(controlplanetest.Context(r.t), metav1.ListOptions{})
	if err != nil {
		r.t.Fatal(err)
	}
	var names []string
	for _, p := range list.Items {
		names = append(names, p.Name)
	}
	slices.Sort(names)
	return names
}

// events are the reasons and messages of the Events about object uid.
func (r *rig) events(uid string) []corev1.Event {
	r.t.Helper()
	list, err := r.admin.CoreV1().Events(r.ns).List(controlplanetest.Context(r.t), metav1.ListOptions{FieldSelector: "involvedObject.uid=" + uid})
	if err != nil {
		r.t.Fatal(err)
	}
	return list.Items
}

// Only the controller-owned pod stuck on one of the registries, created
// before its ServiceAccount referenced the secret, is deleted, with an
// Event on its owner; a bare one is reported on itself; every pod that
// fails one condition is kept.
func TestRecover(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.serviceAccount("builder")
	r.serviceAccount("late")
	stuck := r.pod(podSpec{name: "stuck-owned", sa: "builder", image: arImage, owned: true, waiting: ReasonImagePullBackOff})
	bare := r.pod(podSpec{name: "stuck-bare", sa: "builder", image: arImage, waiting: ReasonErrImagePull})
	r.pod(podSpec{name: "running", sa: "builder", image: arImage, owned: true})
	r.pod(podSpec{name: "other-host", sa: "builder", image: "ghcr.io/acme/app:1", owned: true, waiting: ReasonImagePullBackOff})
	r.pod(podSpec{name: "has-secret", sa: "builder", image: arImage, owned: true, pullSecrets: []string{secret}, waiting: ReasonImagePullBackOff})
	r.pod(podSpec{name: "sa-not-referencing", sa: "late", image: arImage, owned: true, waiting: ReasonImagePullBackOff})
	rec, log := r.recoverer(Options{})
	ctx := controlplanetest.Context(t)

	// Before the reference exists, nothing qualifies.
	if n, err := rec.Recover(ctx, r.ns); n != 0 || err != nil {
		t.Fatalf("before the reference: recovered %d, %v; want 0, nil", n, err)
	}
	r.reference("builder")
	n, err := rec.Recover(ctx, r.ns)
	if n != 1 || err != nil {
		t.Fatalf("recovered %d, %v; want 1, nil\nlog:\n%s", n, err, log)
	}
	want := []string{"has-secret", "other-host", "running", "sa-not-referencing", "stuck-bare"}
	if got := r.podNames(); !slices.Equal(got, want) {
		t.Errorf("pods left %v, want %v (only %s deleted)", got, want, stuck.Name)
	}
	ev := r.events(string(r.owner.UID))
	if len(ev) != 1 || ev[0].Reason != ReasonPodRecovered || ev[0].InvolvedObject.Kind != "ReplicaSet" ||
		!strings.Contains(ev[0].Message, stuck.Name) || !strings.Contains(ev[0].Message, secret) {
		t.Errorf("Events on the owner: %+v; want one %s naming the pod and the secret", ev, ReasonPodRecovered)
	}
	ev = r.events(string(bare.UID))
	if len(ev) != 1 || ev[0].Reason != ReasonPodStuck || ev[0].Type != corev1.EventTypeWarning {
		t.Errorf("Events on the bare pod: %+v; want one %s warning", ev, ReasonPodStuck)
	}
	if !strings.Contains(log.String(), "stuck-bare") {
		t.Errorf("the bare pod is not in the log:\n%s", log)
	}

	// Again: nothing left to delete, and the bare pod is not reported twice.
	if n, err := rec.Recover(ctx, r.ns); n != 0 || err != nil {
		t.Errorf("second pass: recovered %d, %v; want 0, nil", n, err)
	}
	if ev := r.events(string(bare.UID)); len(ev) != 1 {
		t.Errorf("the bare pod was reported %d times; want once", len(ev))
	}
}

// At most PerMinute deletions: the rest wait for the bucket to refill.
func TestRecoverRateLimited(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.serviceAccount("builder")
	for i := range 4 {
		r.pod(podSpec{name: fmt.Sprintf("stuck-%d", i), sa: "builder", image: "gcr.io/proj/app", owned: true, waiting: ReasonImagePullBackOff})
	}
	r.reference("builder")
	now := time.Unix(1_000_000, 0)
	rec, log := r.recoverer(Options{PerMinute: 2, Now: func() time.Time { return now }})
	ctx := controlplanetest.Context(t)
	if n, err := rec.Recover(ctx, r.ns); n != 2 || err != nil {
		t.Fatalf("recovered %d, %v; want 2 (the limit), nil", n, err)
	}
	if got := len(r.podNames()); got != 2 {
		t.Errorf("%d pods left, want 2", got)
	}
	if !strings.Contains(log.String(), "2 stuck pods left for a later cycle") {
		t.Errorf("the limit is not logged:\n%s", log)
	}
	if n, _ := rec.Recover(ctx, r.ns); n != 0 {
		t.Errorf("same minute: recovered %d more; want 0", n)
	}
	now = now.Add(DefaultOwnerWindow)
	if n, err := rec.Recover(ctx, r.ns); n != 2 || err != nil {
		t.Errorf("after the owner's window: recovered %d, %v; want 2, nil", n, err)
	}
}

// A pod that changed after it was read is left alone: the deletion is
// conditional on the uid and resourceVersion judged.
func TestDeletePodAtPreconditions(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	r.serviceAccount("builder")
	pod := r.pod(podSpec{name: "stuck", sa: "builder", image: arImage, owned: true, waiting: ReasonImagePullBackOff})
	c, err := kube.NewClient(r.cp.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx := controlplanetest.Context(t)
	pod.Labels["changed"] = "yes"
	changed, err := r.admin.CoreV1().Pods(r.ns).Update(ctx, pod, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DeletePodAt(ctx, r.ns, pod.Name, pod.UID, pod.ResourceVersion); !apierrors.IsConflict(err) {
		t.Errorf("delete at a stale resourceVersion: %v; want a Conflict", err)
	}
	if err := c.DeletePodAt(ctx, r.ns, pod.Name, "other-uid", changed.ResourceVersion); !apierrors.IsConflict(err) {
		t.Errorf("delete of another uid: %v; want a Conflict", err)
	}
	if err := c.DeletePodAt(ctx, r.ns, pod.Name, pod.UID, changed.ResourceVersion); err != nil {
		t.Errorf("delete at the current state: %v", err)
	}
}
