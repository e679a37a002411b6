package watcher

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pullsecret/pullsecret/internal/kube"
	"github.com/pullsecret/pullsecret/internal/refresher"
)

// The watches stay within the watch-mode RBAC: a secret is only ever
// watched by its name; named coverage watches only its namespaces;
// ServiceAccounts by name unless "*".
func TestPlan(t *testing.T) {
	t.Parallel()
	const secret = "gcr-pull-secret"
	for _, tc := range []struct {
		name string
		cov  refresher.Coverage
		want []kube.WatchSpec
	}{
		{
			name: "named namespaces, named ServiceAccounts",
			cov:  refresher.Coverage{Namespaces: []string{"b", "a"}, ServiceAccounts: []string{"default", "builder"}},
			want: []kube.WatchSpec{
				{Resource: "namespaces", Name: "a"}, {Resource: "namespaces", Name: "b"},
				{Resource: "secrets", Namespace: "a", Name: secret},
				{Resource: "serviceaccounts", Namespace: "a", Name: "default"}, {Resource: "serviceaccounts", Namespace: "a", Name: "builder"},
				{Resource: "secrets", Namespace: "b", Name: secret},
				{Resource: "serviceaccounts", Namespace: "b", Name: "default"}, {Resource: "serviceaccounts", Namespace: "b", Name: "builder"},
			},
		},
		{
			name: "named namespace, every ServiceAccount",
			cov:  refresher.Coverage{Namespaces: []string{"a"}, ServiceAccounts: []string{"*"}},
			want: []kube.WatchSpec{
				{Resource: "namespaces", Name: "a"},
				{Resource: "secrets", Namespace: "a", Name: secret},
				{Resource: "serviceaccounts", Namespace: "a"},
			},
		},
		{
			name: "glob: the secret by name across the cluster",
			cov:  refresher.Coverage{Namespaces: []string{"preview-*", "staging"}, ServiceAccounts: []string{"default"}},
			want: []kube.WatchSpec{
				{Resource: "namespaces"},
				{Resource: "secrets", Name: secret},
				{Resource: "serviceaccounts", Name: "default"},
			},
		},
		{
			name: "selector, every ServiceAccount",
			cov:  refresher.Coverage{Selector: "team=a", ServiceAccounts: []string{"*"}},
			want: []kube.WatchSpec{
				{Resource: "namespaces"},
				{Resource: "secrets", Name: secret},
				{Resource: "serviceaccounts"},
			},
		},
		{
			name: "no ServiceAccounts",
			cov:  refresher.Coverage{Selector: "team=a"},
			want: []kube.WatchSpec{{Resource: "namespaces"}, {Resource: "secrets", Name: secret}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, plan(tc.cov, secret)); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}
