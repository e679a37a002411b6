package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// watchResults are everything bench -watch measured.
type watchResults struct {
	opts              watchOptions
	started           time.Time
	loadStart         string
	burst, sequential latencies
	failover          *failoverResult
	memory            []memoryResult
	steady            []steadyResult
}

// constantWrites is the room -check leaves over one secret write per
// covered namespace per refresh, and for ServiceAccount writes at steady
// state (where every reference already exists).
const constantWrites = 5

// checkBudget asserts the counts (never durations): at most one secret
// write per covered namespace per refresh (plus a constant), and no
// ServiceAccount rewritten at steady state.
func (r *watchResults) checkBudget() error {
	var errs []error
	for _, s := range r.steady {
		if max := s.mints*s.covered + constantWrites; s.secretW > max {
			errs = append(errs, fmt.Errorf("%s, %d namespaces: %d secret writes over %d refresh(es), over the budget of 1 per namespace per refresh + %d = %d",
				s.label, s.covered, s.secretW, s.mints, constantWrites, max))
		}
		if s.saWrites > constantWrites {
			errs = append(errs, fmt.Errorf("%s, %d namespaces: %d ServiceAccount writes at steady state, over the budget of %d (every reference already exists)",
				s.label, s.covered, s.saWrites, constantWrites))
		}
	}
	return errors.Join(errs...)
}

func loadAverage() string {
	load, _ := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(load)); len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}

// write puts watch.md into dir and prints it.
func (r *watchResults) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# pullsecret watching refresher benchmark\n\n%s, %d CPU (load average at the start: %s; at the end: %s), local control plane (internal/testing/controlplane) with kube-controller-manager creating the default ServiceAccounts; the refresher installed by the action (refresh_mode: watch, namespaces `%s`, token_lifetime %s), its controller run out of cluster as %s. Requests counted in the API server's audit log; times from the bench's own watches. Reproduce: `scripts/bench --watch`.\n\n",
		r.started.UTC().Format("2006-01-02"), runtime.NumCPU(), r.loadStart, loadAverage(), coverageGlob, r.opts.tokenLifetime, identityName(r.opts.asAdmin))

	b.WriteString("## Event → secret written and referenced\n\nFrom the namespace's create response until the bench saw both the secret and the default ServiceAccount's reference (the ServiceAccount itself is created by kube-controller-manager, which is part of the time).\n\n")
	b.WriteString("| namespaces | median | p99 | max | secret median / p99 | reference median / p99 | default ServiceAccount created (median) |\n|---|---:|---:|---:|---|---|---:|\n")
	for _, l := range []latencies{r.burst, r.sequential} {
		if l.n == 0 {
			continue
		}
		what := fmt.Sprintf("%d one at a time", l.n)
		if l.label == "burst" {
			what = fmt.Sprintf("%d created at once (responses over %s)", l.n, ms(l.createdSpread))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s / %s | %s / %s | %s |\n", what, ms(l.median()), ms(l.p99()), ms(percentile(l.covered, 100)),
			ms(percentile(l.secret, 50)), ms(percentile(l.secret, 99)), ms(percentile(l.ref, 50)), ms(percentile(l.ref, 99)), ms(percentile(l.serviceAccount, 50)))
	}

	if f := r.failover; f != nil {
		b.WriteString("\n## Leader failover\n\nTwo controllers on the same Lease; SIGTERM to the leader, and a namespace created right after the signal.\n\n")
		b.WriteString("| SIGTERM → Lease released | → the other holds the Lease | → new namespace covered | its create → covered | leader exited after |\n|---:|---:|---:|---:|---:|\n")
		released := "not seen"
		if f.released > 0 {
			released = ms(f.released)
		}
		exit := ms(f.leaderExit)
		if !f.graceful {
			exit += " (" + f.exitMessage + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", released, ms(f.leaseTaken), ms(f.covered), ms(f.fromCreate), exit)
	}

	if len(r.memory) > 0 {
		b.WriteString("\n## Memory\n\nOne controller started cold with the namespaces already there (all but those of the earlier measurements not yet written); VmHWM is the peak over catch-up and the steady-state cycles (refreshes included), VmRSS the median and largest of once-a-second samples over those cycles. Target < 100 MB.\n\n")
		b.WriteString("| covered namespaces | start → leading | start → all new covered | peak (VmHWM) | steady VmRSS median / max |\n|---:|---:|---:|---:|---|\n")
		for _, m := range r.memory {
			fmt.Fprintf(&b, "| %d | %s | %s | %.0f MB | %.0f / %.0f MB |\n", m.covered, secs(m.leading), secs(m.catchUp), mb(m.hwmKB), mb(m.rssKB), mb(m.rssMaxKB))
		}
		b.WriteString("\nThe controller's requests from its start until every new namespace was covered:\n\n")
		for _, m := range r.memory {
			fmt.Fprintf(&b, "- %d covered: %d requests: %s\n", m.covered, total(m.catchUpRequests), byVerb(m.catchUpRequests))
		}
	}

	if len(r.steady) > 0 {
		fmt.Fprintf(&b, "\n## API requests at steady state\n\nThe controllers' requests over whole refresh cycles (from a token mint to the next, by the requests' receive time), extrapolated to an hour. A refresh (one token mint, then its writes) comes every half token_lifetime (%s here); \"at the default\" projects the non-refresh requests plus 2 refreshes an hour (token_lifetime 1h). Watches are long-lived: a window sees only those that ended and were re-opened in it (client-go re-opens each after 5–10 min).\n\n", r.opts.tokenLifetime/2)
		b.WriteString("| replicas | covered | window |")
		for _, c := range requestClasses {
			fmt.Fprintf(&b, " %s/h |", c)
		}
		b.WriteString(" total/h | refreshes | secret writes per refresh | ServiceAccount writes | at the default, /h |\n|---|---:|---:|")
		b.WriteString(strings.Repeat("---:|", len(requestClasses)))
		b.WriteString("---:|---:|---:|---:|---:|\n")
		for _, s := range r.steady {
			fmt.Fprintf(&b, "| %s | %d | %s |", s.label, s.covered, secs(s.window))
			for _, c := range requestClasses {
				fmt.Fprintf(&b, " %.0f |", s.perHour(s.byClass[c]))
			}
			fmt.Fprintf(&b, " %.0f | %d | %.2f | %d | %.0f |\n", s.perHour(total(s.byClass)), s.mints, s.writesPerRefresh(), s.saWrites, s.atDefault())
		}
		b.WriteString("\nRequests in the window by verb and resource:\n\n")
		for _, s := range r.steady {
			fmt.Fprintf(&b, "- %s, %d namespaces, %s: %s\n", s.label, s.covered, secs(s.window), byVerb(s.byKey))
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "watch.md"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	fmt.Print(b.String())
	return nil
}

// atDefault projects the window to token_lifetime 1h: the requests that
// are not a refresh's (writes, status) per hour, plus two refreshes.
func (s steadyResult) atDefault() float64 {
	refresh := s.byClass[classWrite] + s.byClass[classStatus]
	rest := s.perHour(total(s.byClass) - refresh)
	if s.mints == 0 {
		return rest
	}
	return rest + 2*float64(refresh)/float64(s.mints)
}

func identityName(admin bool) string {
	if admin {
		return "the admin (-watch-as-admin)"
	}
	return "the refresher's ServiceAccount (its RBAC and admission policy apply)"
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d.Microseconds())/1000) }

func mb(kb int64) float64 { return float64(kb) / 1024 }
