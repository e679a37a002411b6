package runner

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/pullsecret/pullsecret/internal/metrics"
)

func TestServeMetrics(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	m := metrics.New(map[string]string{metrics.ConstLabel: "pullsecret-refresher-0123456789"})
	m.NamespacesCovered(3)
	s, err := serveMetrics(ctx, "127.0.0.1:0", m.Handler())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + s.Addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `pullsecret_namespaces_covered{refresher="pullsecret-refresher-0123456789"} 3`; !strings.Contains(string(body), want) {
		t.Errorf("/metrics lacks %q:\n%s", want, body)
	}
	// A second server on the same address is refused up front.
	if _, err := serveMetrics(ctx, s.Addr, m.Handler()); err == nil || !strings.Contains(err.Error(), "failed to listen on --metrics-address") {
		t.Errorf("second listen on %s: err %v", s.Addr, err)
	}
	cancel()
	if err := s.Wait(); err != nil {
		t.Errorf("server stopped with %v, want nil after cancel", err)
	}
}
