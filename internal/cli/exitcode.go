package cli

import (
	"errors"

	"github.com/pullsecret/pullsecret/internal/runner"
)

// Exit codes. They are a public contract (scripts branch on them): never
// renumber one. docs/cli.md "Exit codes" documents them.
const (
	// ExitOK: every namespace was done (or none matched).
	ExitOK = 0
	// ExitFailed: one or more namespaces failed (a partial failure: the
	// report says which), or the run failed for a reason none of the codes
	// below names (cancelled, outputs not written).
	ExitFailed = 1
	// ExitBadInput: the command line or an input is wrong, or the
	// kubeconfig cannot be used; nothing was contacted or written.
	ExitBadInput = 2
	// ExitCredentials: no Google credential could be had (refused,
	// unreachable, or no OIDC token); nothing was written.
	ExitCredentials = 3
	// ExitClusterUnreachable: the API server could not be reached or did
	// not answer in time.
	ExitClusterUnreachable = 4
	// ExitForbidden: the API server refused the cluster credentials (401)
	// or RBAC denied what the run needs (403) — for the whole run, not in
	// some namespaces only.
	ExitForbidden = 5
)

// ExitCode maps a run's error to its exit code.
func ExitCode(err error) int {
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, runner.ErrBadInput):
		return ExitBadInput
	case errors.Is(err, runner.ErrCredentials):
		return ExitCredentials
	case errors.Is(err, runner.ErrClusterUnreachable):
		return ExitClusterUnreachable
	case errors.Is(err, runner.ErrForbidden):
		return ExitForbidden
	default:
		return ExitFailed
	}
}
