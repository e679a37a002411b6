package podrecovery

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

const secret = "gcr-pull"

var isController = func() *bool { b := true; return &b }()

var registries = []string{"gcr.io", "*.gcr.io", "*-docker.pkg.dev"}

var rsOwner = metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-5d9f", UID: "rs-uid", Controller: isController}

// stuckPod is a pod that qualifies; each case below breaks one condition.
func stuckPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-5d9f-abcde", Namespace: "team-a", UID: "pod-uid",
			OwnerReferences: []metav1.OwnerReference{rsOwner}},
		Spec: corev1.PodSpec{ServiceAccountName: "builder",
			Containers: []corev1.Container{{Name: "app", Image: "us-docker.pkg.dev/proj/repo/app:1"}}},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "app", Image: "us-docker.pkg.dev/proj/repo/app:1",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: ReasonImagePullBackOff}}}}},
	}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	referencing := map[string]*corev1.ServiceAccount{
		"builder": {ImagePullSecrets: []corev1.LocalObjectReference{{Name: "other"}, {Name: secret}}},
		"default": {ImagePullSecrets: []corev1.LocalObjectReference{{Name: secret}}},
		"plain":   {ImagePullSecrets: []corev1.LocalObjectReference{{Name: "other"}}},
	}
	recover := Decision{Action: Delete, Why: WhyRecover, Container: "app", Image: "us-docker.pkg.dev/proj/repo/app:1",
		Host: "us-docker.pkg.dev", Reason: ReasonImagePullBackOff, ServiceAccount: "builder", Owner: &rsOwner}
	stuckOn := func(d Decision) Decision { d.Action, d.Owner = Skip, nil; return d }
	for _, tc := range []struct {
		name string
		edit func(*corev1.Pod)
		want Decision
	}{
		{"stuck, controller-owned: delete", func(*corev1.Pod) {}, recover},
		{"ErrImagePull counts too", func(p *corev1.Pod) {
			p.Status.ContainerStatuses[0].State.Waiting.Reason = ReasonErrImagePull
		}, func() Decision { d := recover; d.Reason = ReasonErrImagePull; return d }()},
		{"stuck init container", func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "migrate", Image: "eu.gcr.io/proj/migrate"}}
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "migrate",
				State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: ReasonErrImagePull}}}}
			p.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}
		}, func() Decision {
			d := recover
			d.Container, d.Image, d.Host, d.Reason = "migrate", "eu.gcr.io/proj/migrate", "eu.gcr.io", ReasonErrImagePull
			return d
		}()},
		{"default ServiceAccount when none named", func(p *corev1.Pod) { p.Spec.ServiceAccountName = "" },
			func() Decision { d := recover; d.ServiceAccount = "default"; return d }()},
		{"StatefulSet owner", func(p *corev1.Pod) {
			p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "db", UID: "ss", Controller: isController}}
		}, func() Decision {
			d := recover
			d.Owner = &metav1.OwnerReference{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "db", UID: "ss", Controller: isController}
			return d
		}()},

		// Each condition's negative case.
		{"being deleted", func(p *corev1.Pod) { p.DeletionTimestamp = &metav1.Time{Time: time.Unix(1, 0)} }, Decision{Why: WhyDeleting}},
		{"already has the secret", func(p *corev1.Pod) {
			p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "other"}, {Name: secret}}
		}, Decision{Why: WhyHasSecret}},
		{"running", func(p *corev1.Pod) {
			p.Status.ContainerStatuses[0].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
		}, Decision{Why: WhyNotStuck}},
		{"waiting for another reason", func(p *corev1.Pod) {
			p.Status.ContainerStatuses[0].State.Waiting.Reason = "CrashLoopBackOff"
		}, Decision{Why: WhyNotStuck}},
		{"no status yet", func(p *corev1.Pod) { p.Status = corev1.PodStatus{} }, Decision{Why: WhyNotStuck}},
		{"image on another registry", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "ghcr.io/acme/app:1" }, Decision{Why: WhyNotOurHost}},
		{"Docker Hub image", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "nginx:1.27" }, Decision{Why: WhyNotOurHost}},
		{"registry host with another port", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "gcr.io:5000/proj/app" }, Decision{Why: WhyNotOurHost}},
		{"wildcard spans one label only", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "a.b.gcr.io/proj/app" }, Decision{Why: WhyNotOurHost}},
		{"ServiceAccount does not reference yet", func(p *corev1.Pod) { p.Spec.ServiceAccountName = "plain" },
			func() Decision { d := stuckOn(recover); d.Why, d.ServiceAccount = WhyNoReference, "plain"; return d }()},
		{"ServiceAccount absent or unreadable", func(p *corev1.Pod) { p.Spec.ServiceAccountName = "gone" },
			func() Decision { d := stuckOn(recover); d.Why, d.ServiceAccount = WhyNoReference, "gone"; return d }()},
		{"pull secrets from the template, not the ServiceAccount", func(p *corev1.Pod) {
			p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "team-registry"}}
		}, func() Decision { d := stuckOn(recover); d.Why = WhyOwnSecrets; return d }()},
		{"pull secrets copied from the ServiceAccount before the reference", func(p *corev1.Pod) {
			p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "other"}}
		}, recover},
		{"bare pod: report only", func(p *corev1.Pod) { p.OwnerReferences = nil },
			func() Decision { d := recover; d.Action, d.Why, d.Owner = Report, WhyBare, nil; return d }()},
		{"owner that is not the controller: report only", func(p *corev1.Pod) {
			p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "x", UID: "cm"}}
		}, func() Decision { d := recover; d.Action, d.Why, d.Owner = Report, WhyBare, nil; return d }()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pod := stuckPod()
			tc.edit(pod)
			got := Decide(pod, secret, registries, func(name string) *corev1.ServiceAccount { return referencing[name] })
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Decide (-want +got):\n%s", diff)
			}
		})
	}
}

