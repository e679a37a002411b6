package fakegithub

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Start serves Handler on addr ("127.0.0.1:0" for a local test, "0.0.0.0:0"
// for containers to reach it) until stop is called. Tests that have package
// testing should prefer httptest.NewServer(o.Handler()).
//
// baseURL names the listening address; an unspecified listen IP (0.0.0.0 or
// ::) is reported as 127.0.0.1, so containers must substitute an address of
// the host they can route to.
func (o *OIDC) Start(addr string) (baseURL string, stop func(), err error) {
	return serve(addr, o.Handler())
}

func serve(addr string, h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("fakegithub: listening on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Serve only returns on Shutdown or a listener failure; either way
		// callers learn of it from failed requests, as in a real outage.
		_ = srv.Serve(ln)
	}()
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}
	return "http://" + reportableAddr(ln.Addr()), stop, nil
}

func reportableAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return a.String()
	}
	return net.JoinHostPort("127.0.0.1", fmt.Sprint(tcp.Port))
}
