//go:build integration

package runner

import (
	"os"
	"path/filepath"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/pullsecret/pullsecret/internal/testing/check"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
)

// The shipped CronJob is admitted where Pod Security enforces the
// "restricted" profile (kube-apiserver's PodSecurity admission, on by
// default): its pod template as a Pod, and the CronJob itself without a
// single Pod Security warning. A variant missing any one hardening setting
// is refused, so the check can fail.
func TestCronJobPassesRestrictedPodSecurity(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	ns := controlplanetest.Namespace(t, cp)
	nsObj, err := cs.CoreV1().Namespaces().Get(t.Context(), ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nsObj.Labels["pod-security.kubernetes.io/enforce"] = "restricted"
	nsObj.Labels["pod-security.kubernetes.io/warn"] = "restricted"
	if _, err := cs.CoreV1().Namespaces().Update(t.Context(), nsObj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	cj := cronJobFromManifest(t)
	createSA(t, cs, ns, cj.Spec.JobTemplate.Spec.Template.Spec.ServiceAccountName)

	spec := cj.Spec.JobTemplate.Spec.Template.Spec
	if err := createPod(t, cs, ns, spec); err != nil {
		t.Fatalf("restricted namespace refused the CronJob's pod: %v", err)
	}
	// What the restricted profile does not check, but a Job must have.
	c := spec.Containers[0].SecurityContext
	if c.ReadOnlyRootFilesystem == nil || !*c.ReadOnlyRootFilesystem || *spec.SecurityContext.RunAsUser == 0 ||
		cj.Spec.JobTemplate.Spec.ActiveDeadlineSeconds == nil || cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent ||
		spec.Containers[0].Resources.Limits.Memory().IsZero() || spec.Containers[0].Resources.Limits.Cpu().IsZero() {
		t.Errorf("CronJob lacks a read-only root filesystem, a non-zero user, a deadline, Forbid, or resource limits")
	}
	var warnings warningRecorder
	cfg := cp.RESTConfig()
	cfg.WarningHandler = &warnings
	warned, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cj.Namespace = ns
	if _, err := warned.BatchV1().CronJobs(ns).Create(t.Context(), cj, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
		t.Fatalf("CronJob: %v", err)
	}
	if len(warnings) > 0 {
		t.Errorf("CronJob draws warnings: %v", warnings)
	}

	weakened := map[string]func(*corev1.PodSpec){
		"runs as root": func(s *corev1.PodSpec) {
			s.SecurityContext.RunAsNonRoot, s.SecurityContext.RunAsUser = nil, nil
		},
		"keeps capabilities": func(s *corev1.PodSpec) { s.Containers[0].SecurityContext.Capabilities = nil },
		"may escalate":       func(s *corev1.PodSpec) { s.Containers[0].SecurityContext.AllowPrivilegeEscalation = nil },
		"no seccomp profile": func(s *corev1.PodSpec) { s.SecurityContext.SeccompProfile = nil },
	}
	for name, weaken := range weakened {
		s := *spec.DeepCopy()
		weaken(&s)
		err := createPod(t, cs, ns, s)
		if !apierrors.IsForbidden(err) || check.ErrDiff(err, "restricted") != "" {
			t.Errorf("%s: want a PodSecurity refusal, got %v", name, err)
		}
	}
}

// createPod submits the pod template as a Pod (server-side dry run: Pod
// Security admission runs, nothing is scheduled).
func createPod(t *testing.T, cs kubernetes.Interface, ns string, spec corev1.PodSpec) error {
	t.Helper()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "pullsecret-refresh-"}, Spec: spec}
	_, err := cs.CoreV1().Pods(ns).Create(t.Context(), pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	return err
}

func cronJobFromManifest(t *testing.T) *batchv1.CronJob {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "deploy", "cronjob.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cj batchv1.CronJob
	if err := yaml.NewYAMLOrJSONDecoder(f, 4096).Decode(&cj); err != nil {
		t.Fatal(err)
	}
	if cj.Kind != "CronJob" || len(cj.Spec.JobTemplate.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("deploy/cronjob.yaml is not the expected single-container CronJob")
	}
	return &cj
}

type warningRecorder []string

func (w *warningRecorder) HandleWarningHeader(_ int, _ string, text string) { *w = append(*w, text) }

var _ rest.WarningHandler = (*warningRecorder)(nil)
