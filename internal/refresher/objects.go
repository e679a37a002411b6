package refresher

import (
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pullsecret/pullsecret/internal/kube"
	"github.com/pullsecret/pullsecret/internal/labels"
)

// FieldManager owns the installed objects; StatusFieldManager owns only
// the status annotations a refresher run writes, so a re-install never
// drops them and a run never touches the installer's fields.
const (
	FieldManager       = "pullsecret"
	StatusFieldManager = "pullsecret-refresher"
)

// NamespaceLabels are on a refresh_namespace the installer creates: the
// created-by label is what lets teardown delete it (and only it).
func NamespaceLabels() map[string]string {
	return map[string]string{labels.CreatedBy: Name, labels.ManagedBy: labels.Manager}
}

// InstalledInputs decodes the inputs of an installed refresher's
// ConfigMap (nil for none).
func InstalledInputs(cm *corev1.ConfigMap) (map[string]string, error) {
	if cm == nil {
		return nil, nil
	}
	var in map[string]string
	if err := json.Unmarshal([]byte(cm.Data[KeyInputs]), &in); err != nil {
		return nil, fmt.Errorf("the refresher's ConfigMap %s/%s has no valid %s: %w", cm.Namespace, cm.Name, KeyInputs, err)
	}
	return in, nil
}

// Narrowed renders an installed refresher's coverage after a teardown run
// that leaves some: its inputs and the RBAC that follows them.
func Narrowed(cm *corev1.ConfigMap, inputs map[string]string) ([]kube.Object, error) {
	raw, err := json.MarshalIndent(inputs, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("failed to encode the refresher's inputs: %w", err)
	}
	data := map[string]string{}
	for k, v := range cm.Data {
		data[k] = v
	}
	data[KeyInputs] = string(raw) + "\n"
	ns, crName := cm.Namespace, ClusterRoleName(cm.Namespace)
	return []kube.Object{
		{APIVersion: "v1", Kind: "ConfigMap", Resource: "configmaps", Namespace: ns, Name: Name, Body: &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: meta(ns, Name), Data: data}},
		{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole", Resource: "clusterroles", Namespace: "", Name: crName, Body: &rbacv1.ClusterRole{
			TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"}, ObjectMeta: meta("", crName), Rules: clusterRules(inputs),
		}},
	}, nil
}

// Status is the partial ConfigMap a refresher run applies with
// StatusFieldManager: the status annotations and nothing else.
func Status(namespace string, annotations map[string]string) kube.Object {
	cm := &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: Name, Namespace: namespace, Annotations: annotations}}
	return kube.Object{APIVersion: "v1", Kind: "ConfigMap", Resource: "configmaps", Namespace: namespace, Name: Name, Body: cm}
}

// FailureEvent reports a failed run where `kubectl describe configmap` and
// `kubectl get events` show it. message must hold no secret.
func FailureEvent(cm *corev1.ConfigMap, reason, message string, now time.Time) *corev1.Event {
	return &corev1.Event{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Event"},
		ObjectMeta: metav1.ObjectMeta{GenerateName: Name + "-", Namespace: cm.Namespace},
		InvolvedObject: corev1.ObjectReference{APIVersion: "v1", Kind: "ConfigMap", Namespace: cm.Namespace, Name: cm.Name, UID: cm.UID,
			ResourceVersion: cm.ResourceVersion},
		Reason: reason, Message: message, Type: corev1.EventTypeWarning,
		Source:         corev1.EventSource{Component: Name},
		FirstTimestamp: metav1.NewTime(now), LastTimestamp: metav1.NewTime(now), Count: 1,
	}
}
