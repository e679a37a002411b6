package kube

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// trimForCache drops, from each object an informer keeps, what the
// watching refresher never reads, so that thousands of covered namespaces
// fit its memory limit: managedFields (often larger than the rest of the
// object) and a namespace's annotations (kubectl's last-applied copy).
//
// Writes stay exact: an update that leaves managedFields unset keeps the
// server's, and a ServiceAccount keeps every other field it is updated
// from. A secret keeps its managedFields when an older pullsecret's Create
// is recorded there, which adoptFields moves to the apply manager.
func trimForCache(obj any) (any, error) {
	switch o := obj.(type) {
	case *corev1.Secret:
		if !hasLegacyCreate(o.ManagedFields) {
			o.ManagedFields = nil
		}
	case *corev1.Namespace:
		o.ManagedFields, o.Annotations = nil, nil
	case metav1.Object:
		o.SetManagedFields(nil)
	}
	return obj, nil
}

// hasLegacyCreate reports whether our field manager recorded a Create
// (operation Update) among fields: adoptFields' work.
func hasLegacyCreate(fields []metav1.ManagedFieldsEntry) bool {
	return slices.ContainsFunc(fields, func(e metav1.ManagedFieldsEntry) bool {
		return e.Manager == FieldManager && e.Operation == metav1.ManagedFieldsOperationUpdate
	})
}
