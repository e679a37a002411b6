package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/kube"
	"github.com/pullsecret/pullsecret/internal/labels"
	"github.com/pullsecret/pullsecret/internal/refresher"
)

// The refresher's lifecycle, in the order that keeps it safe: package
// refresher renders every object, package kube sends each one, and these
// functions decide what is sent when (as apply.go and delete.go do for
// pull secrets). The refresher's ClusterRole records its identity and the
// coverage granted; every change to it carries the resourceVersion it was
// read at, and a run that lost a race re-reads and re-plans.

// replans bounds how often an install re-reads and re-plans after another
// run changed the refresher under it.
const replans = 8

var clusterRoles = kube.Object{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole", Resource: "clusterroles"}

// readRefresher returns the refresher of name in namespace, or nil.
func readRefresher(ctx context.Context, c *kube.Client, namespace, name string) (*refresher.Installed, error) {
	o := clusterRoles
	o.Name = refresher.OuterName(name, namespace)
	var cr rbacv1.ClusterRole
	err := c.GetObject(ctx, o, &cr)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read the refresher's ClusterRole %s: %w", o.Name, err)
	}
	return refresher.InstalledFrom(&cr, name)
}

// listRefreshers returns the refreshers in namespace keeping secretName
// fresh.
func listRefreshers(ctx context.Context, c *kube.Client, namespace, secretName string) ([]*refresher.Installed, error) {
	var crs rbacv1.ClusterRoleList
	if err := c.ListObjects(ctx, clusterRoles, labels.Name+"="+refresher.Name, &crs); err != nil {
		return nil, fmt.Errorf("failed to list the refreshers' ClusterRoles: %w", err)
	}
	return refresher.InstalledIn(crs.Items, namespace, secretName)
}

// checkAdmissionPolicies refuses a cluster whose API server does not serve
// ValidatingAdmissionPolicy (Kubernetes 1.30 and later): without it the
// refresher's identity cannot be held to writing pull secrets.
func checkAdmissionPolicies(ctx context.Context, c *kube.Client) error {
	ok, err := c.Serves(ctx, "admissionregistration.k8s.io/v1", "validatingadmissionpolicies")
	if err != nil {
		return fmt.Errorf("failed to read the API server's admissionregistration.k8s.io/v1 resources: %w", err)
	}
	if !ok {
		return fmt.Errorf("input %q: the API server does not serve ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1, Kubernetes 1.30 or later), which the refresher needs so that its identity can write only pull secrets; upgrade the cluster or refresh the secrets from CI instead", config.InRefresh)
	}
	return nil
}

