//go:build integration

package runner

import (
	"net/http"
	"testing"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/kube"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/faultproxy"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

// faultTimeout is the per-call limit of the fault runs: the product's own.
// A stalled response costs it once per scenario (stalls run side by side),
// and every call that is merely slow on a busy machine keeps the margin a
// real run has; a shorter limit made calls the proxy never touched fail.
const faultTimeout = kube.DefaultRequestTimeout

// maxAttemptsPerCall bounds one call's attempts by the retry policy within
// faultTimeout (kube.MaxAttempts), never by how fast this machine is: the
// retries after connection errors last as long as the per-call limit.
var maxAttemptsPerCall = kube.MaxAttempts(faultTimeout)

// callsPerNamespace is what an apply costs with one ServiceAccount: apply
// the secret, update the ServiceAccount (both are read by LISTs across the
// namespaces, which belong to no namespace).
const callsPerNamespace = 2

// clusterWide matches the LISTs across namespaces (the proxy files them
// under namespace "").
var clusterWide = map[string]bool{"": true}

// faultScenario injects faults through the proxy into one run across a
// fleet. Permanent rules must make exactly the namespaces they hit fail;
// transient ones must be retried away.
type faultScenario struct {
	name string
	// rules get the fleet's names in a seeded order to slice disjoint sets.
	rules     func(s []string) []faultproxy.Rule
	permanent []string // names of the rules whose namespaces must fail
	transient []string // names of the rules that must have fired yet been survived
}

var faultScenarios = []faultScenario{
	{
		name: "429 with Retry-After",
		rules: func(s []string) []faultproxy.Rule {
			return []faultproxy.Rule{
				{Name: "transient-429", Namespaces: set(s[0:100]), FirstN: 1, Probability: 0.5, Fault: faultproxy.TooManyRequests, RetryAfter: "1"},
				{Name: "permanent-429-update-sa", Namespaces: set(s[100:106]), Method: http.MethodPut, Resource: "serviceaccounts", Fault: faultproxy.TooManyRequests, RetryAfter: "0"},
				{Name: "permanent-429-apply-secret", Namespaces: set(s[106:110]), Method: http.MethodPatch, Resource: "secrets", Fault: faultproxy.TooManyRequests, RetryAfter: "1"},
				{Name: "transient-429-list", Namespaces: clusterWide, Method: http.MethodGet, FirstN: 1, Fault: faultproxy.TooManyRequests, RetryAfter: "1"},
			}
		},
		permanent: []string{"permanent-429-update-sa", "permanent-429-apply-secret"},
		transient: []string{"transient-429", "transient-429-list"},
	},
	{
		name: "500 and 503",
		rules: func(s []string) []faultproxy.Rule {
			return []faultproxy.Rule{
				{Name: "transient-503", Namespaces: set(s[0:120]), FirstN: 2, Probability: 0.3, Fault: faultproxy.Unavailable, RetryAfter: "1"},
				{Name: "permanent-500-apply-secret", Namespaces: set(s[120:127]), Method: http.MethodPatch, Resource: "secrets", Fault: faultproxy.InternalError},
				{Name: "permanent-503-update-sa", Namespaces: set(s[127:132]), Method: http.MethodPut, Resource: "serviceaccounts", Fault: faultproxy.Unavailable, RetryAfter: "0"},
				{Name: "transient-503-list", Namespaces: clusterWide, Method: http.MethodGet, FirstN: 2, Fault: faultproxy.Unavailable, RetryAfter: "1"},
			}
		},
		permanent: []string{"permanent-500-apply-secret", "permanent-503-update-sa"},
		transient: []string{"transient-503", "transient-503-list"},
	},
	{
		name: "connection resets",
		rules: func(s []string) []faultproxy.Rule {
			return []faultproxy.Rule{
				{Name: "transient-reset-list", Namespaces: clusterWide, Method: http.MethodGet, FirstN: 1, Fault: faultproxy.Reset},
				{Name: "permanent-reset-update-sa", Namespaces: set(s[100:106]), Method: http.MethodPut, Resource: "serviceaccounts", Fault: faultproxy.Reset},
				{Name: "reset-after-apply-secret", Namespaces: set(s[106:112]), Method: http.MethodPatch, Resource: "secrets", Fault: faultproxy.ResetAfterForward},
			}
		},
		permanent: []string{"permanent-reset-update-sa", "reset-after-apply-secret"},
		transient: []string{"transient-reset-list"},
	},
	{
		name: "stalled responses",
		rules: func(s []string) []faultproxy.Rule {
			return []faultproxy.Rule{
				{Name: "stall-update-sa", Namespaces: set(s[5:10]), Method: http.MethodPut, Resource: "serviceaccounts", Fault: faultproxy.Stall},
				{Name: "stall-apply-secret", Namespaces: set(s[10:13]), Method: http.MethodPatch, Resource: "secrets", Fault: faultproxy.Stall},
			}
		},
		permanent: []string{"stall-update-sa", "stall-apply-secret"},
	},
}

// TestFaultsAcrossNamespaces runs each scenario through the fault proxy
// against a fleet of 200 namespaces on the real API server. The run must
// end on its own (the context deadline is a hang guard, not a timing
// assertion), name exactly the namespaces whose faults were permanent, exit
// with an error, and report nothing as written that the API server does not
// hold.
func TestFaultsAcrossNamespaces(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := fastClient(t, cp)
	f := newFleet(t, cp)
	for i, sc := range faultScenarios {
		// Sequential: each scenario is a 200-namespace run and the
		// machine is small; each writes its own secret name.
		t.Run(sc.name, func(t *testing.T) {
			seed := uint64(7 + i)
			names := f.shuffled(seed)
			rules := sc.rules(names)
			p, kc := startProxy(t, cp, faultproxy.Config{Rules: rules, Seed: seed})
			secretName := freshName("faults")

			guard := controlplanetest.Context(t)
			r := runCtx(guard, t, kc, withCreds(t, fakestack.KeyToken, map[string]string{
				config.InNamespaceSelector: f.selector,
				config.InSecretName:        secretName,
			}), Deps{KubeRequestTimeout: faultTimeout})
			if guard.Err() != nil {
				t.Fatalf("the run did not end on its own; the hang guard stopped it: %v", r.err)
			}

			want := p.FaultedNamespaces(sc.permanent...)
			var chosen []string
			for _, rule := range rules {
				for _, name := range sc.permanent {
					if rule.Name == name {
						chosen = append(chosen, sortedKeys(rule.Namespaces)...)
					}
				}
			}
			// Every namespace a permanent rule was aimed at was hit.
			if len(want) != len(chosen) {
				t.Errorf("permanent faults hit %d namespaces, %d were targeted", len(want), len(chosen))
			}
			for _, name := range sc.transient {
				if len(p.FaultedNamespaces(name)) == 0 {
					t.Errorf("transient rule %s never fired", name)
				}
			}
			checkNamedFailures(t, r, want)
			n := checkRealState(t, cs, f, secretName, r.res)

			// Bounded retries: no namespace saw more than the bounded
			// attempts for each of its calls.
			for ns, got := range p.Requests() {
				if ns != "" && got > callsPerNamespace*maxAttemptsPerCall {
					t.Errorf("namespace %s got %d requests, more than %d calls × %d attempts", ns, got, callsPerNamespace, maxAttemptsPerCall)
				}
			}
			t.Logf("ROW %s | namespaces %d | faults injected %d (transient in %d namespaces) | failed %d named %d | false successes %d | entries lost %d | dangling refs %d",
				sc.name, len(f.names), len(p.Events()), len(p.FaultedNamespaces(sc.transient...)), len(want), len(failedIn(r.res)), n.falseSuccesses, n.entriesLost, n.dangling)
		})
	}
}
