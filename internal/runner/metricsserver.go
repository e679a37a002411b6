package runner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// metricsServer serves the watching refresher's /metrics, /healthz and
// /readyz (--metrics-address) until its context ends.
type metricsServer struct {
	// Addr is the address it listens on (":0" resolved to the port).
	Addr string
	done chan error
}

// serveMetrics listens on addr and serves h in the background until ctx
// ends; a port that cannot be bound fails here, before the controller
// starts.
func serveMetrics(ctx context.Context, addr string, h http.Handler) (*metricsServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("failed to listen on --metrics-address %q: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	s := &metricsServer{Addr: ln.Addr().String(), done: make(chan error, 1)}
	go func() {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	return s, nil
}

// Wait returns once the server stopped, with why it stopped early (nil
// after its context ended).
func (s *metricsServer) Wait() error { return <-s.done }
