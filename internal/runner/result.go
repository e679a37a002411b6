package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/kube"
)

// Result is a whole run's outcome.
type Result struct {
	SecretName string
	Registries []string
	Mode       config.Mode
	DryRun     bool
	ExpiresAt  time.Time
	Principal  string
	Method     string
	Namespaces []NamespaceResult
	// Refresher says what refresh: true did to the in-cluster refresher.
	Refresher string
	// ImageChecks are the verify_image outcomes.
	ImageChecks []ImageCheck
}

// NamespaceResult is one namespace's outcome.
type NamespaceResult struct {
	Namespace        string
	CreatedNamespace bool
	Secret           kube.SecretResult
	// Patched are ServiceAccounts changed; Unchanged already had the entry.
	Patched   []string
	Unchanged []string
	// Skipped says why a namespace chosen by a glob or selector was left
	// alone (it was deleted while the run went on).
	Skipped string
	Err     error

	matched bool
}

func (n NamespaceResult) fail(err error) NamespaceResult {
	if n.matched && kube.Vanished(err) {
		n.Skipped = "namespace is being deleted"
		return n
	}
	n.Err = fmt.Errorf("namespace %q: %w", n.Namespace, err)
	return n
}

// failIn is fail, first telling a namespace being deleted from other
// failures, so the report says what really happened there.
func (n NamespaceResult) failIn(ctx context.Context, c *kube.Client, err error) NamespaceResult {
	if !errors.Is(err, kube.ErrNamespaceTerminating) && kube.Terminating(ctx, c, n.Namespace) {
		err = fmt.Errorf("%w: %w", kube.ErrNamespaceTerminating, err)
	}
	return n.fail(err)
}

// Succeeded lists namespaces where the run did what it was asked.
func (r *Result) Succeeded() []string {
	out := []string{}
	for _, n := range r.Namespaces {
		if n.Err == nil && n.Skipped == "" {
			out = append(out, n.Namespace)
		}
	}
	return out
}

// notAttempted counts namespaces a cancelled run never started.
func (r *Result) notAttempted() int {
	n := 0
	for _, ns := range r.Namespaces {
		if errors.Is(ns.Err, errNotAttempted) {
			n++
		}
	}
	return n
}

// Err joins every namespace failure; nil means all succeeded.
func (r *Result) Err() error {
	var errs []error
	for _, n := range r.Namespaces {
		if n.Err != nil {
			errs = append(errs, n.Err)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d namespace(s) failed: %w", len(errs), len(r.Namespaces), errors.Join(errs...))
}
