package fakegoogle

import "testing"

// Condition understands the equalities the printed setups use, including
// bracketed claim names, and refuses what it would only half-understand.
func TestCondition(t *testing.T) {
	claims := map[string]any{"organization_slug": "acme", "pipeline_slug": "deploy", "oidc.circleci.com/project-id": "p1"}
	for expr, want := range map[string]bool{
		"assertion.organization_slug == 'acme' && assertion.pipeline_slug == 'deploy'": true,
		"assertion.organization_slug == 'acme' && assertion.pipeline_slug == 'other'":  false,
		"assertion['oidc.circleci.com/project-id'] == 'p1'":                            true,
		"assertion['oidc.circleci.com/project-id'] == 'p2'":                            false,
	} {
		cond, err := Condition(expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := cond(claims); got != want {
			t.Errorf("%s: %v, want %v", expr, got, want)
		}
	}
	for _, bad := range []string{"assertion.a != 'x'", "assertion.a == 'x' || assertion.b == 'y'", "assertion.a.startsWith('x')"} {
		if _, err := Condition(bad); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
	if got := evalMapping("'p:' + assertion['oidc.circleci.com/project-id']", claims); got != "p:p1" {
		t.Errorf("bracketed mapping gave %q", got)
	}
}
