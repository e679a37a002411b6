package main

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/pullsecret/pullsecret/internal/testing/fakegoogle"
)

// latencies are event → covered times of one batch of namespaces.
type latencies struct {
	label          string
	n              int
	covered        []time.Duration // max(secret, reference) - create response
	secret, ref    []time.Duration
	createdSpread  time.Duration // first to last create response (at once)
	serviceAccount []time.Duration
}

func (l latencies) median() time.Duration { return percentile(l.covered, 50) }
func (l latencies) p99() time.Duration    { return percentile(l.covered, 99) }

// percentile is the nearest-rank percentile p of ds.
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := (p*len(s) + 99) / 100 // ceil(p/100 × n)
	return s[max(rank, 1)-1]
}

// latency creates n namespaces (all at once, or one at a time waiting
// for each) and measures event → covered.
func (e *watchEnv) latency(ctx context.Context, tag string, n int, atOnce bool) (latencies, error) {
	l := latencies{label: tag, n: n}
	names := make([]string, n)
	created := make([]time.Time, n)
	for i := range names {
		names[i] = fmt.Sprintf("bench-%s-%03d", tag, i)
	}
	if atOnce {
		var wg sync.WaitGroup
		errs := make([]error, n)
		start := make(chan struct{})
		for i := range names {
			wg.Go(func() {
				<-start
				created[i], errs[i] = e.createNamespace(ctx, names[i])
			})
		}
		close(start)
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return l, err
			}
		}
		e.covered = append(e.covered, names...)
		first, last := created[0], created[0]
		for _, t := range created {
			first, last = minTime(first, t), maxTime(last, t)
		}
		l.createdSpread = last.Sub(first)
		if err := e.waitCovered(ctx, names); err != nil {
			return l, err
		}
	} else {
		for i, ns := range names {
			var err error
			if created[i], err = e.createNamespace(ctx, ns); err != nil {
				return l, err
			}
			e.covered = append(e.covered, ns)
			if err := e.waitCovered(ctx, names[i:i+1]); err != nil {
				return l, err
			}
		}
	}
	for i, ns := range names {
		secret, ref, _ := e.arrivals.covered(ns)
		l.secret = append(l.secret, secret.Sub(created[i]))
		l.ref = append(l.ref, ref.Sub(created[i]))
		l.covered = append(l.covered, maxTime(secret, ref).Sub(created[i]))
		e.arrivals.mu.Lock()
		l.serviceAccount = append(l.serviceAccount, e.arrivals.sa[ns].Sub(created[i]))
		e.arrivals.mu.Unlock()
	}
	return l, nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// waitFollowing waits until the second controller runs its election: its
// metrics say it is no leader (or, when it serves no metrics, a few Lease
// retry periods).
func (e *watchEnv) waitFollowing(ctx context.Context, c *controller) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if err := c.running(); err != nil {
			return err
		}
		if v, ok := c.metric("pullsecret_leader"); ok && v == 0 {
			time.Sleep(3 * time.Second) // a couple of acquire attempts
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	progress("controller %s serves no pullsecret_leader metric; assuming it follows", c.id)
	return c.running()
}

// failover SIGTERMs the leader a, creates a namespace right after, and
// measures until b holds the Lease and until the namespace is covered.
type failoverResult struct {
	released    time.Duration // SIGTERM → Lease without holder (0: not seen)
	leaseTaken  time.Duration // SIGTERM → b holds the Lease
	covered     time.Duration // SIGTERM → the new namespace covered
	fromCreate  time.Duration // its create response → covered
	leaderExit  time.Duration // SIGTERM → a exited
	graceful    bool
	exitMessage string
}

func (e *watchEnv) failover(ctx context.Context, a, b *controller) (failoverResult, error) {
	var f failoverResult
	ns := "bench-failover-0"
	kill := time.Now()
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return f, err
	}
	created, err := e.createNamespace(ctx, ns)
	if err != nil {
		return f, err
	}
	e.covered = append(e.covered, ns)
	taken, err := e.lease.waitHolder(ctx, b, kill)
	if err != nil {
		return f, err
	}
	if err := e.waitCovered(ctx, []string{ns}); err != nil {
		return f, err
	}
	secret, ref, _ := e.arrivals.covered(ns)
	done := maxTime(secret, ref)
	f.leaseTaken, f.covered, f.fromCreate = taken.Sub(kill), done.Sub(kill), done.Sub(created)
	if r := e.lease.released(kill); !r.IsZero() {
		f.released = r.Sub(kill)
	}
	select {
	case <-a.exited:
	case <-time.After(time.Minute):
		_ = a.cmd.Process.Kill()
		<-a.exited
	}
	f.leaderExit = a.exitedAt.Sub(kill)
	f.graceful = a.waitErr == nil
	if a.waitErr != nil {
		f.exitMessage = a.waitErr.Error()
	}
	return f, nil
}

// mints counts the access tokens minted so far for the secrets.
func (e *watchEnv) mints() int { return len(e.minted()) }

// minted are the times those tokens were minted, oldest first.
func (e *watchEnv) minted() []time.Time {
	var out []time.Time
	for _, t := range e.stack.Google.Issued() {
		if t.Kind == fakegoogle.KindImpersonated {
			out = append(out, t.IssuedAt)
		}
	}
	return out
}
