package refresher

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
)

// Every call here goes through a plain REST client by path, with JSON
// bodies, for any API group: no typed clientset, so the calls port to a
// core-only client unchanged.

// FieldManager owns the installed objects; StatusFieldManager owns only
// the status annotations a refresher run writes, so a re-install never
// drops them and a run never touches the installer's fields.
const (
	FieldManager       = "pullsecret"
	StatusFieldManager = "pullsecret-refresher"

	// labelCreatedBy marks a refresh_namespace the installer created, the
	// only kind teardown deletes.
	labelCreatedBy = "pullsecret.dev/created-by"
)

// Installed reads the refresher's ConfigMap: its data, or nil when there
// is no refresher in namespace.
func Installed(ctx context.Context, rc rest.Interface, namespace string) (*corev1.ConfigMap, error) {
	var cm corev1.ConfigMap
	err := get(ctx, rc, Object{APIVersion: "v1", Resource: "configmaps", Namespace: namespace, Name: Name}.Path(), &cm)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read the refresher's ConfigMap %s/%s: %w", namespace, Name, err)
	}
	return &cm, nil
}

// InstalledInputs decodes the inputs of an installed refresher.
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

// Install creates refresh_namespace if needed and applies every object.
// Apply is idempotent: a second install with the same settings changes
// nothing.
func Install(ctx context.Context, rc rest.Interface, s Settings, dryRun bool) ([]Object, error) {
	objs, err := Render(s)
	if err != nil {
		return nil, err
	}
	created, err := ensureNamespace(ctx, rc, s.Namespace, dryRun)
	if err != nil {
		return nil, err
	}
	if created && dryRun {
		// Nothing can be validated inside a namespace a dry run did not
		// really create.
		return objs, nil
	}
	for _, o := range objs {
		if err := apply(ctx, rc, o, FieldManager, dryRun); err != nil {
			return nil, err
		}
	}
	return objs, nil
}

// Narrow rewrites an installed refresher's coverage after a teardown run
// that leaves some: its inputs and the RBAC that follows them.
func Narrow(ctx context.Context, rc rest.Interface, cm *corev1.ConfigMap, inputs map[string]string, dryRun bool) error {
	raw, err := json.MarshalIndent(inputs, "", "  ")
	if err != nil {
		return fmt.Errorf("failed to encode the refresher's inputs: %w", err)
	}
	data := map[string]string{}
	for k, v := range cm.Data {
		data[k] = v
	}
	data[KeyInputs] = string(raw) + "\n"
	ns, crName := cm.Namespace, ClusterRoleName(cm.Namespace)
	for _, o := range []Object{
		{"v1", "ConfigMap", "configmaps", ns, Name, &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: meta(ns, Name), Data: data}},
		{"rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles", "", crName, &rbacv1.ClusterRole{
			TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"}, ObjectMeta: meta("", crName), Rules: clusterRules(inputs),
		}},
	} {
		if err := apply(ctx, rc, o, FieldManager, dryRun); err != nil {
			return err
		}
	}
	return nil
}

// Uninstall deletes every refresher object in namespace (absent ones are
// fine), the CronJob first so no run starts meanwhile, its Jobs and pods
// with it, and the namespace itself when the installer created it.
func Uninstall(ctx context.Context, rc rest.Interface, namespace string, dryRun bool) ([]Object, error) {
	objs, err := Render(Settings{Namespace: namespace, Inputs: map[string]string{}})
	if err != nil {
		return nil, err
	}
	var removed []Object
	for i := len(objs) - 1; i >= 0; i-- {
		o := objs[i]
		req := rc.Delete().AbsPath(o.Path()).Param("propagationPolicy", string(metav1.DeletePropagationBackground))
		if dryRun {
			req = req.Param("dryRun", metav1.DryRunAll)
		}
		err := req.Do(ctx).Error()
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return removed, fmt.Errorf("failed to delete %s: %w", o, err)
		default:
			removed = append(removed, o)
		}
	}
	var ns corev1.Namespace
	err = get(ctx, rc, "/api/v1/namespaces/"+namespace, &ns)
	if err == nil && ns.Labels[labelCreatedBy] == Name {
		req := rc.Delete().AbsPath("/api/v1/namespaces/" + namespace)
		if dryRun {
			req = req.Param("dryRun", metav1.DryRunAll)
		}
		if err := req.Do(ctx).Error(); err != nil && !apierrors.IsNotFound(err) {
			return removed, fmt.Errorf("failed to delete namespace %q: %w", namespace, err)
		}
		removed = append(removed, Object{APIVersion: "v1", Kind: "Namespace", Resource: "namespaces", Name: namespace})
	}
	return removed, nil
}

