//go:build integration

package runner

import (
	"encoding/json"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/refresher"
)

const refresherAnnotationLastResult = refresher.AnnotationLastResult

func refresherObjectName(serviceAccount, secretName string) string { return refresher.Name }

// refresherIdentity reads whom the installed refresher impersonates and
// what it covers.
func refresherIdentity(t *testing.T, cs kubernetes.Interface, ns, name string) (string, string) {
	t.Helper()
	cm, err := cs.CoreV1().ConfigMaps(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	in, err := refresher.InstalledInputs(cm)
	if err != nil {
		t.Fatal(err)
	}
	return getSA(t, cs, ns, name).Annotations[refresher.AnnotationGKEServiceAccount], in[config.InNamespaces]
}

// injectConfigMap is what a ConfigMap editor adds.
func injectConfigMap(cm *corev1.ConfigMap, injected map[string]string) {
	var in map[string]string
	_ = json.Unmarshal([]byte(cm.Data[refresher.KeyInputs]), &in)
	for k, v := range injected {
		in[k] = v
		cm.Data[k] = v
	}
	raw, _ := json.Marshal(in)
	cm.Data[refresher.KeyInputs] = string(raw)
}
