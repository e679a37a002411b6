//go:build integration

package runner

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pullsecret/pullsecret/internal/labels"
	"github.com/pullsecret/pullsecret/internal/refresher"
)

const refresherAnnotationLastResult = labels.LastResult

func refresherObjectName(serviceAccount, secretName string) string {
	return refresher.ObjectName(serviceAccount, secretName)
}

// refresherIdentity reads whom the installed refresher impersonates (its
// CronJob's arguments) and what it covers (its ConfigMap).
func refresherIdentity(t *testing.T, cs kubernetes.Interface, ns, name string) (string, string) {
	t.Helper()
	cm, err := cs.CoreV1().ConfigMaps(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cov, err := refresher.CoverageFrom(cm.Data)
	if err != nil {
		t.Fatal(err)
	}
	var sa string
	args := refresherArgs(t, cs, ns, name)
	for i, a := range args {
		if a == "--service-account" && i+1 < len(args) {
			sa = args[i+1]
		}
	}
	return sa, strings.Join(cov.Namespaces, "\n")
}

// refresherArgs are the refresher's CronJob's container arguments.
func refresherArgs(t *testing.T, cs kubernetes.Interface, ns, name string) []string {
	t.Helper()
	cj, err := cs.BatchV1().CronJobs(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Args
}

// injectConfigMap is what a ConfigMap editor adds.
func injectConfigMap(cm *corev1.ConfigMap, injected map[string]string) {
	for k, v := range injected {
		cm.Data[k] = v
	}
}