// RecordStatus writes the status annotations on the refresher's ConfigMap
// with its own field manager.
func RecordStatus(ctx context.Context, rc rest.Interface, namespace string, annotations map[string]string) error {
	cm := &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: Name, Namespace: namespace, Annotations: annotations}}
	return apply(ctx, rc, Object{"v1", "ConfigMap", "configmaps", namespace, Name, cm}, StatusFieldManager, false)
}

// RecordEvent reports a failed run where `kubectl describe configmap` and
// `kubectl get events` show it. message must hold no secret.
func RecordEvent(ctx context.Context, rc rest.Interface, cm *corev1.ConfigMap, reason, message string, now time.Time) error {
	ev := &corev1.Event{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Event"},
		ObjectMeta: metav1.ObjectMeta{GenerateName: Name + "-", Namespace: cm.Namespace},
		InvolvedObject: corev1.ObjectReference{APIVersion: "v1", Kind: "ConfigMap", Namespace: cm.Namespace, Name: cm.Name, UID: cm.UID,
			ResourceVersion: cm.ResourceVersion},
		Reason: reason, Message: message, Type: corev1.EventTypeWarning,
		Source:         corev1.EventSource{Component: Name},
		FirstTimestamp: metav1.NewTime(now), LastTimestamp: metav1.NewTime(now), Count: 1,
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	if err := rc.Post().AbsPath("/api/v1/namespaces/"+cm.Namespace+"/events").SetHeader("Content-Type", "application/json").Body(body).Do(ctx).Error(); err != nil {
		return fmt.Errorf("failed to record an event on ConfigMap %s/%s: %w", cm.Namespace, cm.Name, err)
	}
	return nil
}

func ensureNamespace(ctx context.Context, rc rest.Interface, name string, dryRun bool) (created bool, err error) {
	ns := &corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{labelCreatedBy: Name, labelManagedBy: managerName}}}
	body, err := json.Marshal(ns)
	if err != nil {
		return false, err
	}
	req := rc.Post().AbsPath("/api/v1/namespaces").SetHeader("Content-Type", "application/json").Body(body)
	if dryRun {
		req = req.Param("dryRun", metav1.DryRunAll)
	}
	switch err := req.Do(ctx).Error(); {
	case apierrors.IsAlreadyExists(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("failed to create namespace %q for the refresher: %w", name, err)
	}
	return true, nil
}

func apply(ctx context.Context, rc rest.Interface, o Object, manager string, dryRun bool) error {
	body, err := json.Marshal(o.Body)
	if err != nil {
		return fmt.Errorf("failed to encode %s: %w", o, err)
	}
	req := rc.Patch(types.ApplyPatchType).AbsPath(o.Path()).Param("fieldManager", manager).Param("force", "true").Body(body)
	if dryRun {
		req = req.Param("dryRun", metav1.DryRunAll)
	}
	if err := req.Do(ctx).Error(); err != nil {
		return fmt.Errorf("failed to apply %s: %w", o, err)
	}
	return nil
}

func get(ctx context.Context, rc rest.Interface, path string, into any) error {
	raw, err := rc.Get().AbsPath(path).Do(ctx).Raw()
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, into)
}
