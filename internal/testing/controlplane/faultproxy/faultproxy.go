// Package faultproxy is test support: a reverse proxy in front of a real
// kube-apiserver that injects the faults a client meets in the field (429
// with Retry-After, 500/503 with a metav1.Status body, connection resets,
// stalled responses) on the requests chosen by rules, and records what it did
// so a test can compare a run's report with the faults really injected.
//
// Only tests import it; the shipped binary never does.
//
// The proxy terminates TLS with its own certificate and speaks HTTP/1.1 to
// the client (so a reset is a real TCP reset of that request's connection);
// upstream it authenticates as the identity of the rest.Config it is given.
package faultproxy

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Fault is what the proxy does instead of (or after) forwarding a request.
type Fault string

const (
	// TooManyRequests answers 429 with a Status body (and Retry-After when set).
	TooManyRequests Fault = "429"
	// InternalError answers 500 with a Status body.
	InternalError Fault = "500"
	// Unavailable answers 503 with a Status body.
	Unavailable Fault = "503"
	// Reset closes the client's connection with a TCP RST; nothing is forwarded.
	Reset Fault = "reset"
	// ResetAfterForward forwards the request (the API server acts on it),
	// then resets the client's connection instead of answering: the client
	// cannot know whether its write happened.
	ResetAfterForward Fault = "reset-after-forward"
	// Stall holds the request, forwarding nothing, until the client gives up
	// or the proxy closes.
	Stall Fault = "stall"
)

// UpstreamFailed is the rule name of the events recorded when the API
// server could not be reached (the client's connection is then reset) or
// answered 429 or 5xx itself, e.g. while shutting down.
const UpstreamFailed = "upstream-failed"

// Request is what a rule matches on, parsed from the URL.
type Request struct {
	Method    string
	Namespace string // for the namespaces resource itself, the namespace's name
	Resource  string // e.g. "secrets", "serviceaccounts", "namespaces"
	Name      string
}

// Rule injects Fault into matching requests. Empty matcher fields match
// anything.
type Rule struct {
	// Name identifies the rule in the record.
	Name       string
	Method     string
	Resource   string
	Namespaces map[string]bool
	// Match, when set, must also accept the request.
	Match func(Request) bool
	// FirstN > 0 makes the fault transient: only the first FirstN matching
	// requests per namespace get it, later ones pass. Zero means every
	// matching request (a permanent fault).
	FirstN int
	// Probability in (0, 1) injects the fault into that share of matching
	// requests, drawn from the proxy's seeded generator; zero means always.
	Probability float64
	Fault       Fault
	// RetryAfter is the Retry-After header value for 429/500/503 ("" sends none).
	RetryAfter string
}

// Event is one fault the proxy injected.
type Event struct {
	Rule    string
	Fault   Fault
	Request Request
}

// Config configures New.
type Config struct {
	// Upstream is how to reach and authenticate to the real API server.
	Upstream *rest.Config
	Rules    []Rule
	// Seed makes probabilistic rules reproducible.
	Seed uint64
	// OnRequest, when set, sees every request before rules apply (e.g. to
	// trigger an API server restart or a signal after the Nth request).
	OnRequest func(n int, r Request)
}

// Proxy is a running fault-injecting proxy.
type Proxy struct {
	srv       *httptest.Server
	upstream  *httputil.ReverseProxy
	cfg       Config
	closing   chan struct{}
	closeOnce sync.Once

	mu       sync.Mutex
	rng      *rand.Rand
	requests int
	perNS    map[string]int            // requests seen per namespace
	hits     map[string]map[string]int // rule -> namespace -> matching requests
	events   []Event
	refusing bool
}

// New starts a proxy in front of cfg.Upstream.
func New(cfg Config) (*Proxy, error) {
	target, err := url.Parse(cfg.Upstream.Host)
	if err != nil {
		return nil, fmt.Errorf("upstream host %q: %w", cfg.Upstream.Host, err)
	}
	rt, err := rest.TransportFor(cfg.Upstream)
	if err != nil {
		return nil, fmt.Errorf("upstream transport: %w", err)
	}
	p := &Proxy{
		cfg: cfg, closing: make(chan struct{}),
		rng:   rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		perNS: map[string]int{}, hits: map[string]map[string]int{},
	}
	p.upstream = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Header.Del("Authorization") // upstream identity is the proxy's
		},
		Transport:     rt,
		FlushInterval: -1,
		ModifyResponse: func(resp *http.Response) error {
			if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
				p.record(Event{Rule: UpstreamFailed, Fault: Fault(fmt.Sprint(resp.StatusCode)), Request: Parse(resp.Request.Method, resp.Request.URL.Path)})
			}
			return nil
		},
		// An upstream that is down (restarting) looks to the client like a
		// server that dropped the connection.
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, _ error) {
			p.record(Event{Rule: UpstreamFailed, Fault: Reset, Request: Parse(r.Method, r.URL.Path)})
			reset(w)
		},
	}
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(p.serve))
	// HTTP/1.1 only: one request per connection at a time, so a reset hits
	// exactly the faulted request.
	p.srv.TLS = &tls.Config{NextProtos: []string{"http/1.1"}}
	p.srv.StartTLS()
	return p, nil
}

// URL is the proxy's https:// address.
func (p *Proxy) URL() string { return p.srv.URL }

// Close releases stalled requests and stops the proxy.
func (p *Proxy) Close() {
	p.closeOnce.Do(func() { close(p.closing) })
	p.srv.CloseClientConnections()
	p.srv.Close()
}

// Refuse makes the proxy reset every request (on) or forward again (off),
// as an API server that is down would.
func (p *Proxy) Refuse(on bool) {
	p.mu.Lock()
	p.refusing = on
	p.mu.Unlock()
}

