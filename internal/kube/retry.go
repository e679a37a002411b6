package kube

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilnet "k8s.io/apimachinery/pkg/util/net"
)

// Every request pullsecret makes shares one HTTP/2 connection to the API
// server, so one dropped connection (a control-plane upgrade, a load
// balancer, a GOAWAY) fails every request in flight at once. client-go
// retries only GETs after a reset; pullsecret's writes are all safe to
// repeat (see repeat), so each call here is retried after a connection
// error, on a new connection (the HTTP/2 transport drops a broken one), with
// growing, jittered waits, until the per-call limit runs out.
//
// A connection that dies silently (no reset) is found by client-go's HTTP/2
// health check (a ping after 30 s without a frame, dead 15 s later; the
// HTTP2_READ_IDLE_TIMEOUT_SECONDS and HTTP2_PING_TIMEOUT_SECONDS
// variables tune it), or the call's limit ends it.

// repeat says whether a request may be sent again when its outcome is
// unknown.
type repeat int

const (
	// read: repeating it changes nothing.
	read repeat = iota
	// conditionalWrite: a write conditional on the object it was computed
	// from (a resourceVersion or UID precondition, or a server-side apply
	// with one): if the first attempt was applied, a repeat fails with a
	// Conflict (or NotFound, for a delete) that the caller answers by
	// reading again.
	conditionalWrite
	// sentOnce: a write whose repeat could act twice; it is only retried
	// when it certainly never reached the server (the dial failed).
	sentOnce
)

// budget is a client's limits on retrying: the per-call limit, and the
// outage all its calls share. A server that stays unreachable is given one
// per-call limit from the first failure, not one per call: otherwise a run
// against a server that is gone would wait out a full limit in every
// namespace, one batch of workers after another.
type budget struct {
	limit time.Duration

	mu    sync.Mutex
	since time.Time // first connection error since the last answer; zero: none
	// answered: the server has answered this client at least once. Until
	// then a refused dial fails at once: a wrong address or a server that
	// is not running is reported now, not after a per-call limit.
	answered bool
}

func newBudget(limit time.Duration) *budget { return &budget{limit: limit} }

// observe records an outcome; it returns whether the outage (if any) still
// leaves time to retry.
func (b *budget) observe(err error) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !connectionError(err) {
		b.since = time.Time{} // the server answered
		b.answered = b.answered || err == nil || !errors.Is(err, context.Canceled)
		return true
	}
	if !b.answered && notSent(err) {
		return false
	}
	now := time.Now()
	if b.since.IsZero() {
		b.since = now
	}
	return now.Sub(b.since) < b.limit
}

// retryCall runs call until it succeeds, fails with an error that is not
// worth another attempt, or the per-call limit (from the first attempt) or
// the client's outage budget would pass before the next attempt.
//
// It also does what client-go's own retries did (they are off, see
// Resource.request: they wait a fixed second after a connection error, and
// know neither the outage budget nor which writes are safe to repeat): a
// 429, or a 5xx with Retry-After, is retried after the wait the server
// asks for.
func retryCall[O any](ctx context.Context, bu *budget, r repeat, call func(context.Context) (O, error)) (O, error) {
	ctx, cancel := context.WithTimeout(ctx, bu.limit)
	defer cancel()
	b := newBackoff(connectionBackoff)
	asked := 0
	for {
		out, err := call(ctx)
		inBudget := bu.observe(err)
		if err == nil || ctx.Err() != nil {
			return out, err
		}
		wait := b.step()
		switch delay, ok := serverDelay(err, r); {
		case notSent(err) && inBudget:
		case r != sentOnce && connectionError(err) && inBudget:
			if r == conditionalWrite {
				noteResent(ctx)
			}
		case ok && asked < maxAsked:
			asked++
			if delay > 0 {
				wait = delay
			}
		default:
			return out, err
		}
		if !sleep(ctx, wait) {
			return out, err
		}
	}
}

// maxAsked bounds the retries a server asks for (client-go's bound): a
// server that answers "retry now" forever is not retried forever.
const maxAsked = 10

// MaxAttempts is the most requests one call can send within limit: the
// first, the connection-error retries whose shortest waits (half of each
// backoff step) fit in limit, and the retries a server asks for. It is a
// property of the policy, not of the machine, so tests can hold the
// retries to it on any machine.
func MaxAttempts(limit time.Duration) int {
	n, spent, w := 1, time.Duration(0), connectionBackoff.initial
	for spent+w/2 < limit {
		spent += w / 2
		n++
		w = min(2*w, connectionBackoff.max)
	}
	return n + maxAsked
}