// checkRefreshNamespace refuses a refresh_namespace the refresher must not
// live in: one pullsecret did not create or an admin did not dedicate to
// it (unless adopt), or one the refresher covers. It reads the namespace
// before anything creates it.
func checkRefreshNamespace(ctx context.Context, c *kube.Client, name string, cov refresher.Coverage, adopt bool) error {
	ns, err := c.Namespaces().Get(ctx, name)
	if apierrors.IsNotFound(err) {
		if cov.Covers(name, nil) {
			return coveredErr(name)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("failed to read namespace %q for the refresher: %w", name, err)
	}
	if cov.Covers(name, ns.Labels) {
		return coveredErr(name)
	}
	if !refresher.Dedicated(ns) && !adopt {
		return fmt.Errorf("input %q: namespace %q exists and was not created by pullsecret; the refresher needs a namespace of its own (whoever administers it holds the puller's credential). Choose a new %s, or set %s: true if %q is dedicated to it",
			config.InRefreshNamespace, name, config.InRefreshNamespace, config.InRefreshNamespaceAdopt, name)
	}
	return nil
}

func coveredErr(name string) error {
	return fmt.Errorf("input %q: namespace %q is covered by this run's namespaces; the refresher's namespace must be outside what it writes to", config.InRefreshNamespace, name)
}

// installed is what an install did: the objects applied, the other
// mode's workload it deleted, and the coverage granted.
type installed struct {
	applied, retired []kube.Object
	coverage         refresher.Coverage
}

// installRefresher merges s's coverage into the installed refresher of the
// same identity (or creates it) and applies every object; the mode (cron
// or watch) and pod recovery are s's. Objects changed by someone else are
// reported, not reverted (kube.ErrFieldConflict).
func installRefresher(ctx context.Context, c *kube.Client, s refresher.Settings, dryRun bool) (installed, error) {
	created, err := c.CreateLabelledNamespace(ctx, s.Namespace, refresher.NamespaceLabels(), dryRun)
	if err != nil {
		return installed{}, fmt.Errorf("failed to create namespace %q for the refresher: %w", s.Namespace, err)
	}
	if created && dryRun {
		// Nothing can be validated inside a namespace a dry run did not
		// really create.
		objs, err := refresher.Render(s)
		return installed{applied: objs, coverage: s.Coverage}, err
	}
	var retired []kube.Object
	for range replans {
		inst, err := readRefresher(ctx, c, s.Namespace, s.Name())
		if err != nil {
			return installed{}, err
		}
		merged := s
		var old refresher.Coverage
		if inst != nil {
			old = inst.Coverage
			merged.Coverage = s.Coverage.Merge(inst.Coverage)
		}
		objs, err := refresher.Recorded(merged)
		if err != nil {
			return installed{}, err
		}
		// The other mode's workload must go when the record says it was
		// installed; otherwise it is only looked for, so an installer
		// that never ran the other mode needs no permission on it.
		switched := inst != nil && inst.Watch() != merged.Watch()
		version, gone, err := writeRefresher(ctx, c, objs, retirement{objs: refresher.Retired(merged), required: switched}, merged.Namespace, inst, dryRun)
		retired = append(retired, gone...)
		if lostRace(err) {
			continue
		}
		if err != nil {
			return installed{}, err
		}
		if err := deleteObjects(ctx, c, refresher.Stale(merged, old), dryRun); err != nil {
			return installed{}, err
		}
		done := installed{applied: objs, retired: retired, coverage: merged.Coverage}
		if dryRun {
			return done, nil
		}
		// Done unless another install wrote after ours: then its objects
		// may reflect an older plan, so plan again from its record.
		now, err := readRefresher(ctx, c, s.Namespace, s.Name())
		if err != nil {
			return installed{}, err
		}
		if now != nil && now.Version == version {
			return done, nil
		}
	}
	return installed{}, fmt.Errorf("the refresher %s/%s kept changing under this run (%d attempts); run again", s.Namespace, s.Name(), replans)
}

// narrowRefresher removes a teardown run's namespaces from the refresher of
// s's identity (s needs only Namespace, ServiceAccount and SecretName), or
// uninstalls it when no coverage remains. It runs before the secrets are
// deleted, so that no refresher run can write them again. It returns the
// coverage left (empty: removed) and what it deleted.
func narrowRefresher(ctx context.Context, c *kube.Client, s refresher.Settings, patterns []string, selector string, dryRun bool) (refresher.Coverage, []kube.Object, error) {
	for range replans {
		inst, err := readRefresher(ctx, c, s.Namespace, s.Name())
		if err != nil || inst == nil {
			return refresher.Coverage{}, nil, err
		}
		rest := inst.Coverage.Without(patterns, selector)
		if rest.Empty() {
			removed, err := uninstallRefresher(ctx, c, s, inst, dryRun)
			if apierrors.IsConflict(err) {
				continue
			}
			return refresher.Coverage{}, removed, err
		}
		// Rewritten in the mode it was installed in: its watch and pod
		// rules follow the coverage too.
		narrowed := inst.Keep(s)
		narrowed.Coverage = rest
		objs, err := refresher.Recorded(narrowed)
		if err != nil {
			return refresher.Coverage{}, nil, err
		}
		_, _, err = writeRefresher(ctx, c, refresher.CoverageObjects(objs), retirement{}, s.Namespace, inst, dryRun)
		if lostRace(err) {
			continue
		}
		if err != nil {
			return refresher.Coverage{}, nil, err
		}
		gone := refresher.Stale(narrowed, inst.Coverage)
		return rest, gone, deleteObjects(ctx, c, gone, dryRun)
	}
	return refresher.Coverage{}, nil, fmt.Errorf("the refresher %s/%s kept changing under this run (%d attempts); run again", s.Namespace, s.Name(), replans)
}

// lostRace: another run changed the refresher's record since it was read.
func lostRace(err error) bool {
	return (apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)) && !errors.Is(err, kube.ErrFieldConflict)
}

// retirement is the other mode's workload an install deletes.
type retirement struct {
	objs []kube.Object
	// required: the record says the refresher ran in the other mode.
	// Otherwise the objects should not exist, and a refusal to delete
	// them (an installer RBAC from before refresh_mode) is no error.
	required bool
}

// delete deletes r's objects and returns those that existed.
func (r retirement) delete(ctx context.Context, c *kube.Client, dryRun bool) ([]kube.Object, error) {
	var gone []kube.Object
	for _, o := range r.objs {
		deleted, err := c.DeleteObject(ctx, o, dryRun)
		if apierrors.IsForbidden(err) && !r.required {
			continue
		}
		if err != nil {
			return gone, err
		}
		if deleted {
			gone = append(gone, o)
		}
	}
	return gone, nil
}

