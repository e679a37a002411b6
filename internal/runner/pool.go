package runner

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/pullsecret/pullsecret/internal/kube"
)

// forEach runs fn for every target with at most limit in flight, returning
// results in target order. Failures do not stop the others: every
// namespace's outcome is reported. Once ctx is done no new namespace starts:
// those still queued are reported as not attempted, never as written.
func forEach(ctx context.Context, targets []kube.Target, limit int, fn func(context.Context, kube.Target) NamespaceResult) []NamespaceResult {
	out := make([]NamespaceResult, len(targets))
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
			}
			// select picks at random when both are ready: check again so
			// a cancelled run starts nothing new.
			if ctx.Err() != nil {
				out[i] = NamespaceResult{Namespace: t.Name, Err: notAttempted(ctx, t.Name)}
				return
			}
			out[i] = fn(ctx, t)
		}()
	}
	wg.Wait()
	return out
}

// errNotAttempted marks a namespace the run never started.
var errNotAttempted = errors.New("not attempted")

func notAttempted(ctx context.Context, ns string) error {
	return fmt.Errorf("namespace %q: %w: run cancelled: %w", ns, errNotAttempted, context.Cause(ctx))
}
