package runner

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/pullsecret/pullsecret/internal/kube"
	"github.com/pullsecret/pullsecret/internal/labels"
	"github.com/pullsecret/pullsecret/internal/refresher"
)

// The refresher's lifecycle, in the order that keeps it safe: package
// refresher renders every object, package kube sends each one, and these
// functions decide what is sent when (as apply.go and delete.go do for
// pull secrets).

// installedRefresher reads the refresher's ConfigMap: its data, or nil
// when there is no refresher in namespace.
func installedRefresher(ctx context.Context, c *kube.Client, namespace string) (*corev1.ConfigMap, error) {
	cm, err := c.ConfigMap(ctx, namespace, refresher.Name)
	if err != nil {
		return nil, fmt.Errorf("failed to read the refresher's ConfigMap %s/%s: %w", namespace, refresher.Name, err)
	}
	return cm, nil
}

// installRefresher creates refresh_namespace if needed and applies every
// object in Render's order. Apply is idempotent: a second install with the
// same settings changes nothing.
func installRefresher(ctx context.Context, c *kube.Client, s refresher.Settings, dryRun bool) ([]kube.Object, error) {
	objs, err := refresher.Render(s)
	if err != nil {
		return nil, err
	}
	created, err := c.CreateLabelledNamespace(ctx, s.Namespace, refresher.NamespaceLabels(), dryRun)
	if err != nil {
		return nil, fmt.Errorf("failed to create namespace %q for the refresher: %w", s.Namespace, err)
	}
	if created && dryRun {
		// Nothing can be validated inside a namespace a dry run did not
		// really create.
		return objs, nil
	}
	for _, o := range objs {
		if err := c.ApplyObject(ctx, o, refresher.FieldManager, dryRun); err != nil {
			return nil, err
		}
	}
	return objs, nil
}

// narrowRefresher rewrites an installed refresher's coverage after a
// teardown run that leaves some.
func narrowRefresher(ctx context.Context, c *kube.Client, cm *corev1.ConfigMap, inputs map[string]string, dryRun bool) error {
	objs, err := refresher.Narrowed(cm, inputs)
	if err != nil {
		return err
	}
	for _, o := range objs {
		if err := c.ApplyObject(ctx, o, refresher.FieldManager, dryRun); err != nil {
			return err
		}
	}
	return nil
}

// uninstallRefresher deletes every refresher object in namespace (absent
// ones are fine) in reverse apply order, the CronJob first so no run starts
// meanwhile, its Jobs and pods with it, and the namespace itself when the
// installer created it.
func uninstallRefresher(ctx context.Context, c *kube.Client, namespace string, dryRun bool) ([]kube.Object, error) {
	objs, err := refresher.Render(refresher.Settings{Namespace: namespace, Inputs: map[string]string{}})
	if err != nil {
		return nil, err
	}
	var removed []kube.Object
	for i := len(objs) - 1; i >= 0; i-- {
		deleted, err := c.DeleteObject(ctx, objs[i], dryRun)
		if err != nil {
			return removed, err
		}
		if deleted {
			removed = append(removed, objs[i])
		}
	}
	deleted, err := c.DeleteNamespaceIfLabelled(ctx, namespace, labels.CreatedBy, refresher.Name, dryRun)
	if err != nil {
		return removed, err
	}
	if deleted {
		removed = append(removed, kube.Object{APIVersion: "v1", Kind: "Namespace", Resource: "namespaces", Name: namespace})
	}
	return removed, nil
}
