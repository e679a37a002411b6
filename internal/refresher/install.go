package refresher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"

	"github.com/pullsecret/pullsecret/internal/config"
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
	// only kind teardown deletes and the only kind it installs into
	// without refresh_namespace_adopt.
	labelCreatedBy = "pullsecret.dev/created-by"
	// LabelDedicated marks a namespace an admin made for refreshers
	// (deploy/rbac-refresh-installer.yaml): used without
	// refresh_namespace_adopt, never deleted by a teardown.
	LabelDedicated = "pullsecret.dev/dedicated"

	// AnnotationCoverage, on the refresher's ClusterRole, is the coverage
	// the installer granted: the record later installs merge with. It is
	// kept on a cluster-scoped object, not in the ConfigMap, so that an
	// editor of refresh_namespace cannot widen what the next install
	// grants.
	AnnotationCoverage = "pullsecret.dev/coverage"
	// AnnotationIdentity, beside it, is the refresher's identity, so a
	// teardown that names no service_account finds it.
	AnnotationIdentity = "pullsecret.dev/identity"

	// replans bounds how often an install re-reads and re-plans after
	// another run changed the refresher under it.
	replans = 8
)

// ErrConflict is a refresher object changed by someone else than
// pullsecret: the install stops instead of reverting it.
var ErrConflict = errors.New("changed by someone else")

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
	// version is the ClusterRole's resourceVersion, the precondition of
	// every change.
	version string
}

// Read returns the refresher of name in namespace, or nil when there is
// none.
func Read(ctx context.Context, rc rest.Interface, namespace, name string) (*Installed, error) {
	outer := OuterName(name, namespace)
	var cr rbacv1.ClusterRole
	err := get(ctx, rc, clusterRolePath(outer), &cr)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read the refresher's ClusterRole %s: %w", outer, err)
	}
	return installedFrom(&cr, name)
}

func installedFrom(cr *rbacv1.ClusterRole, name string) (*Installed, error) {
	in := &Installed{Name: name, version: cr.ResourceVersion}
	for key, into := range map[string]any{AnnotationCoverage: &in.Coverage, AnnotationIdentity: &in.Identity} {
		if err := json.Unmarshal([]byte(cr.Annotations[key]), into); err != nil {
			return nil, fmt.Errorf("the refresher's ClusterRole %s has an invalid %s annotation: %w", cr.Name, key, err)
		}
	}
	return in, nil
}

// List returns the refreshers in namespace that keep secretName fresh.
func List(ctx context.Context, rc rest.Interface, namespace, secretName string) ([]*Installed, error) {
	var crs rbacv1.ClusterRoleList
	raw, err := rc.Get().AbsPath("/apis/"+rbacAPI+"/clusterroles").Param("labelSelector", labelName+"="+Name).Do(ctx).Raw()
	if err == nil {
		err = json.Unmarshal(raw, &crs)
	}
	if err != nil {
		return nil, fmt.Errorf("failed to list the refreshers' ClusterRoles: %w", err)
	}
	var out []*Installed
	for i := range crs.Items {
		cr := &crs.Items[i]
		name, ok := strings.CutSuffix(cr.Name, "."+namespace)
		if !ok || cr.Labels[LabelInstance] != name {
			continue
		}
		in, err := installedFrom(cr, name)
		if err != nil {
			return nil, err
		}
		if in.Identity.SecretName == secretName {
			out = append(out, in)
		}
	}
	return out, nil
}

// CheckAdmissionPolicies refuses a cluster whose API server does not serve
// ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1, Kubernetes
// 1.30 and later): without it the refresher's identity cannot be held to
// writing pull secrets.
func CheckAdmissionPolicies(ctx context.Context, rc rest.Interface) error {
	var list metav1.APIResourceList
	err := get(ctx, rc, "/apis/"+admissionAPI, &list)
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("failed to read the API server's admissionregistration.k8s.io/v1 resources: %w", err)
	}
	if !slices.ContainsFunc(list.APIResources, func(r metav1.APIResource) bool { return r.Name == "validatingadmissionpolicies" }) {
		return fmt.Errorf("input %q: the API server does not serve ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1, Kubernetes 1.30 or later), which the refresher needs so that its identity can write only pull secrets; upgrade the cluster or refresh the secrets from CI instead", config.InRefresh)
	}
	return nil
}

