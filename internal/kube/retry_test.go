package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func urlErr(err error) error {
	return &url.Error{Op: "Put", URL: "https://api.example:6443/api/v1/namespaces/a/serviceaccounts/default", Err: err}
}

var (
	errReset   = urlErr(&net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)})
	errRefused = urlErr(&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)})
	errGoAway  = urlErr(errors.New("http2: server sent GOAWAY and closed the connection; LastStreamID=5, ErrCode=NO_ERROR"))
	errEOF     = urlErr(io.ErrUnexpectedEOF)
	errPipe    = urlErr(&net.OpError{Op: "write", Net: "tcp", Err: os.NewSyscallError("write", syscall.EPIPE)})
	errConfl   = apierrors.NewConflict(schema.GroupResource{Resource: "serviceaccounts"}, "default", errors.New("the object has been modified"))
	errForbid  = apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "x", errors.New("no"))
)

// A broken connection is retried for reads and conditional writes, until
// the call succeeds; a write that may have reached the server and is not
// conditional is never sent twice, unless its dial failed.
func TestRetryCallAfterConnectionErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		kind      repeat
		err       error
		wantCalls int
		wantErr   bool
		resent    bool
	}{
		{"read after reset", read, errReset, 3, false, false},
		{"read after GOAWAY", read, errGoAway, 3, false, false},
		{"conditional write after unexpected EOF", conditionalWrite, errEOF, 3, false, true},
		{"conditional write after broken pipe", conditionalWrite, errPipe, 3, false, true},
		{"conditional write after refused dial", conditionalWrite, errRefused, 3, false, false},
		{"unconditional write after reset is not repeated", sentOnce, errReset, 1, true, false},
		{"unconditional write after GOAWAY is not repeated", sentOnce, errGoAway, 1, true, false},
		{"unconditional write after refused dial", sentOnce, errRefused, 3, false, false},
		{"server refusal is not retried here", conditionalWrite, errForbid, 1, true, false},
		{"conflict is the caller's to answer", conditionalWrite, errConfl, 1, true, false},
		{"throttled write", sentOnce, apierrors.NewTooManyRequests("slow down", 0), 3, false, false},
		{"API server shutting down", conditionalWrite, apierrors.NewServiceUnavailable("apiserver is shutting down"), 3, false, false},
		{"unconditional write after 503 is not repeated", sentOnce, apierrors.NewServiceUnavailable("apiserver is shutting down"), 1, true, false},
		{"500 without Retry-After is not retried", read, apierrors.NewInternalError(errors.New("boom")), 1, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, resent := trackResent(t.Context())
			calls := 0
			_, err := retryCall(ctx, answered(time.Minute), tc.kind, func(context.Context) (int, error) {
				calls++
				if calls < 3 {
					return 0, tc.err
				}
				return 1, nil
			})
			if calls != tc.wantCalls || (err != nil) != tc.wantErr {
				t.Errorf("calls %d, err %v; want %d calls, error %v", calls, err, tc.wantCalls, tc.wantErr)
			}
			if resent.yes != tc.resent {
				t.Errorf("resent recorded %v, want %v", resent.yes, tc.resent)
			}
		})
	}
}

// answered is a budget whose server has answered before.
func answered(limit time.Duration) *budget {
	b := newBudget(limit)
	b.observe(nil)
	return b
}

// A server never reached (a wrong address, nothing listening) fails at the
// first refused dial: the user learns now, not after a per-call limit.
func TestRetryCallNeverReachedFailsFast(t *testing.T) {
	t.Parallel()
	calls := 0
	_, err := retryCall(t.Context(), newBudget(time.Minute), read, func(context.Context) (int, error) {
		calls++
		return 0, errRefused
	})
	if !errors.Is(err, syscall.ECONNREFUSED) || calls != 1 {
		t.Errorf("calls %d, err %v; want one attempt and the refused dial", calls, err)
	}
}

