package kube

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pullsecret/pullsecret/internal/labels"
)

// NamespaceRequest is what the user asked for.
type NamespaceRequest struct {
	// Names are namespaces asked for by name.
	Names []string
	// Globs are path.Match patterns ("*" for all); the caller tells them
	// from names (config.IsGlob, the one place that decides).
	Globs    []string
	Selector string
	// Excludes apply to glob, "*" and selector matches, never to names.
	Excludes []string
}

// Target is one namespace to act in.
type Target struct {
	Name string
	// Missing is set for a named namespace that does not exist.
	Missing bool
	// Matched is set when a glob or selector chose it (not its name).
	Matched bool
}

// Vanished reports an error meaning the namespace went away (or started
// terminating) after it was chosen.
func Vanished(err error) bool {
	if errors.Is(err, ErrNamespaceTerminating) {
		return true
	}
	if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
		return true
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) && apierrors.IsNotFound(err) {
		d := status.Status().Details
		return d != nil && d.Kind == "namespaces"
	}
	return false
}

// ErrNamespaceTerminating marks a failure in a namespace that is being
// deleted: whatever the write met there (a ServiceAccount already gone,
// creation refused) is not the thing to fix.
var ErrNamespaceTerminating = errors.New("namespace is being deleted")

// Terminating reports whether ns is gone or being deleted. A failed lookup
// says no: the caller then reports its own error as it is.
func Terminating(ctx context.Context, c *Client, ns string) bool {
	got, err := c.Namespaces().Get(ctx, ns)
	if apierrors.IsNotFound(err) {
		return true
	}
	return err == nil && (got.DeletionTimestamp != nil || got.Status.Phase == corev1.NamespaceTerminating)
}

// ResolveNamespaces turns the request into targets, listing namespaces only
// when a glob or selector needs it.
func ResolveNamespaces(ctx context.Context, c *Client, req NamespaceRequest) ([]Target, error) {
	names, globs := req.Names, req.Globs
	var targets []Target
	seen := map[string]bool{}
	for _, n := range names {
		_, err := c.Namespaces().Get(ctx, n)
		switch {
		case apierrors.IsNotFound(err):
			targets = append(targets, Target{Name: n, Missing: true})
		case err != nil:
			return nil, fmt.Errorf("failed to look up namespace %q: %w", n, err)
		default:
			targets = append(targets, Target{Name: n})
		}
		seen[n] = true
	}
	if len(globs) > 0 || req.Selector != "" {
		var matched []string
		if len(globs) > 0 {
			all, err := c.Namespaces().List(ctx, metav1.ListOptions{})
			if err != nil {
				return nil, fmt.Errorf("failed to list namespaces for %v: %w", globs, err)
			}
			matched = append(matched, MatchNamespaces(all.Items, globs, req.Excludes)...)
		}
		if req.Selector != "" {
			sel, err := c.Namespaces().List(ctx, metav1.ListOptions{LabelSelector: req.Selector})
			if err != nil {
				return nil, fmt.Errorf("failed to list namespaces matching selector %q: %w", req.Selector, err)
			}
			matched = append(matched, MatchNamespaces(sel.Items, []string{"*"}, req.Excludes)...)
		}
		slices.Sort(matched)
		for _, n := range slices.Compact(matched) {
			if !seen[n] {
				seen[n] = true
				targets = append(targets, Target{Name: n, Matched: true})
			}
		}
	}
	return targets, nil
}

// MatchNamespaces filters namespaces by globs minus excludes, skipping
// namespaces being deleted (writes there fail and nothing would pull).
func MatchNamespaces(all []corev1.Namespace, globs, excludes []string) []string {
	var out []string
	for _, ns := range all {
		if ns.Status.Phase == corev1.NamespaceTerminating || ns.DeletionTimestamp != nil {
			continue
		}
		if matchAny(globs, ns.Name) && !matchAny(excludes, ns.Name) {
			out = append(out, ns.Name)
		}
	}
	slices.Sort(out)
	return out
}

func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// CreateNamespace creates a namespace labelled as ours. AlreadyExists is
// success: another run (or a human) won the race.
func CreateNamespace(ctx context.Context, c *Client, name string, dryRun bool) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:   name,
		Labels: map[string]string{labels.CreatedBy: labels.Manager},
	}}
	_, err := c.Namespaces().Create(ctx, ns, metav1.CreateOptions{FieldManager: FieldManager, DryRun: dryRunOpt(dryRun)})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to create namespace %q: %w", name, err)
	}
	return nil
}

func dryRunOpt(dryRun bool) []string {
	if dryRun {
		return []string{metav1.DryRunAll}
	}
	return nil
}
