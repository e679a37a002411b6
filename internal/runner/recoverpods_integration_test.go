//go:build integration

package runner

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/pullsecret/pullsecret/internal/actions"
	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/container"
	"github.com/pullsecret/pullsecret/internal/podrecovery"
	"github.com/pullsecret/pullsecret/internal/testing/check"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
)

// lockedLog is a log the watching refresher writes from its goroutines
// while the test reads it.
type lockedLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// stuckPodIn creates a pod of ServiceAccount default pulling from
// Artifact Registry, owned by owner when set, and gives it the status a
// kubelet reports when the pull is refused (no kubelet here: the admin
// writes the status subresource).
func stuckPodIn(t *testing.T, cs kubernetes.Interface, ns, name string, owner *metav1.OwnerReference) *corev1.Pod {
	t.Helper()
	const image = "us-docker.pkg.dev/proj/repo/app:1"
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}}}
	if owner != nil {
		pod.OwnerReferences = []metav1.OwnerReference{*owner}
	}
	created, err := cs.CoreV1().Pods(ns).Create(t.Context(), pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(created.Spec.ImagePullSecrets) != 0 {
		t.Fatalf("pod %s was admitted with pull secrets %v: it is not stuck for lack of the reference", name, created.Spec.ImagePullSecrets)
	}
	created.Status.Phase = corev1.PodPending
	created.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Image: image,
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: podrecovery.ReasonImagePullBackOff}}}}
	updated, err := cs.CoreV1().Pods(ns).UpdateStatus(t.Context(), created, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return updated
}

// A pod stuck before the reference existed, in a namespace created after
// the install, is deleted once the watching refresher — installed with
// refresh_mode: watch and refresh_recover_pods, run as its own
// ServiceAccount with its Deployment's arguments — has added the
// reference, with an Event on its owner; a bare pod stuck the same way is
// kept and reported. The API server refuses it nothing.
func TestWatchingRefresherRecoversStuckPod(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	ctx := controlplanetest.Context(t)
	refreshNS := freshName("ps-recover")
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), refreshNS, metav1.DeleteOptions{}) })
	provider, _ := trustCluster(t, cp, refreshNS)
	prefix := freshName("rp")
	installRefresherFor(t, cp, refreshNS, prefix+"-*", map[string]string{config.InRefreshMode: config.RefreshWatch,
		config.InRefreshRecoverPods: "true", config.InRefreshWorkloadIdentityProvider: provider})

	// A namespace the glob covers, created after the install: its pods
	// are admitted while the default ServiceAccount has no reference.
	ns := newNamespace(t, cs, prefix+"-1")
	labels := map[string]string{"app": "web"}
	rs, err := cs.AppsV1().ReplicaSets(ns).Create(ctx, &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.ReplicaSetSpec{Replicas: new(int32), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "us-docker.pkg.dev/proj/repo/app:1"}}}}}},
		metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	stuck := stuckPodIn(t, cs, ns, "web-stuck", &metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID, Controller: &yes})
	bare := stuckPodIn(t, cs, ns, "bare-stuck", nil)

	dep, err := cs.AppsV1().Deployments(refreshNS).Get(ctx, pullerRefresher, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	args := dep.Spec.Template.Spec.Containers[0].Args
	if !slices.Contains(args, "--recover-pods") {
		t.Fatalf("the Deployment's arguments %q lack --recover-pods", args)
	}
	a := parseRefresherArgs(t, args[:slices.Index(args, "--watch")])
	proj := dep.Spec.Template.Spec.Volumes[0].Projected.Sources[0].ServiceAccountToken
	tr, err := cs.CoreV1().ServiceAccounts(refreshNS).CreateToken(ctx, pullerRefresher, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{Audiences: []string{proj.Audience}, ExpirationSeconds: proj.ExpirationSeconds},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a.TokenFile = filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(a.TokenFile, []byte(tr.Status.Token), 0o600); err != nil {
		t.Fatal(err)
	}
	id := tokenIdentity(t, cp, cs, refreshNS, pullerRefresher)
	a.Watch = &WatchArgs{Kubeconfig: id.kubeconfig, RecoverPods: true, LeaderElect: true}
	getenv := check.Getenv(map[string]string{"POD_NAME": "recover-0"})
	log := &lockedLog{}
	refused := &refusals{}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- RunWatchingRefresher(runCtx, a, Deps{Reporter: actions.New(getenv, log, log), Getenv: getenv,
			Host: container.Host{InContainer: func() bool { return false }}, Version: "test", WrapTransport: refused.wrap})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("the watching refresher ended with %v\n%s", err, log)
		}
		if r := refused.list(); len(r) > 0 {
			t.Errorf("the API server refused the watching refresher %q", r)
		}
		assertNoSecrets(t, run{log: log.String()})
	}()

	err = wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().Pods(ns).Get(ctx, stuck.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		t.Fatalf("the stuck pod of the ReplicaSet was not deleted: %v\n%s", err, log)
	}
	if sa := getSA(t, cs, ns, "default"); !slices.Contains(pullSecretNames(sa), config.DefaultSecretName) {
		t.Errorf("deleted the pod, but the ServiceAccount does not reference the secret: %v", pullSecretNames(sa))
	}
	events := func(uid string) []corev1.Event {
		list, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.uid=" + uid})
		if err != nil {
			t.Fatal(err)
		}
		return list.Items
	}
	if ev := events(string(rs.UID)); len(ev) != 1 || ev[0].Reason != podrecovery.ReasonPodRecovered || !strings.Contains(ev[0].Message, stuck.Name) {
		t.Errorf("Events on the ReplicaSet: %+v; want one %s naming %s", ev, podrecovery.ReasonPodRecovered, stuck.Name)
	}
	err = wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		return len(events(string(bare.UID))) > 0, nil
	})
	if err != nil {
		t.Fatalf("the bare pod was not reported: %v\n%s", err, log)
	}
	if _, err := cs.CoreV1().Pods(ns).Get(ctx, bare.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("the bare pod is gone (%v): nothing would recreate it", err)
	}
}