// A server that stays unreachable ends the call at its limit with the
// connection error (not a bare deadline), after more than one attempt.
func TestRetryCallEndsAtItsLimit(t *testing.T) {
	t.Parallel()
	calls := 0
	_, err := retryCall(t.Context(), answered(300*time.Millisecond), read, func(ctx context.Context) (int, error) {
		calls++
		return 0, errRefused
	})
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("err = %v, want the refused dial", err)
	}
	if calls < 2 {
		t.Errorf("%d attempts, want retries within the limit", calls)
	}
}

// A server that stays unreachable gets one limit from its first failure,
// shared by every call: once it has passed, a call fails at its first
// connection error (a run against a server that is gone ends within about
// one limit, not one per namespace); an answer resets the clock.
func TestRetryBudgetIsSharedDuringAnOutage(t *testing.T) {
	t.Parallel()
	bu := answered(time.Minute)
	refused := func(context.Context) (int, error) { return 0, errRefused }
	bu.observe(errRefused)
	bu.since = bu.since.Add(-time.Minute) // the outage began a limit ago
	calls := 0
	_, _ = retryCall(t.Context(), bu, read, func(ctx context.Context) (int, error) { calls++; return refused(ctx) })
	if calls != 1 {
		t.Errorf("%d attempts once the outage outlasted the limit, want 1", calls)
	}
	if _, err := retryCall(t.Context(), bu, read, func(context.Context) (int, error) { return 1, nil }); err != nil {
		t.Fatal(err)
	}
	calls = 0
	_, err := retryCall(t.Context(), bu, read, func(ctx context.Context) (int, error) {
		if calls++; calls < 3 {
			return refused(ctx)
		}
		return 1, nil
	})
	if err != nil || calls != 3 {
		t.Errorf("%d attempts (err %v) after the server answered again, want retries until it answers", calls, err)
	}
}

// The Conflict budget is time, not attempts: a writer that loses many
// times in a row (more than any fixed count) still wins once the other
// writer stops, and gives up with the Conflict only when the limit ends.
func TestOnConflictIsTimeBased(t *testing.T) {
	t.Parallel()
	quick := backoffSpec{initial: time.Microsecond, max: time.Millisecond}
	calls := 0
	err := onConflictWith(t.Context(), time.Minute, quick, func(context.Context) error {
		calls++
		if calls <= 100 {
			return errConfl
		}
		return nil
	})
	if err != nil || calls != 101 {
		t.Errorf("calls %d, err %v; want success on attempt 101", calls, err)
	}
	err = onConflictWith(t.Context(), 200*time.Millisecond, quick, func(context.Context) error { return errConfl })
	if !apierrors.IsConflict(err) {
		t.Errorf("err = %v, want the Conflict when the limit runs out", err)
	}
}

func TestConnectionErrorClassifies(t *testing.T) {
	t.Parallel()
	for _, err := range []error{errReset, errRefused, errGoAway, errEOF, errPipe, urlErr(io.EOF),
		urlErr(errors.New("http2: client connection lost")), urlErr(errors.New("http2: client connection force closed via ClientConn.Close")), fmt.Errorf("wrapped: %w", errReset)} {
		if !connectionError(err) {
			t.Errorf("connectionError(%v) = false", err)
		}
	}
	for _, err := range []error{nil, errConfl, errForbid, apierrors.NewServiceUnavailable("down"), errors.New("invalid kubeconfig")} {
		if connectionError(err) {
			t.Errorf("connectionError(%v) = true", err)
		}
	}
}

func TestMaxAttemptsBoundsRetries(t *testing.T) {
	t.Parallel()
	// 30 s: five doubling waits (25+50+100+200+400 ms at their shortest),
	// then 500 ms each, plus the ten a server may ask for.
	if got, want := MaxAttempts(30*time.Second), 1+5+58+maxAsked; got != want {
		t.Errorf("MaxAttempts(30s) = %d, want %d", got, want)
	}
	// A limit shorter than the first wait leaves the first attempt alone.
	if got, want := MaxAttempts(time.Millisecond), 1+maxAsked; got != want {
		t.Errorf("MaxAttempts(1ms) = %d, want %d", got, want)
	}
}