// CheckNamespace refuses a refresh_namespace the refresher must not live
// in: one pullsecret did not create (unless adopt), or one the refresher
// covers (its own Jobs would hold the secret they write). It reads the
// namespace, and reports whether it exists.
func CheckNamespace(ctx context.Context, rc rest.Interface, name string, cov Coverage, adopt bool) (bool, error) {
	var ns corev1.Namespace
	err := get(ctx, rc, "/api/v1/namespaces/"+name, &ns)
	if apierrors.IsNotFound(err) {
		if cov.Covers(name, nil) {
			return false, coveredErr(name)
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("failed to read namespace %q for the refresher: %w", name, err)
	}
	if cov.Covers(name, ns.Labels) {
		return true, coveredErr(name)
	}
	if ns.Labels[labelCreatedBy] != Name && ns.Labels[LabelDedicated] != componentValue && !adopt {
		return true, fmt.Errorf("input %q: namespace %q exists and was not created by pullsecret; the refresher needs a namespace of its own (whoever administers it holds the puller's credential). Choose a new %s, or set %s: true if %q is dedicated to it",
			config.InRefreshNamespace, name, config.InRefreshNamespace, config.InRefreshNamespaceAdopt, name)
	}
	return true, nil
}

func coveredErr(name string) error {
	return fmt.Errorf("input %q: namespace %q is covered by this run's namespaces; the refresher's namespace must be outside what it writes to", config.InRefreshNamespace, name)
}

// Install merges s's coverage into the installed refresher of the same
// identity (or creates it) and applies every object. The ClusterRole,
// which records the coverage, is written with the version it was read at:
// a run that lost a race re-reads and re-plans, so two installs at once
// keep both coverages. Objects changed by someone else are reported, not
// reverted (ErrConflict).
func Install(ctx context.Context, rc rest.Interface, s Settings, dryRun bool) ([]Object, Coverage, error) {
	created, err := ensureNamespace(ctx, rc, s.Namespace, dryRun)
	if err != nil {
		return nil, Coverage{}, err
	}
	if created && dryRun {
		// Nothing can be validated inside a namespace a dry run did not
		// really create.
		objs, err := Render(s)
		return objs, s.Coverage, err
	}
	for range replans {
		inst, err := Read(ctx, rc, s.Namespace, s.Name())
		if err != nil {
			return nil, Coverage{}, err
		}
		merged := s
		var old Coverage
		if inst != nil {
			old = inst.Coverage
			merged.Coverage = s.Coverage.Merge(inst.Coverage)
		}
		objs, version, err := write(ctx, rc, merged, inst, true, dryRun)
		if apierrors.IsConflict(err) && !errors.Is(err, ErrConflict) || apierrors.IsAlreadyExists(err) {
			continue // another run changed it meanwhile: re-plan
		}
		if err != nil {
			return nil, Coverage{}, err
		}
		if err := deleteObjects(ctx, rc, stale(merged, old), dryRun); err != nil {
			return nil, Coverage{}, err
		}
		if dryRun {
			return objs, merged.Coverage, nil
		}
		// Done unless another install wrote after ours: then its objects
		// may reflect an older plan, so plan again from what it recorded.
		now, err := Read(ctx, rc, s.Namespace, s.Name())
		if err != nil {
			return nil, Coverage{}, err
		}
		if now != nil && now.version == version {
			return objs, merged.Coverage, nil
		}
	}
	return nil, Coverage{}, fmt.Errorf("the refresher %s/%s kept changing under this run (%d attempts); run again", s.Namespace, s.Name(), replans)
}

// Narrow removes a teardown run's namespaces from the refresher of s's
// identity, or uninstalls it when no coverage remains. It runs before the
// secrets are deleted, so that no refresher run can write them again.
// It reports the remaining coverage (empty: removed) and what was
// deleted. s needs only Namespace, ServiceAccount and SecretName.
func Narrow(ctx context.Context, rc rest.Interface, s Settings, patterns []string, selector string, dryRun bool) (Coverage, []Object, error) {
	for range replans {
		inst, err := Read(ctx, rc, s.Namespace, s.Name())
		if err != nil || inst == nil {
			return Coverage{}, nil, err
		}
		rest := inst.Coverage.Without(patterns, selector)
		if rest.Empty() {
			removed, err := uninstall(ctx, rc, s, inst, dryRun)
			if apierrors.IsConflict(err) {
				continue
			}
			return Coverage{}, removed, err
		}
		narrowed := s
		narrowed.Coverage = rest
		_, _, err = write(ctx, rc, narrowed, inst, false, dryRun)
		if apierrors.IsConflict(err) && !errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return Coverage{}, nil, err
		}
		gone := stale(narrowed, inst.Coverage)
		return rest, gone, deleteObjects(ctx, rc, gone, dryRun)
	}
	return Coverage{}, nil, fmt.Errorf("the refresher %s/%s kept changing under this run (%d attempts); run again", s.Namespace, s.Name(), replans)
}

