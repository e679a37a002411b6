//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/kube"
	"github.com/pullsecret/pullsecret/internal/refresher"
	"github.com/pullsecret/pullsecret/internal/testing/fakegoogle"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

// watchingRefresherOnKind: refresh_mode: watch on kind. The action installs
// the refresher as a Deployment (two replicas, one leader); a pod stuck in
// ImagePullBackOff before its ServiceAccount referenced the secret is
// recovered (its ReplicaSet recreates it with the secret) and pulls; a
// namespace created with kubectl after installation gets the secret and
// the reference without any step running, and its pod pulls; deleting the
// leader pod hands the Lease over and the secrets stay fresh past the
// expiry of every token written before; teardown removes every object.
// Durations are logged (the closing measurements), never asserted.
func watchingRefresherOnKind(t *testing.T) {
	ctx := context.Background()
	refreshNS := "ps-watch-" + randomSuffix()
	t.Cleanup(func() { deleteNamespace(refreshNS) })
	if _, err := e.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: refreshNS, Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest",
	}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	image := refresherImage(t)
	iss, err := kube.ReadIssuer(ctx, e.client.CoreV1().RESTClient())
	if err != nil {
		t.Fatal(err)
	}
	provider := "projects/123456/locations/global/workloadIdentityPools/k8s/providers/watch-" + randomSuffix()
	if err := e.stack.Google.AddProvider(fakegoogle.Provider{Name: provider, IssuerURI: iss.URL, JWKSJSON: iss.JWKS,
		AttributeMapping: map[string]string{"google.subject": refresher.SubjectMapping(provider)},
		RequiredClaims:   map[string]string{"sub": refresher.KubernetesSubject(refreshNS, refresherName)}}); err != nil {
		t.Fatal(err)
	}
	if err := e.stack.Google.Grant(fakestack.ImpersonatedSA, refresher.RefresherPrincipal(provider, refreshNS, refresherName)); err != nil {
		t.Fatal(err)
	}

	// A workload that started before any pull secret existed: its pod
	// is stuck in ImagePullBackOff with spec.imagePullSecrets empty.
	prefix := "wt-" + randomSuffix()
	stuck := prefix + "-stuck"
	if _, err := e.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: stuck}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteNamespace(stuck) })
	if err := waitForDefaultSA(e.client, stuck, time.Minute); err != nil {
		t.Fatal(err)
	}
	startDeployment(t, stuck, "app", arImage)
	waitPodStuck(t, stuck, "app")

	inputs := map[string]string{
		config.InNamespaces: prefix + "-*", config.InRefresh: "true", config.InRefreshImage: image,
		config.InRefreshWorkloadIdentityProvider: provider, config.InRefreshNamespace: refreshNS,
		config.InRefreshNamespaceAdopt: "true",
		config.InRefreshMode:           config.RefreshWatch,
		config.InRefreshRecoverPods:    "true",
		// The watching refresher refreshes at half of it: every minute.
		config.InTokenLifetime: "2m",
	}
	r := mustRunAction(t, credentials(t, fakestack.WIF, inputs))
	if !strings.Contains(r.summary, "watch") {
		t.Errorf("the step summary does not say the refresher watches:\n%s", r.summary)
	}
	if _, err := e.client.BatchV1().CronJobs(refreshNS).Get(ctx, refresherName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("refresh_mode: watch installed a CronJob too (err %v)", err)
	}
	start := time.Now()
	waitDeploymentAvailable(t, refreshNS, refresherName, 2)
	t.Logf("refresher Deployment: 2 replicas available %s after the install run", since(start))

	// The stuck pod is deleted by the refresher and its ReplicaSet's new
	// pod, created after the reference, pulls.
	start = time.Now()
	waitDeploymentAvailable(t, stuck, "app", 1)
	t.Logf("stuck pod recovered and its replacement running %s after the refresher became available", since(start))
	if !hasEvent(t, stuck, "PodRecovered") {
		t.Errorf("no PodRecovered Event in %s: %s", stuck, allEvents(t, stuck))
	}

	// A namespace created with kubectl after installation.
	late := prefix + "-late"
	secretWithin := createAndWaitCovered(t, late)
	t.Logf("namespace %s created after installation: secret and reference present %s after its creation", late, secretWithin)
	requireRunning(t, startPod(t, late, "default", arImage), late+": namespace created after installation, covered by the watching refresher")

	// Leader failover: delete the leader's pod.
	leader := leaseHolder(t, refreshNS, refresherName)
	if leader == "" {
		t.Fatalf("no holder of Lease %s/%s", refreshNS, refresherName)
	}
	start = time.Now()
	if err := e.client.CoreV1().Pods(refreshNS).Delete(ctx, leader, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	var next string
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) {
		next = leaseHolder(t, refreshNS, refresherName)
		return next != "" && next != leader, nil
	}); err != nil {
		t.Fatalf("the Lease stayed with %q after its pod was deleted", leader)
	}
	t.Logf("leader failover: %s → %s in %s", leader, next, time.Since(start).Round(100*time.Millisecond))
	after := prefix + "-after"
	t.Logf("namespace created after the failover: covered %s after its creation", createAndWaitCovered(t, after))

	// No step runs from here: the new leader must keep every secret
	// pullable after every token written so far has expired.
	var newest IssuedToken
	for _, ns := range []string{stuck, late, after} {
		issued, ok := e.stack.Google.Lookup(tokenIn(t, payload(t, ns, config.DefaultSecretName), "*-docker.pkg.dev"))
		if !ok {
			t.Fatalf("%s: the secret holds a token the fake never issued", ns)
		}
		if issued.Expiry.After(newest.Expiry) {
			newest = issued
		}
	}
	pause := time.Until(newest.Expiry.Add(5 * time.Second))
	t.Logf("waiting %s for every token written so far to expire (token_lifetime 2m, refreshed at half)", pause.Round(time.Second))
	time.Sleep(pause)
	for _, ns := range []string{stuck, late, after} {
		issued, ok := e.stack.Google.Lookup(tokenIn(t, payload(t, ns, config.DefaultSecretName), "*-docker.pkg.dev"))
		if !ok || !issued.Expiry.After(time.Now()) || !strings.Contains(issued.ImpersonatedBy, "system:serviceaccount:"+refreshNS+":"+refresherName) {
			t.Errorf("%s: no fresh token from the refresher after the earlier ones expired (known %v, expires %s, impersonated by %q)", ns, ok, issued.Expiry, issued.ImpersonatedBy)
		}
	}
	requireRunning(t, startPod(t, late, "default", arImage), late+": pod created after every earlier token expired, no step in between")
	recordRefresherTranscript(t, refreshNS)

	mustRunAction(t, map[string]string{config.InNamespaces: prefix + "-*", config.InMode: "delete", config.InRefresh: "true", config.InRefreshNamespace: refreshNS})
	if left := refresherLeft(t, refreshNS); len(left) > 0 {
		t.Errorf("teardown left refresher objects: %v", left)
	}
}

