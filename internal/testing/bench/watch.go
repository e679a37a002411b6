// The watching refresher's benchmark (bench -watch, scripts/bench --watch).
//
// The product installs the refresher itself: the built binary runs as a
// docker action with refresh: true, refresh_mode: watch and a namespaces
// glob, against the real local control plane, with a refresh_image that
// no kubelet runs. The controller then runs out of cluster as a child
// process with the arguments of the Deployment's pod plus --kubeconfig
// PATH (`pullsecret refresh --config-map NS/NAME … --watch`), as the
// refresher's ServiceAccount (a kubeconfig holding a token the bench
// requested for it, so its RBAC and admission policy apply), on
// the GKE flavour of the identity (no refresh_workload_identity_provider:
// the fake metadata server, whose endpoint the installer fixed in the
// refresher's arguments). It measures:
//
//   - event → covered: from a namespace's create response until the
//     bench's own watches saw both its secret and its default
//     ServiceAccount's reference, for namespaces created at once and one
//     at a time (median and p99);
//   - leader failover: two controllers on the same Lease, SIGTERM to the
//     leader, until the other holds the Lease and until a namespace
//     created right after the signal is covered;
//   - steady-state API requests (audit log, by the controller's user) over
//     whole refresh cycles (token mint to token mint at the fake Google),
//     extrapolated to an hour, by kind: watches, lists, Lease, writes,
//     status; and the writes of one refresh;
//   - memory (peak VmHWM and steady VmRSS from /proc) of one controller
//     started cold on N covered namespaces, and how long it took to cover
//     them.
//
// Durations are reported, never asserted; -check asserts only counts.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pullsecret/pullsecret/internal/testing/actionbin"
)

// watchOptions are bench -watch's settings.
type watchOptions struct {
	scales        string // -n: covered-namespace counts of the memory runs
	out           string
	check         bool
	latencyN      int
	cycles        int
	tokenLifetime time.Duration
	asAdmin       bool
	skipFailover  bool
	controllerBin string
}

// watchFlags declares bench -watch's own flags.
func watchFlags() *watchOptions {
	w := &watchOptions{}
	flag.IntVar(&w.latencyN, "watch-latency-n", 100, "with -watch: namespaces created at once, and then one at a time, for event → covered")
	flag.IntVar(&w.cycles, "watch-cycles", 2, "with -watch: refresh cycles (token mint to token mint) the steady-state API requests are counted over")
	flag.DurationVar(&w.tokenLifetime, "watch-token-lifetime", 2*time.Minute, "with -watch: token_lifetime of the installed refresher (it refreshes at half of it, so a window sees refreshes)")
	flag.BoolVar(&w.asAdmin, "watch-as-admin", false, "with -watch: run the controller with the admin kubeconfig instead of its ServiceAccount's")
	flag.BoolVar(&w.skipFailover, "watch-skip-failover", false, "with -watch: skip the leader failover measurement")
	flag.StringVar(&w.controllerBin, "watch-controller-bin", "", "with -watch: run the controller from this binary (e.g. another build, to compare) instead of the one the bench builds")
	return w
}

// runWatch runs every watch measurement and writes watch.md.
func runWatch(o *watchOptions) error {
	if !flagSet("n") {
		o.scales = "1000"
	}
	var scales []int
	for _, f := range strings.Split(o.scales, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return fmt.Errorf("-n: %w", err)
		}
		scales = append(scales, n)
	}
	ctx := context.Background()
	work, err := os.MkdirTemp("", "pullsecret-bench-watch-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin, err := actionbin.Build()
	if err != nil {
		return err
	}
	defer actionbin.Cleanup()

	e, err := startWatchEnv(ctx, work, bin, o)
	if err != nil {
		return err
	}
	defer e.close()
	res := &watchResults{opts: *o, started: time.Now(), loadStart: loadAverage()}
	if err := e.install(ctx); err != nil {
		return err
	}
	progress("refresher installed (%s/%s)", refreshNamespace, e.name)

	a, err := e.startController(ctx, "bench-a")
	if err != nil {
		return err
	}
	if _, err := e.lease.waitHolder(ctx, a, time.Time{}); err != nil {
		return e.failed(err, a)
	}
	if err := e.waitCovered(ctx, []string{seedNamespace}); err != nil {
		return e.failed(err, a)
	}
	progress("controller %s leads and covered the seed namespace", a.id)

	if res.burst, err = e.latency(ctx, "burst", o.latencyN, true); err != nil {
		return e.failed(err, a)
	}
	progress("%d at once: median %s, p99 %s", o.latencyN, ms(res.burst.median()), ms(res.burst.p99()))
	if res.sequential, err = e.latency(ctx, "seq", o.latencyN, false); err != nil {
		return e.failed(err, a)
	}
	progress("%d one at a time: median %s, p99 %s", o.latencyN, ms(res.sequential.median()), ms(res.sequential.p99()))

	if !o.skipFailover {
		b, err := e.startController(ctx, "bench-b")
		if err != nil {
			return e.failed(err, a)
		}
		// Two replicas at steady state, as the Deployment runs them.
		if err := e.waitFollowing(ctx, b); err != nil {
			return e.failed(err, a, b)
		}
		st, err := e.steady(ctx, "2 replicas", len(e.covered), o.cycles)
		if err != nil {
			return e.failed(err, a, b)
		}
		res.steady = append(res.steady, st)
		f, err := e.failover(ctx, a, b)
		if err != nil {
			return e.failed(err, a, b)
		}
		res.failover = &f
		progress("failover: Lease taken after %s, new namespace covered after %s", ms(f.leaseTaken), ms(f.covered))
		if err := b.stop(); err != nil {
			return err
		}
	} else if err := a.stop(); err != nil {
		return err
	}

	for _, n := range scales {
		m, st, err := e.scale(ctx, n, o.cycles)
		if err != nil {
			return err
		}
		res.memory = append(res.memory, m)
		res.steady = append(res.steady, st)
		progress("N=%d: covered in %s, VmHWM %.0f MB, VmRSS %.0f MB", m.covered, secs(m.catchUp), mb(m.hwmKB), mb(m.rssKB))
	}
	if err := res.write(o.out); err != nil {
		return err
	}
	if o.check {
		return res.checkBudget()
	}
	return nil
}

// flagSet reports whether the command line set flag name.
func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench -watch: "+format+"\n", args...)
}

// failed adds the controllers' log tails to err.
func (e *watchEnv) failed(err error, cs ...*controller) error {
	for _, c := range cs {
		err = fmt.Errorf("%w\n--- controller %s log tail (%s):\n%s", err, c.id, filepath.Base(c.logPath), c.logTail(3000))
	}
	return err
}