// write applies s's objects, the ClusterRole first with inst's version as
// precondition (create when there is none). It returns the ClusterRole's
// new version.
func write(ctx context.Context, rc rest.Interface, s Settings, inst *Installed, full, dryRun bool) ([]Object, string, error) {
	objs, err := Render(s)
	if err != nil {
		return nil, "", err
	}
	if !full {
		objs = slices.DeleteFunc(objs, func(o Object) bool { return !coverageKinds[o.Kind] })
	}
	cov, err := json.Marshal(s.Coverage)
	if err != nil {
		return nil, "", fmt.Errorf("failed to encode the refresher's coverage: %w", err)
	}
	id, err := json.Marshal(Identity{ServiceAccount: s.ServiceAccount, SecretName: s.SecretName})
	if err != nil {
		return nil, "", fmt.Errorf("failed to encode the refresher's identity: %w", err)
	}
	var version string
	for _, o := range objs {
		if o.Kind != "ClusterRole" {
			continue
		}
		cr := o.Body.(*rbacv1.ClusterRole)
		cr.Annotations = map[string]string{AnnotationCoverage: string(cov), AnnotationIdentity: string(id)}
		if inst == nil {
			version, err = create(ctx, rc, o, dryRun)
		} else {
			cr.ResourceVersion = inst.version
			version, err = apply(ctx, rc, o, FieldManager, dryRun)
			cr.ResourceVersion = ""
		}
		if err != nil {
			return nil, "", err
		}
	}
	for _, o := range objs {
		if o.Kind == "ClusterRole" {
			continue
		}
		if _, err := apply(ctx, rc, o, FieldManager, dryRun); err != nil {
			if apierrors.IsNotFound(err) && o.Namespace != s.Namespace && o.Namespace != "" {
				continue // a named namespace that does not exist (yet)
			}
			return nil, "", err
		}
	}
	return objs, version, nil
}

// coverageKinds are the objects that follow the coverage: the ones a
// teardown rewrites (it knows the identity, not the other settings).
var coverageKinds = map[string]bool{"ClusterRole": true, "ValidatingAdmissionPolicy": true, "Role": true, "RoleBinding": true, "ConfigMap": true}

// stale are the objects in covered namespaces that old coverage had and
// s's no longer has.
func stale(s Settings, old Coverage) []Object {
	prev := s
	prev.Coverage = old
	keep := map[string]bool{}
	for _, o := range s.CoveredNamespaceObjects() {
		keep[o.Path()] = true
	}
	var out []Object
	for _, o := range prev.CoveredNamespaceObjects() {
		if !keep[o.Path()] {
			out = append(out, o)
		}
	}
	// Bindings before roles: the permission goes first.
	slices.SortStableFunc(out, func(a, b Object) int {
		return map[bool]int{true: 0, false: 1}[a.Kind == "RoleBinding"] - map[bool]int{true: 0, false: 1}[b.Kind == "RoleBinding"]
	})
	return out
}

