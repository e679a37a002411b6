package kube

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
)

// State is what one namespace holds that a run acts on, read before any
// write there: the writes are conditional on it.
type State struct {
	// Secret is the pull secret, nil when absent.
	Secret *corev1.Secret
	// ServiceAccounts are the requested ones that exist (every one for
	// "*"), sorted by name.
	ServiceAccounts []*corev1.ServiceAccount
	// MissingServiceAccounts are requested names that do not exist.
	MissingServiceAccounts []string
}

// StateRequest says what to read.
type StateRequest struct {
	SecretName string
	// ServiceAccounts are names, or "*" for all of them.
	ServiceAccounts []string
}

func (r StateRequest) all() bool { return slices.Contains(r.ServiceAccounts, "*") }

// ReadStates reads the State of many namespaces with one LIST per resource
// across the cluster, instead of reads in every namespace: the secret by a
// metadata.name field selector (which RBAC resourceNames still narrows to
// the one name), ServiceAccounts by name, or all of them for "*".
//
// When the identity may not list across namespaces (namespaced Roles),
// ReadStates returns no states and why, and callers read each namespace
// with ReadState. A single namespace is always read on its own.
func ReadStates(ctx context.Context, c *Client, namespaces []string, req StateRequest) (map[string]*State, string, error) {
	if len(namespaces) < 2 {
		return nil, "", nil
	}
	states := make(map[string]*State, len(namespaces))
	for _, ns := range namespaces {
		states[ns] = &State{}
	}
	secrets, err := c.Secrets("").List(ctx, byName(req.SecretName))
	if apierrors.IsForbidden(err) {
		return nil, forbiddenToList("secrets", err), nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("failed to list secrets %q across namespaces: %w", req.SecretName, err)
	}
	for i := range secrets.Items {
		if st := states[secrets.Items[i].Namespace]; st != nil {
			st.Secret = &secrets.Items[i]
		}
	}
	lists := []metav1.ListOptions{{}}
	if !req.all() {
		lists = lists[:0]
		for _, name := range req.ServiceAccounts {
			lists = append(lists, byName(name))
		}
	}
	for _, opts := range lists {
		sas, err := c.ServiceAccounts("").List(ctx, opts)
		if apierrors.IsForbidden(err) {
			return nil, forbiddenToList("serviceaccounts", err), nil
		}
		if err != nil {
			return nil, "", fmt.Errorf("failed to list ServiceAccounts across namespaces: %w", err)
		}
		for i := range sas.Items {
			if st := states[sas.Items[i].Namespace]; st != nil {
				st.ServiceAccounts = append(st.ServiceAccounts, &sas.Items[i])
			}
		}
	}
	for _, st := range states {
		st.finish(req)
	}
	return states, "", nil
}

func forbiddenToList(resource string, err error) string {
	// The API server's message names the identity and the verb.
	return fmt.Sprintf("cannot list %s across namespaces (%v), so each namespace is read on its own", resource, err)
}

// ReadState reads one namespace's State: a field-selected LIST for the
// secret (the same `list` permission as ReadStates, narrowed to the name),
// then the ServiceAccounts.
func ReadState(ctx context.Context, c *Client, ns string, req StateRequest) (*State, error) {
	s, err := readSecret(ctx, c, ns, req.SecretName)
	if err != nil {
		return nil, fmt.Errorf("failed to read secret %q: %w", req.SecretName, err)
	}
	st := &State{Secret: s}
	if req.all() {
		list, err := c.ServiceAccounts(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("failed to list ServiceAccounts: %w", err)
		}
		for i := range list.Items {
			st.ServiceAccounts = append(st.ServiceAccounts, &list.Items[i])
		}
	} else {
		for _, name := range req.ServiceAccounts {
			sa, err := c.ServiceAccounts(ns).Get(ctx, name)
			if apierrors.IsNotFound(err) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("failed to read ServiceAccount %q: %w", name, err)
			}
			st.ServiceAccounts = append(st.ServiceAccounts, sa)
		}
	}
	st.finish(req)
	return st, nil
}

// finish sorts the ServiceAccounts and names the requested ones missing.
func (st *State) finish(req StateRequest) {
	slices.SortFunc(st.ServiceAccounts, func(a, b *corev1.ServiceAccount) int { return strings.Compare(a.Name, b.Name) })
	if req.all() {
		return
	}
	for _, name := range req.ServiceAccounts {
		if !slices.ContainsFunc(st.ServiceAccounts, func(sa *corev1.ServiceAccount) bool { return sa.Name == name }) {
			st.MissingServiceAccounts = append(st.MissingServiceAccounts, name)
		}
	}
}

// readSecret reads one secret with a field-selected LIST, so that `list`
// (narrowed by resourceNames) is the only read permission pullsecret needs
// on secrets. It returns nil when the secret is absent.
func readSecret(ctx context.Context, c *Client, ns, name string) (*corev1.Secret, error) {
	list, err := c.Secrets(ns).List(ctx, byName(name))
	if err != nil || len(list.Items) == 0 {
		return nil, err
	}
	return &list.Items[0], nil
}

func byName(name string) metav1.ListOptions {
	return metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String()}
}