// writeRefresher applies objs, the ClusterRole first with inst's version
// as precondition (created when there is no inst), and returns the
// ClusterRole's new version. A named namespace that does not exist (yet)
// gets no Role. Right before the workload it deletes the retired one (the
// other mode's), so that a refresher never runs as both a CronJob and a
// Deployment, and returns those it deleted.
func writeRefresher(ctx context.Context, c *kube.Client, objs []kube.Object, retired retirement, refreshNS string, inst *refresher.Installed, dryRun bool) (string, []kube.Object, error) {
	var version string
	for _, o := range objs {
		cr, ok := o.Body.(*rbacv1.ClusterRole)
		if !ok {
			continue
		}
		var err error
		switch {
		case inst == nil:
			// Created (only if absent), then applied once at that version
			// so that its fields are owned as applied, like the others'.
			if version, err = c.CreateObject(ctx, o, refresher.FieldManager, dryRun); err == nil && !dryRun {
				cr.ResourceVersion = version
				version, err = c.ApplyOwned(ctx, o, refresher.FieldManager, true, dryRun)
				cr.ResourceVersion = ""
			}
		case len(inst.Strangers) > 0:
			return "", nil, fmt.Errorf("%w: %s was changed by %s; pullsecret does not revert it. Undo the change, or delete the object and run again",
				kube.ErrFieldConflict, o, strings.Join(inst.Strangers, ", "))
		default:
			// Forced (its creation was an Update by the same manager), so
			// the resourceVersion is the one precondition: a Conflict is
			// another run's write.
			cr.ResourceVersion = inst.Version
			version, err = c.ApplyOwned(ctx, o, refresher.FieldManager, true, dryRun)
			cr.ResourceVersion = ""
		}
		if err != nil {
			return "", nil, fmt.Errorf("failed to write %s: %w", o, err)
		}
	}
	var gone []kube.Object
	for _, o := range objs {
		if o.Kind == "ClusterRole" {
			continue
		}
		if refresher.Workload(o) && retired.objs != nil {
			var err error
			if gone, err = retired.delete(ctx, c, dryRun); err != nil {
				return "", gone, err
			}
			retired.objs = nil
		}
		if _, err := c.ApplyOwned(ctx, o, refresher.FieldManager, false, dryRun); err != nil {
			if apierrors.IsNotFound(err) && o.Namespace != refreshNS && o.Namespace != "" {
				continue
			}
			return "", gone, fmt.Errorf("failed to apply %s: %w", o, err)
		}
	}
	return version, gone, nil
}

// uninstallRefresher deletes the refresher: the ClusterRole first, at the
// version it was read (a Conflict means another run added coverage), then
// the workload (CronJob, or Deployment, PodDisruptionBudget and Lease,
// whichever exist), every permission and the rest, and refresh_namespace when
// the installer created it and no other refresher lives there.
func uninstallRefresher(ctx context.Context, c *kube.Client, s refresher.Settings, inst *refresher.Installed, dryRun bool) ([]kube.Object, error) {
	s = inst.Keep(s)
	s.Coverage = inst.Coverage
	ordered, err := refresher.Removal(s)
	if err != nil {
		return nil, err
	}
	if err := c.DeleteObjectAt(ctx, ordered[0], inst.Version, dryRun); err != nil && !apierrors.IsNotFound(err) {
		return nil, err
	}
	removed := []kube.Object{ordered[0]}
	other := map[string]bool{}
	for _, o := range refresher.Retired(s) {
		other[o.Path()] = true
	}
	for _, o := range ordered[1:] {
		deleted, err := c.DeleteObject(ctx, o, dryRun)
		if apierrors.IsForbidden(err) && other[o.Path()] {
			// The other mode's workload, which the record says never ran:
			// an installer RBAC from before refresh_mode may not see it.
			continue
		}
		if err != nil {
			return removed, err
		}
		if deleted {
			removed = append(removed, o)
		}
	}
	var left corev1.ServiceAccountList
	sas := kube.Object{APIVersion: "v1", Kind: "ServiceAccount", Resource: "serviceaccounts", Namespace: s.Namespace}
	if err := c.ListObjects(ctx, sas, labels.Name+"="+refresher.Name, &left); err != nil || len(left.Items) > 0 && !dryRun {
		return removed, nil // another refresher still lives there
	}
	deleted, err := c.DeleteNamespaceIfLabelled(ctx, s.Namespace, labels.CreatedBy, refresher.Name, dryRun)
	if err != nil {
		return removed, err
	}
	if deleted {
		removed = append(removed, kube.Object{APIVersion: "v1", Kind: "Namespace", Resource: "namespaces", Name: s.Namespace})
	}
	return removed, nil
}

func deleteObjects(ctx context.Context, c *kube.Client, objs []kube.Object, dryRun bool) error {
	for _, o := range objs {
		if _, err := c.DeleteObject(ctx, o, dryRun); err != nil {
			return err
		}
	}
	return nil
}

// refresherConfigMap reads the refresher's ConfigMap (nil when absent).
func refresherConfigMap(ctx context.Context, c *kube.Client, namespace, name string) (*corev1.ConfigMap, error) {
	cm, err := c.ConfigMap(ctx, namespace, name)
	if err != nil {
		return nil, fmt.Errorf("failed to read the refresher's ConfigMap %s/%s: %w", namespace, name, err)
	}
	return cm, nil
}
