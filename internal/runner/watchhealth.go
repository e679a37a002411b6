package runner

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

// readiness is what /readyz asks.
type readiness interface{ Ready() bool }

// serveHealth serves /healthz (the process answers), /readyz (the
// controller has its coverage and its watches listed) and, when metrics
// is set, /metrics, on addr until ctx ends or stop is called. It returns
// the address it listens on.
func serveHealth(ctx context.Context, addr string, r readiness, metrics http.Handler) (bound string, stop func(), err error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !r.Ready() {
			http.Error(w, "not ready: the watches have not listed yet", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	if metrics != nil {
		mux.Handle("/metrics", metrics)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("failed to listen on --metrics-address %q: %w", addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		<-ctx.Done()
		sctx, done := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer done()
		_ = srv.Shutdown(sctx)
	}()
	return ln.Addr().String(), cancel, nil
}