// A pod that fails on its own conditions costs no ServiceAccount read.
func TestDecideReadsServiceAccountLast(t *testing.T) {
	t.Parallel()
	pod := stuckPod()
	pod.Status.ContainerStatuses[0].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	Decide(pod, secret, registries, func(string) *corev1.ServiceAccount {
		t.Fatal("read a ServiceAccount for a pod that is not stuck")
		return nil
	})
}

func TestImageHost(t *testing.T) {
	t.Parallel()
	for image, want := range map[string]string{
		"nginx":                          "docker.io",
		"library/nginx:1":                "docker.io",
		"gcr.io/p/a":                     "gcr.io",
		"US-Docker.pkg.dev/p/r/a@sha256": "us-docker.pkg.dev",
		"localhost/a":                    "localhost",
		"registry:5000/a":                "registry:5000",
	} {
		if got := ImageHost(image); got != want {
			t.Errorf("ImageHost(%q) = %q, want %q", image, got, want)
		}
	}
}

// The rate limits: N deletions a minute across owners, and an owner's
// stuck pods in one pass, then none until its window ends.
func TestAdmit(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_000_000, 0)
	r := New(Options{PerMinute: 3, OwnerWindow: 10 * time.Minute, Now: func() time.Time { return now }})
	pass := map[types.UID]bool{}
	var got []bool
	for _, owner := range []types.UID{"a", "a", "b", "c"} {
		ok, _ := r.admit(owner, pass)
		got = append(got, ok)
	}
	if diff := cmp.Diff([]bool{true, true, true, false}, got); diff != "" {
		t.Errorf("first pass (-want +got):\n%s", diff)
	}
	now = now.Add(time.Minute) // the bucket is full again
	if ok, why := r.admit("a", map[types.UID]bool{}); ok || why != "owner" {
		t.Errorf("owner a again within its window: admitted %v (%s); want refused for the owner", ok, why)
	}
	if ok, _ := r.admit("c", map[types.UID]bool{}); !ok {
		t.Error("owner c, refused only by the rate before, is refused after the bucket refilled")
	}
	now = now.Add(10 * time.Minute)
	if ok, _ := r.admit("a", map[types.UID]bool{}); !ok {
		t.Error("owner a refused after its window ended")
	}
}
