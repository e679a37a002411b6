package refresher

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pullsecret/pullsecret/internal/config"
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

// Dedicated reports whether ns may hold refreshers without
// refresh_namespace_adopt: pullsecret created it, or an admin labelled it
// as the refreshers' (deploy/rbac-refresh-installer.yaml).
func Dedicated(ns *corev1.Namespace) bool {
	return ns.Labels[labels.CreatedBy] == Name || ns.Labels[labels.Dedicated] == componentValue
}

// Identity is what one refresher is for.
type Identity struct {
	ServiceAccount string `json:"service_account"`
	SecretName     string `json:"secret_name"`
}

// Installed is an installed refresher as its ClusterRole records it.
type Installed struct {
	Name     string
	Identity Identity
	Coverage Coverage
	// Mode and RecoverPods are the installed Settings' (Mode "" for a
	// refresher installed before refresh_mode existed: cron).
	Mode        string
	RecoverPods bool
	// Version is the ClusterRole's resourceVersion, the precondition of
	// every change.
	Version string
	// Strangers are the field managers other than pullsecret's that
	// changed the ClusterRole (an admin's edit).
	Strangers []string
}

// InstalledFrom decodes the refresher a ClusterRole records (name is its
// object name, the ClusterRole's without ".<refresh_namespace>").
func InstalledFrom(cr *rbacv1.ClusterRole, name string) (*Installed, error) {
	in := &Installed{Name: name, Version: cr.ResourceVersion}
	for _, m := range cr.ManagedFields {
		if m.Manager != FieldManager && !slices.Contains(in.Strangers, m.Manager) {
			in.Strangers = append(in.Strangers, m.Manager)
		}
	}
	for key, into := range map[string]any{labels.Coverage: &in.Coverage, labels.Identity: &in.Identity} {
		if err := json.Unmarshal([]byte(cr.Annotations[key]), into); err != nil {
			return nil, fmt.Errorf("the refresher's ClusterRole %s has an invalid %s annotation: %w", cr.Name, key, err)
		}
	}
	in.Mode, in.RecoverPods = cr.Annotations[labels.RefreshMode], cr.Annotations[labels.RecoverPods] == "true"
	return in, nil
}

// Watch reports whether the installed refresher is the watching one.
func (in *Installed) Watch() bool { return in.Mode == config.RefreshWatch }

// Keep returns s with the installed refresher's mode, for a teardown
// that narrows it (it knows the identity, not the other settings).
func (in *Installed) Keep(s Settings) Settings {
	s.Mode, s.RecoverPods = in.Mode, in.RecoverPods
	return s
}

// InstalledIn returns the refreshers among crs (the ClusterRoles labelled
// as refreshers') that live in namespace and keep secretName fresh.
func InstalledIn(crs []rbacv1.ClusterRole, namespace, secretName string) ([]*Installed, error) {
	var out []*Installed
	for i := range crs {
		cr := &crs[i]
		name, ok := strings.CutSuffix(cr.Name, "."+namespace)
		if !ok || cr.Labels[labels.Instance] != name {
			continue
		}
		in, err := InstalledFrom(cr, name)
		if err != nil {
			return nil, err
		}
		if in.Identity.SecretName == secretName {
			out = append(out, in)
		}
	}
	return out, nil
}

// Recorded returns s's objects with its coverage and identity recorded on
// the ClusterRole, the record later installs merge with.
func Recorded(s Settings) ([]kube.Object, error) {
	objs, err := Render(s)
	if err != nil {
		return nil, err
	}
	cov, err := json.Marshal(s.Coverage)
	if err != nil {
		return nil, fmt.Errorf("failed to encode the refresher's coverage: %w", err)
	}
	id, err := json.Marshal(Identity{ServiceAccount: s.ServiceAccount, SecretName: s.SecretName})
	if err != nil {
		return nil, fmt.Errorf("failed to encode the refresher's identity: %w", err)
	}
	for _, o := range objs {
		if cr, ok := o.Body.(*rbacv1.ClusterRole); ok {
			cr.Annotations = map[string]string{labels.Coverage: string(cov), labels.Identity: string(id),
				labels.RefreshMode: s.ModeName(), labels.RecoverPods: strconv.FormatBool(s.RecoverPods)}
		}
	}
	return objs, nil
}

// coverageKinds are the objects that follow the coverage: the ones a
// teardown rewrites (it knows the identity, not the other settings).
var coverageKinds = map[string]bool{"ClusterRole": true, "ValidatingAdmissionPolicy": true, "Role": true, "RoleBinding": true, "ConfigMap": true}

// CoverageObjects keeps of objs those that follow the coverage.
func CoverageObjects(objs []kube.Object) []kube.Object {
	return slices.DeleteFunc(slices.Clone(objs), func(o kube.Object) bool { return !coverageKinds[o.Kind] })
}

// Stale are the objects in covered namespaces that old coverage had and
// s's no longer has, bindings first (the permission goes first).
func Stale(s Settings, old Coverage) []kube.Object {
	prev := s
	prev.Coverage = old
	keep := map[string]bool{}
	for _, o := range s.CoveredNamespaceObjects() {
		keep[o.Path()] = true
	}
	var out []kube.Object
	for _, o := range prev.CoveredNamespaceObjects() {
		if !keep[o.Path()] {
			out = append(out, o)
		}
	}
	slices.SortStableFunc(out, func(a, b kube.Object) int { return boolInt(a.Kind != "RoleBinding") - boolInt(b.Kind != "RoleBinding") })
	return out
}

// RemovalOrder is objs in the order an uninstall deletes them: the
// ClusterRole (the record; deleted with a precondition) first, then the
// workload (CronJob or Deployment, its PodDisruptionBudget and Lease),
// every permission, and the rest.
func RemovalOrder(objs []kube.Object) []kube.Object {
	order := []string{"ClusterRole", "CronJob", "Deployment", "PodDisruptionBudget", "Lease", "RoleBinding", "ClusterRoleBinding", "Role", "ConfigMap", "ValidatingAdmissionPolicyBinding", "ValidatingAdmissionPolicy", "ServiceAccount"}
	var out []kube.Object
	for _, k := range order {
		for _, o := range objs {
			if o.Kind == k {
				out = append(out, o)
			}
		}
	}
	return out
}

// Removal is every object of s's refresher in RemovalOrder: what Render
// makes, the other mode's workload (Retired), and the Lease its pods
// create, so an uninstall leaves nothing whatever mode it ran in.
func Removal(s Settings) ([]kube.Object, error) {
	objs, err := Render(s)
	if err != nil {
		return nil, err
	}
	objs = append(objs, Retired(s)...)
	if s.Watch() {
		objs = append(objs, s.Lease())
	}
	return RemovalOrder(objs), nil
}

// Workload reports whether o runs the refresher (or belongs to what does):
// an install deletes the other mode's before it applies its own.
func Workload(o kube.Object) bool {
	return o.Kind == "CronJob" || o.Kind == "Deployment" || o.Kind == "PodDisruptionBudget"
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Status is the partial ConfigMap a refresher run applies with
// StatusFieldManager: the status annotations and nothing else.
func Status(namespace, name string, annotations map[string]string) kube.Object {
	cm := &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Annotations: annotations}}
	return kube.Object{APIVersion: "v1", Kind: "ConfigMap", Resource: "configmaps", Namespace: namespace, Name: name, Body: cm}
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