// uninstall deletes the refresher: the ClusterRole first, with inst's
// version as precondition (a conflict means another run added coverage),
// then the CronJob, every permission, the rest, and refresh_namespace
// when the installer created it and nothing else lives there.
func uninstall(ctx context.Context, rc rest.Interface, s Settings, inst *Installed, dryRun bool) ([]Object, error) {
	s.Coverage = inst.Coverage
	objs, err := Render(s)
	if err != nil {
		return nil, err
	}
	byKind := func(kinds ...string) []Object {
		var out []Object
		for _, k := range kinds {
			for _, o := range objs {
				if o.Kind == k && (o.Namespace == "" || o.Namespace == s.Namespace || k == "RoleBinding" || k == "Role") {
					out = append(out, o)
				}
			}
		}
		return out
	}
	var removed []Object
	cr := byKind("ClusterRole")[0]
	pre := metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &inst.version}}
	if err := del(ctx, rc, cr, pre, dryRun); err != nil {
		return nil, err
	}
	removed = append(removed, cr)
	rest := byKind("CronJob", "RoleBinding", "ClusterRoleBinding", "Role", "ConfigMap", "ValidatingAdmissionPolicyBinding", "ValidatingAdmissionPolicy", "ServiceAccount")
	for _, o := range rest {
		switch err := del(ctx, rc, o, metav1.DeleteOptions{}, dryRun); {
		case apierrors.IsNotFound(err):
		case err != nil:
			return removed, fmt.Errorf("failed to delete %s: %w", o, err)
		default:
			removed = append(removed, o)
		}
	}
	if ns, err := deleteNamespaceIfEmpty(ctx, rc, s.Namespace, dryRun); err != nil {
		return removed, err
	} else if ns {
		removed = append(removed, Object{APIVersion: "v1", Kind: "Namespace", Resource: "namespaces", Name: s.Namespace})
	}
	return removed, nil
}

// deleteNamespaceIfEmpty deletes refresh_namespace when pullsecret created
// it and no other refresher lives there.
func deleteNamespaceIfEmpty(ctx context.Context, rc rest.Interface, name string, dryRun bool) (bool, error) {
	var ns corev1.Namespace
	if err := get(ctx, rc, "/api/v1/namespaces/"+name, &ns); err != nil || ns.Labels[labelCreatedBy] != Name {
		return false, nil
	}
	var left corev1.ServiceAccountList
	raw, err := rc.Get().AbsPath("/api/v1/namespaces/"+name+"/serviceaccounts").Param("labelSelector", labelName+"="+Name).Do(ctx).Raw()
	if err != nil || json.Unmarshal(raw, &left) != nil || len(left.Items) > 0 && !dryRun {
		return false, nil
	}
	req := rc.Delete().AbsPath("/api/v1/namespaces/" + name)
	if dryRun {
		req = req.Param("dryRun", metav1.DryRunAll)
	}
	if err := req.Do(ctx).Error(); err != nil && !apierrors.IsNotFound(err) {
		return false, fmt.Errorf("failed to delete namespace %q: %w", name, err)
	}
	return true, nil
}

func deleteObjects(ctx context.Context, rc rest.Interface, objs []Object, dryRun bool) error {
	for _, o := range objs {
		if err := del(ctx, rc, o, metav1.DeleteOptions{}, dryRun); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("failed to delete %s: %w", o, err)
		}
	}
	return nil
}

func del(ctx context.Context, rc rest.Interface, o Object, opts metav1.DeleteOptions, dryRun bool) error {
	bg := metav1.DeletePropagationBackground
	opts.PropagationPolicy = &bg
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	body, err := json.Marshal(opts)
	if err != nil {
		return err
	}
	return rc.Delete().AbsPath(o.Path()).SetHeader("Content-Type", "application/json").Body(body).Do(ctx).Error()
}

// RecordStatus writes the status annotations on the refresher's ConfigMap
// with its own field manager.
func RecordStatus(ctx context.Context, rc rest.Interface, namespace, name string, annotations map[string]string) error {
	cm := &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Annotations: annotations}}
	o := Object{"v1", "ConfigMap", "configmaps", namespace, name, cm}
	body, err := json.Marshal(cm)
	if err != nil {
		return err
	}
	// Forced: these fields are the run's alone.
	if err := rc.Patch(types.ApplyPatchType).AbsPath(o.Path()).Param("fieldManager", StatusFieldManager).Param("force", "true").Body(body).Do(ctx).Error(); err != nil {
		return fmt.Errorf("failed to apply %s: %w", o, err)
	}
	return nil
}

