package fakegoogle

import (
	"fmt"
	"strings"
)

// claimOf reads the claim a CEL term names: assertion.NAME,
// assertion['NAME'] (for claim names holding dots or slashes, such as
// CircleCI's oidc.circleci.com/project-id) or a bare NAME. Only string
// claims map, as only they do on Google without a conversion.
func claimOf(term string, claims map[string]any) string {
	name := strings.TrimPrefix(term, "assertion.")
	if inner, ok := strings.CutPrefix(term, "assertion["); ok && strings.HasSuffix(inner, "]") {
		name = strings.Trim(strings.TrimSuffix(inner, "]"), `'"`)
	}
	v, _ := claims[name].(string)
	return v
}

// Condition is the small part of CEL attribute conditions the printed
// provider setups use: TERM == 'literal' joined by &&, TERM as in
// AttributeMapping. Anything else is refused rather than half-understood,
// so a test can hand the fake the very condition pullsecret prints
// (https://cloud.google.com/iam/docs/workload-identity-federation#conditions).
func Condition(expr string) (func(claims map[string]any) bool, error) {
	type eq struct{ term, want string }
	var eqs []eq
	for _, part := range strings.Split(expr, "&&") {
		term, lit, ok := strings.Cut(part, "==")
		lit = strings.TrimSpace(lit)
		if !ok || len(lit) < 2 || lit[0] != '\'' || lit[len(lit)-1] != '\'' || strings.ContainsAny(lit[1:len(lit)-1], "'=") || strings.ContainsAny(term, "!|<>()") {
			return nil, fmt.Errorf("fakegoogle: condition %q: only TERM == 'literal' joined by && is understood", expr)
		}
		eqs = append(eqs, eq{strings.TrimSpace(term), lit[1 : len(lit)-1]})
	}
	return func(claims map[string]any) bool {
		for _, e := range eqs {
			if claimOf(e.term, claims) != e.want {
				return false
			}
		}
		return true
	}, nil
}
