package fakegoogle

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Start serves Handler on addr ("127.0.0.1:0" for a local test, "0.0.0.0:0"
// for containers to reach it) until stop is called. Tests that have package
// testing should prefer httptest.NewServer(g.Handler()).
//
// baseURL names the listening address; an unspecified listen IP (0.0.0.0 or
// ::) is reported as 127.0.0.1, so containers must substitute an address of
// the host they can route to.
func (g *Google) Start(addr string) (baseURL string, stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("fakegoogle: listening on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: g.Handler(), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Serve only returns on Shutdown or a listener failure; either way
		// callers learn of it from failed requests, as in a real outage.
		_ = srv.Serve(ln)
	}()
	stop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}
	hostport := ln.Addr().String()
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && tcp.IP.IsUnspecified() {
		hostport = net.JoinHostPort("127.0.0.1", fmt.Sprint(tcp.Port))
	}
	return "http://" + hostport, stop, nil
}

// The URLs production inputs should name to use a fake at baseURL in place
// of each Google endpoint.

// STSTokenURL stands in for https://sts.googleapis.com/v1/token.
func STSTokenURL(baseURL string) string { return trim(baseURL) + "/v1/token" }

// GenerateAccessTokenURL stands in for
// https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/EMAIL:generateAccessToken.
func GenerateAccessTokenURL(baseURL, email string) string {
	return trim(baseURL) + "/v1/projects/-/serviceAccounts/" + url.PathEscape(email) + generateAccessTokenSuffix
}

// TokenURL stands in for https://oauth2.googleapis.com/token, the token_uri
// of key files.
func TokenURL(baseURL string) string { return trim(baseURL) + "/token" }

// TokenInfoURL stands in for https://oauth2.googleapis.com/tokeninfo.
func TokenInfoURL(baseURL string) string { return trim(baseURL) + "/tokeninfo" }

// MetadataHost is the value for GCE_METADATA_HOST (host:port, no scheme),
// which cloud.google.com/go/compute/metadata reads instead of
// 169.254.169.254.
func MetadataHost(baseURL string) string {
	u, err := url.Parse(baseURL)
	if err != nil {
		return ""
	}
	return u.Host
}

func trim(baseURL string) string { return strings.TrimSuffix(baseURL, "/") }
