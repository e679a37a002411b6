package faultproxy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/rest"
)

func TestParse(t *testing.T) {
	t.Parallel()
	cases := []struct {
		method, path string
		want         Request
	}{
		{
			method: "GET",
			path:   "/api/v1/namespaces/a/serviceaccounts/default",
			want:   Request{Method: "GET", Namespace: "a", Resource: "serviceaccounts", Name: "default"},
		},
		{
			method: "PATCH",
			path:   "/api/v1/namespaces/a/secrets/pull",
			want:   Request{Method: "PATCH", Namespace: "a", Resource: "secrets", Name: "pull"},
		},
		{
			method: "GET",
			path:   "/api/v1/namespaces/a/serviceaccounts",
			want:   Request{Method: "GET", Namespace: "a", Resource: "serviceaccounts"},
		},
		{
			method: "GET",
			path:   "/api/v1/namespaces/a",
			want:   Request{Method: "GET", Namespace: "a", Resource: "namespaces", Name: "a"},
		},
		{
			method: "GET",
			path:   "/api/v1/namespaces",
			want:   Request{Method: "GET", Resource: "namespaces"},
		},
		{
			method: "POST",
			path:   "/apis/rbac.authorization.k8s.io/v1/namespaces/b/roles",
			want:   Request{Method: "POST", Namespace: "b", Resource: "roles"},
		},
		{
			method: "GET",
			path:   "/readyz",
			want:   Request{Method: "GET"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			t.Parallel()

			if diff := cmp.Diff(tc.want, Parse(tc.method, tc.path)); diff != "" {
				t.Errorf("Parse(%s %s) (-want +got):\n%s", tc.method, tc.path, diff)
			}

		})
	}
}

// FirstN makes a fault transient per namespace; a seed makes probabilistic
// rules reproducible.
func TestDecide(t *testing.T) {
	t.Parallel()
	rules := []Rule{
		{Name: "first-two", Resource: "secrets", FirstN: 2, Fault: Reset},
		{Name: "half", Resource: "serviceaccounts", Probability: 0.5, Fault: Unavailable},
	}
	run := func() []string {
		p, err := New(Config{Upstream: &rest.Config{Host: "https://127.0.0.1:1"}, Rules: rules, Seed: 42})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		var fired []string
		for i := range 40 {
			res := "secrets"
			if i%2 == 1 {
				res = "serviceaccounts"
			}
			rule, _, _ := p.decide(Request{Method: "GET", Namespace: []string{"a", "b"}[i%4/2], Resource: res})
			if rule != nil {
				fired = append(fired, rule.Name)
			}
		}
		return fired
	}
	first, second := run(), run()
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("same seed, different faults (-first +second):\n%s", diff)
	}
	counts := map[string]int{}
	for _, f := range first {
		counts[f]++
	}
	if counts["first-two"] != 4 {
		t.Errorf("first-two fired %d times, want 2 per namespace × 2", counts["first-two"])
	}
	if counts["half"] == 0 || counts["half"] == 20 {
		t.Errorf("half fired %d of 20 times", counts["half"])
	}
}
