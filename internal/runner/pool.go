package runner

import (
	"context"
	"sync"

	"github.com/pullsecret/pullsecret/internal/kube"
)

// forEach runs fn for every target with at most limit in flight, returning
// results in target order. Failures do not stop the others: every
// namespace's outcome is reported.
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
			case <-ctx.Done():
				out[i] = NamespaceResult{Namespace: t.Name}.fail(ctx.Err())
				return
			}
			defer func() { <-sem }()
			out[i] = fn(ctx, t)
		}()
	}
	wg.Wait()
	return out
}