// createAndWaitCovered creates namespace ns and waits until it holds the
// pull secret and its default ServiceAccount references it; it returns how
// long that took (logged, not asserted: the bench measures it).
func createAndWaitCovered(t *testing.T, ns string) time.Duration {
	t.Helper()
	ctx := context.Background()
	created, err := e.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteNamespace(ns) })
	start := time.Now()
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		if _, err := e.client.CoreV1().Secrets(ns).Get(ctx, config.DefaultSecretName, metav1.GetOptions{}); err != nil {
			return false, nil
		}
		sa, err := e.client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, r := range sa.ImagePullSecrets {
			if r.Name == config.DefaultSecretName {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("namespace %s (created %s) never got the pull secret and its reference", ns, created.CreationTimestamp)
	}
	return time.Since(start).Round(10 * time.Millisecond)
}

func startDeployment(t *testing.T, ns, name, image string) {
	t.Helper()
	one := int32(1)
	sel := map[string]string{"app": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: sel},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: new(int64),
					Containers:                    []corev1.Container{{Name: "app", Image: image, ImagePullPolicy: corev1.PullAlways, Command: []string{"sleep", "3600"}}},
				},
			},
		},
	}
	if _, err := e.client.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// waitPodStuck waits until the Deployment's pod fails to pull.
func waitPodStuck(t *testing.T, ns, app string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		pods, err := e.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
		if err != nil {
			return false, err
		}
		for _, p := range pods.Items {
			for _, cs := range p.Status.ContainerStatuses {
				if w := cs.State.Waiting; w != nil && (w.Reason == "ErrImagePull" || w.Reason == "ImagePullBackOff") {
					return true, nil
				}
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("the %s pod in %s never failed to pull (the control case of recovery): %v", app, ns, allEvents(t, ns))
	}
}

func waitDeploymentAvailable(t *testing.T, ns, name string, replicas int32) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 200*time.Millisecond, 4*time.Minute, true, func(ctx context.Context) (bool, error) {
		d, err := e.client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		return d.Status.AvailableReplicas >= replicas, nil
	})
	if err != nil {
		t.Fatalf("Deployment %s/%s never had %d available replicas: %s", ns, name, replicas, allEvents(t, ns))
	}
}

func leaseHolder(t *testing.T, ns, name string) string {
	t.Helper()
	l, err := e.client.CoordinationV1().Leases(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil || l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

func hasEvent(t *testing.T, ns, reason string) bool {
	t.Helper()
	evs, err := e.client.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{FieldSelector: "reason=" + reason})
	return err == nil && len(evs.Items) > 0
}

func allEvents(t *testing.T, ns string) string {
	t.Helper()
	evs, err := e.client.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		return err.Error()
	}
	var msgs []string
	for _, ev := range evs.Items {
		msgs = append(msgs, ev.InvolvedObject.Kind+"/"+ev.InvolvedObject.Name+" "+ev.Reason+": "+ev.Message)
	}
	return strings.Join(msgs, "; ")
}
