package runner

import (
	"context"
	"errors"
	"net"
	"net/url"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Why a run failed, for callers that act on it (the CLI's exit codes).
// Run's error matches at most one of them with errors.Is; its text is
// unchanged by the classification.
var (
	// ErrBadInput: the inputs (or the kubeconfig they point at) cannot
	// work; nothing was written.
	ErrBadInput = errors.New("bad input")
	// ErrCredentials: no Google credential could be had; nothing was
	// written.
	ErrCredentials = errors.New("credentials unavailable")
	// ErrClusterUnreachable: the API server could not be reached or did
	// not answer in time.
	ErrClusterUnreachable = errors.New("cluster unreachable")
	// ErrForbidden: the API server refused the cluster credentials (401)
	// or RBAC denied a request the run needed (403).
	ErrForbidden = errors.New("cluster refused the request")
	// ErrNamespacesFailed: the run went through and one or more namespaces
	// failed; the result says which.
	ErrNamespacesFailed = errors.New("namespaces failed")
)

// classified gives err a kind without changing its text.
type classified struct {
	err  error
	kind error
}

func (c *classified) Error() string   { return c.err.Error() }
func (c *classified) Unwrap() []error { return []error{c.err, c.kind} }

// Classify gives err the kind (one of the Err* above) without changing its
// text; nil stays nil. Callers outside the run (the CLI's configuration
// errors) use it too, so there is one classification.
func Classify(kind, err error) error {
	if err == nil {
		return nil
	}
	return &classified{err: err, kind: kind}
}

// clusterKind tells a refusal from an API server that cannot be reached.
func clusterKind(err error) error {
	var urlErr *url.Error
	var netErr net.Error
	switch {
	case apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err):
		return ErrForbidden
	case errors.As(err, &urlErr) || errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded) ||
		apierrors.IsTimeout(err) || apierrors.IsServerTimeout(err) || apierrors.IsServiceUnavailable(err):
		return ErrClusterUnreachable
	}
	return nil
}

// namespacesKind classifies failed namespaces: when none succeeded and all
// failed for the same cluster-wide reason (RBAC, an API server gone), that
// reason; otherwise a partial failure.
func namespacesKind(res *Result) error {
	if len(res.Succeeded()) > 0 {
		return ErrNamespacesFailed
	}
	var kind error
	for _, n := range res.Namespaces {
		if n.Err == nil {
			continue
		}
		k := clusterKind(n.Err)
		if k == nil || (kind != nil && k != kind) {
			return ErrNamespacesFailed
		}
		kind = k
	}
	if kind == nil {
		return ErrNamespacesFailed
	}
	return kind
}
