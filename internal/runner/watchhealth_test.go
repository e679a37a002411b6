package runner

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
)

type readyFlag struct{ atomic.Bool }

func (r *readyFlag) Ready() bool { return r.Load() }

// /healthz answers while the process runs; /readyz only once the
// controller's watches listed; /metrics is the handler given.
func TestServeHealth(t *testing.T) {
	t.Parallel()
	ready := &readyFlag{}
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "pullsecret_leader 1\n") })
	addr, stop, err := serveHealth(t.Context(), "127.0.0.1:0", ready, metrics)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	get := func(path string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://"+addr+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	for _, c := range []struct {
		path     string
		ready    bool
		want     int
		wantBody string
	}{
		{"/healthz", false, 200, "ok\n"},
		{"/readyz", false, 503, ""},
		{"/readyz", true, 200, "ok\n"},
		{"/metrics", true, 200, "pullsecret_leader 1\n"},
	} {
		ready.Store(c.ready)
		code, body := get(c.path)
		if code != c.want || (c.wantBody != "" && body != c.wantBody) {
			t.Errorf("GET %s (ready %v) = %d %q, want %d %q", c.path, c.ready, code, body, c.want, c.wantBody)
		}
	}
}

func TestServeHealthBadAddress(t *testing.T) {
	t.Parallel()
	if _, _, err := serveHealth(t.Context(), "not-an-address", &readyFlag{}, nil); err == nil {
		t.Error("listening on a bad address succeeded")
	}
}