// serverDelay reports a refusal the server asks to be retried, and after
// how long: a 429 (never acted on) for any request; for requests safe to
// repeat, a 503 (an API server shutting down answers one, asking for a
// retry after 1 s in a header this layer does not see) or another 5xx with
// a Retry-After. Zero means the backoff's wait.
func serverDelay(err error, r repeat) (time.Duration, bool) {
	secs, suggested := apierrors.SuggestsClientDelay(err)
	switch {
	case apierrors.IsTooManyRequests(err):
	case r == sentOnce:
		return 0, false
	case apierrors.IsServiceUnavailable(err):
		if !suggested {
			secs = 1
		}
	case suggested:
		var status apierrors.APIStatus
		if !errors.As(err, &status) || status.Status().Code < 500 {
			return 0, false
		}
	default:
		return 0, false
	}
	return time.Duration(max(secs, 0)) * time.Second, true
}

// connectionError reports an error that says the connection broke, not
// that the server refused the request: a reset, an EOF mid-answer, a
// GOAWAY, a broken pipe, a refused or timed-out dial, or one request's
// network timeout.
func connectionError(err error) bool {
	if err == nil {
		return false
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return false // the server answered
	}
	return notSent(err) ||
		utilnet.IsConnectionReset(err) || utilnet.IsProbableEOF(err) || utilnet.IsHTTP2ConnectionLost(err) ||
		strings.Contains(err.Error(), "http2: client connection force closed") ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.ETIMEDOUT) ||
		utilnet.IsTimeout(err)
}

// notSent reports an error from before the request left: the dial failed
// (the API server is restarting, or a load balancer has no backend).
func notSent(err error) bool {
	if utilnet.IsConnectionRefused(err) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// connectionBackoff: the first retry comes soon (the transport has already
// dropped the broken connection); later ones spread out so a restarting API
// server is not met by every worker at once.
var connectionBackoff = backoffSpec{initial: 50 * time.Millisecond, max: time.Second}

// conflictBackoff: writers racing on one object retry at different times.
var conflictBackoff = backoffSpec{initial: 10 * time.Millisecond, max: 500 * time.Millisecond}

type backoffSpec struct{ initial, max time.Duration }

// backoff doubles its wait up to max, each wait drawn from [w/2, w) so
// that workers cut off together do not come back together.
type backoff struct {
	spec backoffSpec
	next time.Duration
}

func newBackoff(s backoffSpec) *backoff { return &backoff{spec: s, next: s.initial} }

func (b *backoff) step() time.Duration {
	w := b.next
	b.next = min(2*b.next, b.spec.max)
	return w/2 + rand.N(w/2+1)
}

// sleep waits for the next step (see sleep).
func (b *backoff) sleep(ctx context.Context) bool { return sleep(ctx, b.step()) }

// sleep waits w; it returns false, at once, when ctx would end first: the
// caller returns its last error rather than a deadline.
func sleep(ctx context.Context, w time.Duration) bool {
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= w {
		return false
	}
	t := time.NewTimer(w)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// onConflict runs fn until it returns anything but a Conflict, re-running
// it (fn re-reads what it needs) while the per-call limit lasts. The
// budget is time, not a count of attempts: how fast another writer changes
// the object does not decide whether pullsecret gives up.
func onConflict(ctx context.Context, limit time.Duration, fn func(context.Context) error) error {
	return onConflictWith(ctx, limit, conflictBackoff, fn)
}

// onConflictWith is onConflict with its waits given. The limit decides
// when no new attempt starts; each attempt's calls keep
// their own per-call limit, so a slow machine does not cut short the
// attempt that would have won.
func onConflictWith(ctx context.Context, limit time.Duration, spec backoffSpec, fn func(context.Context) error) error {
	until, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	b := newBackoff(spec)
	for {
		err := fn(ctx)
		if !apierrors.IsConflict(err) || !b.sleep(until) {
			return err
		}
	}
}

// resent records that a write whose outcome was unknown was sent again, so
// that a caller which then finds its change already made reports it as
// its own (created, updated, deleted), not as found.
type resent struct{ yes bool }

type resentKey struct{}

func trackResent(ctx context.Context) (context.Context, *resent) {
	r := &resent{}
	return context.WithValue(ctx, resentKey{}, r), r
}

func noteResent(ctx context.Context) {
	if r, ok := ctx.Value(resentKey{}).(*resent); ok {
		r.yes = true
	}
}
