// Package httplog logs HTTP requests for --debug: method, host and path,
// status and duration. It never logs bodies, headers or query strings,
// where tokens travel (Authorization headers, token responses, tokeninfo's
// ?access_token=).
package httplog

import (
	"net/http"
	"time"
)

// Wrap returns a func that wraps a transport so that every request it
// carries is logged through logf once it completes. It fits
// rest.Config.WrapTransport and an http.Client's Transport alike.
func Wrap(logf func(format string, args ...any)) func(http.RoundTripper) http.RoundTripper {
	return func(next http.RoundTripper) http.RoundTripper {
		return &transport{next: next, logf: logf, now: time.Now}
	}
}

type transport struct {
	next http.RoundTripper
	logf func(format string, args ...any)
	now  func() time.Time
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := t.now()
	resp, err := t.next.RoundTrip(req)
	took := t.now().Sub(start).Round(time.Millisecond)
	if err != nil {
		// Transport errors (dial, TLS, timeouts) carry addresses, not
		// the request: nothing of the URL beyond its host and path.
		t.logf("HTTP %s %s: %v (%s)", req.Method, Target(req), err, took)
		return resp, err
	}
	t.logf("HTTP %s %s %d (%s)", req.Method, Target(req), resp.StatusCode, took)
	return resp, nil
}

// WrappedRoundTripper lets client-go see through the wrapper
// (k8s.io/apimachinery/pkg/util/net.RoundTripperWrapper), to cancel
// requests on the transport underneath.
func (t *transport) WrappedRoundTripper() http.RoundTripper { return t.next }

// Target is what is logged of a request's URL: host and path, without
// user information, query or fragment.
func Target(req *http.Request) string {
	return req.URL.Host + req.URL.EscapedPath()
}
