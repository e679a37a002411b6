package controlplanetest

import (
	"context"
	"testing"
	"time"
)

// deadlineMargin is how long before the test binary's -timeout a Context ends: enough for the
// test to report what it was waiting for and run its cleanups before the binary panics.
const deadlineMargin = 30 * time.Second

// Context is t.Context() ending a little before the test binary's -timeout. Waits for something
// asynchronous (a controller, an informer, a run that must end on its own) use it as their hang
// guard instead of a fixed budget: a fixed budget is a timing assertion a busy machine fails,
// while the binary's deadline is the one bound `go test` imposes anyway. A wait that never ends
// still fails, with its own message rather than the binary's goroutine dump.
func Context(t testing.TB) context.Context {
	ctx := t.Context()
	d, ok := t.(interface{ Deadline() (time.Time, bool) })
	if !ok {
		return ctx // a benchmark: b.Context() ends with it
	}
	deadline, ok := d.Deadline()
	if !ok {
		return ctx // -timeout 0
	}
	ctx, cancel := context.WithDeadline(ctx, deadline.Add(-min(deadlineMargin, time.Until(deadline)/2)))
	t.Cleanup(cancel)
	return ctx
}
