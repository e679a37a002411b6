package runner

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestExplainForbidden(t *testing.T) {
	t.Parallel()
	forbidden := func(resource, verb string) error {
		return apierrors.NewForbidden(schema.GroupResource{Resource: resource}, "x",
			fmt.Errorf("User \"u\" cannot %s resource %q in API group \"\"", verb, resource))
	}
	const prefix = `namespace "a": `
	tests := []struct {
		name   string
		err    error
		secret string
		want   string // "" means err comes back unchanged
	}{
		{
			name: "nil",
			err:  nil,
		},
		{
			name: "not forbidden",
			err:  apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, "x"),
		},
		{
			name: "plain error",
			err:  errors.New("boom"),
		},
		{
			name: "namespaces", err: fmt.Errorf("failed to look up namespace: %w", forbidden("namespaces", "get")), secret: "gcr-pull-secret",
			want: `failed to look up namespace: namespaces "x" is forbidden: User "u" cannot get resource "namespaces" in API group ""; RBAC: grant the identity the rules of deploy/rbac.yaml (deploy/rbac-namespaced.yaml for a single namespace)`,
		},
		{
			name:   "secrets among joined namespace errors names secret_name once",
			err:    fmt.Errorf("2 of 2 namespace(s) failed: %w", errors.Join(fmt.Errorf(prefix+"%w", forbidden("secrets", "create")), fmt.Errorf(prefix+"%w", forbidden("secrets", "create")))),
			secret: "my-pull",
			want: "2 of 2 namespace(s) failed: " + prefix + `secrets "x" is forbidden: User "u" cannot create resource "secrets" in API group ""` + "\n" +
				prefix + `secrets "x" is forbidden: User "u" cannot create resource "secrets" in API group ""` +
				`; RBAC: grant the identity the rules of deploy/rbac.yaml (deploy/rbac-namespaced.yaml for a single namespace), with secret_name "my-pull" in the secrets rule's resourceNames`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := explainForbidden(tt.err, tt.secret)
			if tt.want == "" {
				if got != tt.err {
					t.Fatalf("want the error unchanged, got %v", got)
				}
				return
			}
			if diff := cmp.Diff(tt.want, got.Error()); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
			if !apierrors.IsForbidden(got) {
				t.Errorf("the Forbidden error is no longer reachable with errors.As: %v", got)
			}
		})
	}
}
