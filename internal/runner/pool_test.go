package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pullsecret/pullsecret/internal/kube"
)

func targets(n int) []kube.Target {
	out := make([]kube.Target, n)
	for i := range out {
		out[i] = kube.Target{Name: fmt.Sprintf("ns-%02d", i)}
	}
	return out
}

// A run cancelled before the pool starts touches no namespace and reports
// every one as not attempted, with the cause.
func TestForEachCancelledRunsNothing(t *testing.T) {
	t.Parallel()
	cause := errors.New("terminated signal received")
	ctx, cancel := context.WithCancelCause(t.Context())
	cancel(cause)
	var calls atomic.Int32
	out := forEach(ctx, targets(50), 4, func(context.Context, kube.Target) NamespaceResult {
		calls.Add(1)
		return NamespaceResult{}
	})
	if n := calls.Load(); n != 0 {
		t.Errorf("fn called %d times after cancellation", n)
	}
	for _, nr := range out {
		if nr.Err == nil || !strings.Contains(nr.Err.Error(), "not attempted") || !errors.Is(nr.Err, cause) {
			t.Errorf("%s: err = %v, want not attempted: %v", nr.Namespace, nr.Err, cause)
		}
	}
}

// Cancelling mid-run keeps the outcomes of namespaces already done and
// reports the queued ones as not attempted, never as written.
func TestForEachCancelledMidRun(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancelCause(t.Context())
	defer cancel(nil)
	const limit = 2
	var mu sync.Mutex
	started := 0
	out := forEach(ctx, targets(20), limit, func(ctx context.Context, tg kube.Target) NamespaceResult {
		mu.Lock()
		started++
		first := started <= limit
		mu.Unlock()
		if !first {
			return NamespaceResult{Namespace: tg.Name, Err: errors.New("started after cancellation")}
		}
		cancel(errors.New("stop"))
		return NamespaceResult{Namespace: tg.Name, Secret: kube.SecretCreated}
	})
	done, notAttempted := 0, 0
	for _, nr := range out {
		switch {
		case nr.Err == nil && nr.Secret == kube.SecretCreated:
			done++
		case nr.Err != nil && strings.Contains(nr.Err.Error(), "not attempted"):
			notAttempted++
			if nr.Secret != "" {
				t.Errorf("%s: not attempted yet reports secret %q", nr.Namespace, nr.Secret)
			}
		default:
			t.Errorf("%s: unexpected outcome %+v", nr.Namespace, nr)
		}
	}
	if done > limit || done+notAttempted != 20 {
		t.Errorf("done %d, not attempted %d, want at most %d done and the rest not attempted", done, notAttempted, limit)
	}
}
