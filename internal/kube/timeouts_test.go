package kube

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// connectTo connects to srv with an inline kubeconfig.
func connectTo(t *testing.T, srv *httptest.Server, timeout time.Duration) *Connection {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["c"] = &clientcmdapi.Cluster{Server: srv.URL, CertificateAuthorityData: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})}
	cfg.AuthInfos["u"] = &clientcmdapi.AuthInfo{Token: "t"}
	cfg.Contexts["x"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "u"}
	cfg.CurrentContext = "x"
	kc, err := clientcmd.Write(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := Connect(ClientOptions{Kubeconfig: string(kc), Concurrency: 1, RequestTimeout: timeout, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

// getWithGuard runs a GET with no deadline of its own; the guard only turns
// a hang into a test failure instead of a stuck test binary.
func getWithGuard(t *testing.T, conn *Connection) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := conn.Client.Namespaces().Get(context.Background(), "x")
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		t.Fatal("the call hung: no client-side timeout")
		return nil
	}
}

// A stalled response ends the call with an error instead of hanging the run.
func TestConnectBoundsStalledCalls(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	if err := getWithGuard(t, connectTo(t, srv, 200*time.Millisecond)); err == nil {
		t.Fatal("a stalled call succeeded")
	}
}

// A server answering 429 "retry now" forever gets a bounded number of
// attempts (one plus ten retries, as client-go allowed), then an error.
func TestConnectBoundsRetries(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Retry-After", "0")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"TooManyRequests","code":429}`))
	}))
	defer srv.Close()
	if err := getWithGuard(t, connectTo(t, srv, 0)); err == nil {
		t.Fatal("a call the server always throttles succeeded")
	}
	if got := hits.Load(); got != 11 {
		t.Errorf("server saw %d attempts, want 11", got)
	}
}

func TestConnectDefaultRequestTimeout(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	if got := connectTo(t, srv, 0).Config.Timeout; got != DefaultRequestTimeout {
		t.Errorf("Timeout = %s, want %s", got, DefaultRequestTimeout)
	}
}
