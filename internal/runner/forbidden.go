package runner

import (
	"errors"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// explainForbidden says where the permissions an RBAC denial lacked are
// written down. The API server's message already names the verb and the
// resource (`cannot list resource "secrets"`), so it is kept whole; the hint
// is added once, however many namespaces failed.
func explainForbidden(err error, secretName string) error {
	resources := forbiddenResources(err)
	if len(resources) == 0 {
		return err
	}
	hint := "grant the identity the rules of deploy/rbac.yaml (deploy/rbac-namespaced.yaml for a single namespace)"
	if slices.Contains(resources, "secrets") {
		hint += fmt.Sprintf(", with secret_name %q in the secrets rule's resourceNames", secretName)
	}
	return fmt.Errorf("%w; RBAC: %s", err, hint)
}

// forbiddenResources lists the resources of every Forbidden API error in
// err's tree (a run joins one error per namespace).
func forbiddenResources(err error) []string {
	var out []string
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if status, ok := err.(apierrors.APIStatus); ok {
			if s := status.Status(); s.Reason == metav1.StatusReasonForbidden && s.Details != nil && !slices.Contains(out, s.Details.Kind) {
				out = append(out, s.Details.Kind)
			}
			return
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		default:
			walk(errors.Unwrap(err))
		}
	}
	walk(err)
	return out
}