// Kubeconfig renders a kubeconfig that reaches the upstream through the
// proxy. The token is a placeholder: the proxy authenticates upstream.
func (p *Proxy) Kubeconfig() ([]byte, error) {
	cert := p.srv.Certificate()
	if cert == nil {
		return nil, errors.New("proxy has no certificate")
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["faultproxy"] = &clientcmdapi.Cluster{Server: p.srv.URL, CertificateAuthorityData: pemCert(cert.Raw)}
	cfg.AuthInfos["faultproxy"] = &clientcmdapi.AuthInfo{Token: "faultproxy-placeholder"}
	cfg.Contexts["faultproxy"] = &clientcmdapi.Context{Cluster: "faultproxy", AuthInfo: "faultproxy", Namespace: "default"}
	cfg.CurrentContext = "faultproxy"
	return clientcmd.Write(*cfg)
}

// Events returns the faults injected so far.
func (p *Proxy) Events() []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Event(nil), p.events...)
}

// FaultedNamespaces returns the namespaces the named rules injected a
// fault into.
func (p *Proxy) FaultedNamespaces(rules ...string) map[string]bool {
	want := map[string]bool{}
	for _, r := range rules {
		want[r] = true
	}
	out := map[string]bool{}
	for _, e := range p.Events() {
		if want[e.Rule] {
			out[e.Request.Namespace] = true
		}
	}
	return out
}

// Requests returns how many requests the proxy received per namespace
// (cluster-scoped requests under "").
func (p *Proxy) Requests() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.perNS))
	for k, v := range p.perNS {
		out[k] = v
	}
	return out
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	req := Parse(r.Method, r.URL.Path)
	rule, n, refusing := p.decide(req)
	if p.cfg.OnRequest != nil {
		p.cfg.OnRequest(n, req)
	}
	if refusing {
		reset(w)
		return
	}
	if rule == nil {
		p.upstream.ServeHTTP(w, r)
		return
	}
	switch rule.Fault {
	case TooManyRequests:
		status(w, http.StatusTooManyRequests, metav1.StatusReasonTooManyRequests, rule.RetryAfter)
	case InternalError:
		status(w, http.StatusInternalServerError, metav1.StatusReasonInternalError, rule.RetryAfter)
	case Unavailable:
		status(w, http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable, rule.RetryAfter)
	case Reset:
		reset(w)
	case ResetAfterForward:
		rec := httptest.NewRecorder()
		p.upstream.ServeHTTP(rec, r.WithContext(context.WithoutCancel(r.Context())))
		reset(w)
	case Stall:
		select {
		case <-r.Context().Done():
		case <-p.closing:
		}
		reset(w)
	default:
		panic(fmt.Sprintf("faultproxy: unknown fault %q", rule.Fault))
	}
}

func (p *Proxy) record(e Event) {
	p.mu.Lock()
	p.events = append(p.events, e)
	p.mu.Unlock()
}

// decide picks the first rule that fires for req and records it.
func (p *Proxy) decide(req Request) (*Rule, int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests++
	p.perNS[req.Namespace]++
	for i := range p.cfg.Rules {
		rule := &p.cfg.Rules[i]
		if !rule.matches(req) {
			continue
		}
		if p.hits[rule.Name] == nil {
			p.hits[rule.Name] = map[string]int{}
		}
		p.hits[rule.Name][req.Namespace]++
		if rule.FirstN > 0 && p.hits[rule.Name][req.Namespace] > rule.FirstN {
			continue
		}
		if rule.Probability > 0 && p.rng.Float64() >= rule.Probability {
			continue
		}
		p.events = append(p.events, Event{Rule: rule.Name, Fault: rule.Fault, Request: req})
		return rule, p.requests, p.refusing
	}
	return nil, p.requests, p.refusing
}

func (r *Rule) matches(req Request) bool {
	return (r.Method == "" || r.Method == req.Method) &&
		(r.Resource == "" || r.Resource == req.Resource) &&
		(r.Namespaces == nil || r.Namespaces[req.Namespace]) &&
		(r.Match == nil || r.Match(req))
}

// Parse reads namespace, resource and name from an API path:
// /api/v1/namespaces/NS/RESOURCE[/NAME], /apis/G/V/namespaces/NS/...,
// /api/v1/namespaces/NAME or a cluster-scoped /api/v1/RESOURCE[/NAME].
func Parse(method, path string) Request {
	req := Request{Method: method}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		parts = parts[2:]
	case len(parts) >= 3 && parts[0] == "apis":
		parts = parts[3:]
	default:
		return req
	}
	if len(parts) >= 3 && parts[0] == "namespaces" {
		req.Namespace, req.Resource = parts[1], parts[2]
		if len(parts) >= 4 {
			req.Name = parts[3]
		}
		return req
	}
	if len(parts) >= 1 {
		req.Resource = parts[0]
	}
	if len(parts) >= 2 {
		req.Name = parts[1]
		if req.Resource == "namespaces" {
			req.Namespace = parts[1]
		}
	}
	return req
}

// status answers with a metav1.Status body as the API server does.
func status(w http.ResponseWriter, code int, reason metav1.StatusReason, retryAfter string) {
	s := metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Code: int32(code), Reason: reason,
		Message: fmt.Sprintf("faultproxy: injected %d", code),
	}
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
		var secs int32
		if _, err := fmt.Sscan(retryAfter, &secs); err == nil {
			s.Details = &metav1.StatusDetails{RetryAfterSeconds: secs}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(s)
}

// reset closes the client's connection with a TCP RST (linger 0) and no
// response.
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := underlyingTCP(conn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

func underlyingTCP(c net.Conn) (*net.TCPConn, bool) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	tc, ok := c.(*net.TCPConn)
	return tc, ok
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
