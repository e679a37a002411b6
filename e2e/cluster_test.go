//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pullsecret/pullsecret/internal/dockerconfig"
)

var metav1GetOptions = metav1.GetOptions{}

// Images the fake registry serves, under production names. The e2e-proj
// ones are readable by the stack's service accounts; nobody holds a role on
// other-proj, so pulls from there must be refused whatever the credential.
const (
	arImage       = "us-docker.pkg.dev/e2e-proj/private/app:v1"
	gcrImage      = "gcr.io/e2e-proj/app:v1"
	otherARImage  = "us-docker.pkg.dev/other-proj/private/app:v1"
	otherGCRImage = "gcr.io/other-proj/app:v1"

	otherARRepository = "projects/other-proj/locations/us/repositories/private" // otherARImage's, in IAM
)

// registrySeed is what the fake registry pushes at startup: the repository
// path (host-less) of every image above.
var registrySeed = []string{"e2e-proj/private/app:v1", "e2e-proj/app:v1", "other-proj/private/app:v1", "other-proj/app:v1"}

func newNamespace(t *testing.T, prefix string) string {
	t.Helper()
	name := prefix + "-" + randomSuffix()
	ctx := t.Context()
	if _, err := e.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteNamespace(name) })
	if err := waitForDefaultSA(e.client, name, time.Minute); err != nil {
		t.Fatal(err)
	}
	return name
}

func deleteNamespace(name string) {
	_ = e.client.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
}

func createSA(t *testing.T, ns, name string, pullSecrets ...string) {
	t.Helper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}
	for _, p := range pullSecrets {
		sa.ImagePullSecrets = append(sa.ImagePullSecrets, corev1.LocalObjectReference{Name: p})
	}
	if _, err := e.client.CoreV1().ServiceAccounts(ns).Create(t.Context(), sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func pullSecrets(t *testing.T, ns, sa string) []string {
	t.Helper()
	obj, err := e.client.CoreV1().ServiceAccounts(ns).Get(t.Context(), sa, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range obj.ImagePullSecrets {
		out = append(out, r.Name)
	}
	return out
}

// payload returns the secret's .dockerconfigjson (for assertions and the
// final secret scan; never printed).
func payload(t *testing.T, ns, name string) []byte {
	t.Helper()
	s, err := e.client.CoreV1().Secrets(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("secret %s/%s: %v", ns, name, err)
	}
	if s.Type != corev1.SecretTypeDockerConfigJson {
		t.Fatalf("secret %s/%s has type %s", ns, name, s.Type)
	}
	p := s.Data[corev1.DockerConfigJsonKey]
	payloads = append(payloads, p)
	return p
}

var payloads [][]byte

// tokenIn returns the password the secret holds for a registry key.
func tokenIn(t *testing.T, p []byte, key string) string {
	t.Helper()
	var dc dockerconfig.Config
	if err := json.Unmarshal(p, &dc); err != nil {
		t.Fatal(err)
	}
	entry, ok := dc.Auths[key]
	if !ok {
		t.Fatalf("no auths entry for %q", key)
	}
	return entry.Password
}

// podOutcome is how a pull ended.
type podOutcome struct {
	running bool
	reason  string // ErrImagePull / ImagePullBackOff
	message string // kubelet's pull error, e.g. 401 Unauthorized
}

// startPod runs image under serviceAccount, always pulling (so each pod
// really authenticates to the registry), and waits until it runs or its
// pull fails.
func startPod(t *testing.T, ns, serviceAccount, image string) podOutcome {
	t.Helper()
	ctx := t.Context()
	name := "app-" + randomSuffix()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			ServiceAccountName:            serviceAccount,
			TerminationGracePeriodSeconds: new(int64),
			Containers: []corev1.Container{{
				Name: "app", Image: image, ImagePullPolicy: corev1.PullAlways,
				Command: []string{"sleep", "3600"},
			}},
		},
	}
	if _, err := e.client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		p, err := e.client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, cs := range p.Status.ContainerStatuses {
			if cs.State.Running != nil {
				return podOutcome{running: true}
			}
			if w := cs.State.Waiting; w != nil && (w.Reason == "ErrImagePull" || w.Reason == "ImagePullBackOff") {
				return podOutcome{reason: w.Reason, message: pullEvents(t, ns, name) + " " + w.Message}
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("pod %s/%s neither ran nor failed to pull within 2m: %s", ns, name, pullEvents(t, ns, name))
	return podOutcome{}
}

func pullEvents(t *testing.T, ns, pod string) string {
	t.Helper()
	evs, err := e.client.CoreV1().Events(ns).List(t.Context(), metav1.ListOptions{FieldSelector: "involvedObject.name=" + pod})
	if err != nil {
		return err.Error()
	}
	var msgs []string
	for _, ev := range evs.Items {
		msgs = append(msgs, fmt.Sprintf("%s: %s", ev.Reason, ev.Message))
	}
	return strings.Join(msgs, "; ")
}

func requireRunning(t *testing.T, o podOutcome, what string) {
	t.Helper()
	if !o.running {
		t.Fatalf("%s: pod did not run: %s %s", what, o.reason, o.message)
	}
}

// requireDenied checks the registry refused the pull because who (an
// account email or a principal:// prefix) lacks
// artifactregistry.repositories.downloadArtifacts on resource — Artifact
// Registry's 403 DENIED — not for bad credentials (401), a missing scope
// (also 403) or a missing image. containerd only reports the status
// ("failed to fetch oauth token: unexpected status: 403 Forbidden"), so the
// reason is read from the registry's log.
func requireDenied(t *testing.T, o podOutcome, what, who, resource string) {
	t.Helper()
	if o.running {
		t.Fatalf("%s: pod ran, want a pull refused with 403", what)
	}
	if !strings.Contains(o.message, "403 Forbidden") {
		t.Fatalf("%s: pull failed for another reason than a denied permission: %s %s", what, o.reason, o.message)
	}
	logs, err := docker("logs", e.registry)
	if err != nil {
		t.Fatalf("registry logs: %v", err)
	}
	want := `Permission "artifactregistry.repositories.downloadArtifacts" denied on resource "` + resource + `" (or it may not exist)`
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "refused for repository:") && strings.Contains(line, who) && strings.HasSuffix(line, want) {
			t.Logf("%s: refused as expected: %s; registry: %s", what, o.reason, line[strings.Index(line, "token:"):])
			return
		}
	}
	t.Fatalf("%s: the registry logged no denial of %s for %s (pod: %s %s)", what, resource, who, o.reason, o.message)
}

// requireUnauthorized checks the pull failed because the registry refused
// the credentials (not, say, a missing image or a network error).
func requireUnauthorized(t *testing.T, o podOutcome, what string) {
	t.Helper()
	if o.running {
		t.Fatalf("%s: pod ran, want a refused pull", what)
	}
	m := strings.ToLower(o.message)
	if !strings.Contains(m, "401") && !strings.Contains(m, "unauthorized") {
		t.Fatalf("%s: pull failed for another reason: %s %s", what, o.reason, o.message)
	}
}
