package kube

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestTrimForCache(t *testing.T) {
	applied := []metav1.ManagedFieldsEntry{{Manager: FieldManager, Operation: metav1.ManagedFieldsOperationApply}}
	legacy := []metav1.ManagedFieldsEntry{{Manager: FieldManager, Operation: metav1.ManagedFieldsOperationUpdate}}
	refs := []corev1.LocalObjectReference{{Name: "theirs"}, {Name: "gcr-pull"}}
	tests := []struct {
		name     string
		in, want any
	}{
		{"namespace: labels kept, annotations and managedFields dropped",
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a", Labels: map[string]string{"team": "a"}, Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{…}"}, ManagedFields: applied}},
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a", Labels: map[string]string{"team": "a"}}}},
		{"secret written by apply: managedFields dropped, data kept",
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", ManagedFields: applied}, Data: map[string][]byte{".dockerconfigjson": []byte("{}")}},
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"}, Data: map[string][]byte{".dockerconfigjson": []byte("{}")}}},
		{"secret an older version created: managedFields kept for adoptFields",
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", ManagedFields: legacy}},
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", ManagedFields: legacy}}},
		{"service account: every field it is updated from kept",
			&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Annotations: map[string]string{"iam.gke.io/gcp-service-account": "x"}, ManagedFields: applied}, ImagePullSecrets: refs, Secrets: []corev1.ObjectReference{{Name: "tok"}}},
			&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Annotations: map[string]string{"iam.gke.io/gcp-service-account": "x"}}, ImagePullSecrets: refs, Secrets: []corev1.ObjectReference{{Name: "tok"}}}},
		{"configmap: status annotations kept",
			&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "r", Annotations: map[string]string{"pullsecret.dev/last-success": "t"}, ManagedFields: applied}},
			&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "r", Annotations: map[string]string{"pullsecret.dev/last-success": "t"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := trimForCache(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("trimmed object (-want +got):\n%s", diff)
			}
		})
	}
}