// ReadConfigMap reads the refresher's ConfigMap (nil when absent).
func ReadConfigMap(ctx context.Context, rc rest.Interface, namespace, name string) (*corev1.ConfigMap, error) {
	var cm corev1.ConfigMap
	err := get(ctx, rc, Object{APIVersion: "v1", Resource: "configmaps", Namespace: namespace, Name: name}.Path(), &cm)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read the refresher's ConfigMap %s/%s: %w", namespace, name, err)
	}
	return &cm, nil
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

// ensureNamespace creates refresh_namespace, labelled as pullsecret's,
// when CheckNamespace found none.
func ensureNamespace(ctx context.Context, rc rest.Interface, name string, dryRun bool) (bool, error) {
	var existing corev1.Namespace
	switch err := get(ctx, rc, "/api/v1/namespaces/"+name, &existing); {
	case err == nil:
		return false, nil
	case !apierrors.IsNotFound(err):
		return false, fmt.Errorf("failed to read namespace %q for the refresher: %w", name, err)
	}
	ns := &corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{labelCreatedBy: Name, labelManagedBy: managerName}}}
	o := Object{APIVersion: "v1", Kind: "Namespace", Resource: "namespaces", Name: name, Body: ns}
	switch _, err := create(ctx, rc, o, dryRun); {
	case apierrors.IsAlreadyExists(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("failed to create namespace %q for the refresher: %w", name, err)
	}
	return true, nil
}

func create(ctx context.Context, rc rest.Interface, o Object, dryRun bool) (string, error) {
	body, err := json.Marshal(o.Body)
	if err != nil {
		return "", fmt.Errorf("failed to encode %s: %w", o, err)
	}
	dir := o.Path()[:len(o.Path())-len(o.Name)-1]
	req := rc.Post().AbsPath(dir).Param("fieldManager", FieldManager).SetHeader("Content-Type", "application/json").Body(body)
	if dryRun {
		req = req.Param("dryRun", metav1.DryRunAll)
	}
	var out metav1.PartialObjectMetadata
	raw, err := req.Do(ctx).Raw()
	if err != nil {
		return "", err
	}
	_ = json.Unmarshal(raw, &out)
	return out.ResourceVersion, nil
}

// apply server-side applies o without force: a field another manager
// changed (an admin's kubectl edit) is a conflict, reported as such.
func apply(ctx context.Context, rc rest.Interface, o Object, manager string, dryRun bool) (string, error) {
	body, err := json.Marshal(o.Body)
	if err != nil {
		return "", fmt.Errorf("failed to encode %s: %w", o, err)
	}
	req := rc.Patch(types.ApplyPatchType).AbsPath(o.Path()).Param("fieldManager", manager).Body(body)
	if dryRun {
		req = req.Param("dryRun", metav1.DryRunAll)
	}
	raw, err := req.Do(ctx).Raw()
	if err != nil {
		if fieldConflict(err) {
			return "", fmt.Errorf("%w: %s was changed by someone other than pullsecret (%v); pullsecret does not revert it. Undo the change, or delete the object and run again", ErrConflict, o, err)
		}
		return "", err
	}
	var out metav1.PartialObjectMetadata
	_ = json.Unmarshal(raw, &out)
	return out.ResourceVersion, nil
}

// fieldConflict tells a server-side apply conflict with another field
// manager from a stale resourceVersion.
func fieldConflict(err error) bool {
	var st apierrors.APIStatus
	if !errors.As(err, &st) || st.Status().Details == nil {
		return false
	}
	return slices.ContainsFunc(st.Status().Details.Causes, func(c metav1.StatusCause) bool { return c.Type == metav1.CauseTypeFieldManagerConflict })
}

func clusterRolePath(name string) string { return "/apis/" + rbacAPI + "/clusterroles/" + name }

func get(ctx context.Context, rc rest.Interface, path string, into any) error {
	raw, err := rc.Get().AbsPath(path).Do(ctx).Raw()
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, into)
}
