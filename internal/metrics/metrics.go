// Package metrics is the watching refresher's Prometheus metrics: what it
// did (tokens minted, refreshes, writes, recovered pods) as gauges and
// counters on a registry of its own (never the process-global one, so a
// library's metrics never leak in and tests never share state), served by
// Handler (the watching refresher mounts it at /metrics beside its health
// endpoints).
//
// Every label value is one of a fixed set (reason, kind) or fixed at
// construction (the refresher's object name): nothing a run reads or mints
// ever becomes a label, so no secret can reach a scrape.
//
// It is a leaf: the watcher consumes it through an interface it declares
// itself (watcher.Observer), which *Metrics satisfies structurally.
package metrics

import (
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metric names: a public contract (dashboards and the PrometheusRule in
// deploy/ use them).
const (
	TokenExpiry       = "pullsecret_token_expiry_timestamp_seconds"
	LastSuccess       = "pullsecret_last_success_timestamp_seconds"
	RefreshFailures   = "pullsecret_refresh_failures_total"
	NamespacesCovered = "pullsecret_namespaces_covered"
	Writes            = "pullsecret_writes_total"
	PodsRecovered     = "pullsecret_pods_recovered_total"
	RefreshInterval   = "pullsecret_refresh_interval_seconds"
	Leader            = "pullsecret_leader"
)

// Names are every metric pullsecret defines (the Go and process
// collectors' add to them on the registry).
var Names = []string{TokenExpiry, LastSuccess, RefreshFailures, NamespacesCovered, Writes, PodsRecovered, RefreshInterval, Leader}

// Failure reasons (the reason label of RefreshFailures): which system
// refused. Anything else is counted as ReasonOther.
const (
	ReasonGoogle     = "google"
	ReasonKubernetes = "kubernetes"
	ReasonConfig     = "config"
	ReasonOther      = "other"
)

// Reasons are every value of the reason label.
var Reasons = []string{ReasonGoogle, ReasonKubernetes, ReasonConfig, ReasonOther}

// Write kinds (the kind label of Writes).
const (
	KindSecret         = "secret"
	KindServiceAccount = "serviceaccount"
)

// Kinds are every value of the kind label.
var Kinds = []string{KindSecret, KindServiceAccount}

// ConstLabel is the optional label naming the refresher (its object name)
// on every series, for Prometheus setups that scrape several.
const ConstLabel = "refresher"

// Metrics records what the watching refresher does. Its methods are safe
// for concurrent use.
type Metrics struct {
	reg         *prometheus.Registry
	tokenExpiry prometheus.Gauge
	lastSuccess prometheus.Gauge
	failures    *prometheus.CounterVec
	covered     prometheus.Gauge
	writes      *prometheus.CounterVec
	recovered   prometheus.Counter
	interval    prometheus.Gauge
	leader      prometheus.Gauge
}

// New returns Metrics on a registry of their own, with the Go runtime's
// and the process's collectors. constLabels are on every pullsecret
// series (typically {ConstLabel: the refresher's object name}); nil for
// none.
func New(constLabels map[string]string) *Metrics {
	cl := prometheus.Labels(constLabels)
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: cl})
	}
	m := &Metrics{
		reg:         prometheus.NewRegistry(),
		tokenExpiry: gauge(TokenExpiry, "When the token in the pull secrets expires, in seconds since the epoch."),
		lastSuccess: gauge(LastSuccess, "When the last refresh of every covered namespace succeeded, in seconds since the epoch."),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: RefreshFailures, ConstLabels: cl,
			Help: "Failed refreshes, by the system that refused: google, kubernetes, config or other."}, []string{"reason"}),
		covered: gauge(NamespacesCovered, "Namespaces the refresher covers now."),
		writes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: Writes, ConstLabels: cl,
			Help: "Objects written: pull secrets (kind=secret) and ServiceAccounts given the reference (kind=serviceaccount)."}, []string{"kind"}),
		recovered: prometheus.NewCounter(prometheus.CounterOpts{Name: PodsRecovered, ConstLabels: cl,
			Help: "Pods stuck in ErrImagePull or ImagePullBackOff deleted so that their owner recreates them with the secret."}),
		interval: gauge(RefreshInterval, "Seconds between refreshes (half of token_lifetime in watch mode): alerts compare the last success with it."),
		leader:   gauge(Leader, "1 on the replica that holds the leader Lease (the only one that writes), else 0."),
	}
	// Every label value exists from the start, at zero: rate() and
	// increase() see the first failure as one, and absent series never
	// hide a broken alert.
	for _, r := range Reasons {
		m.failures.WithLabelValues(r)
	}
	for _, k := range Kinds {
		m.writes.WithLabelValues(k)
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.tokenExpiry, m.lastSuccess, m.failures, m.covered, m.writes, m.recovered, m.interval, m.leader,
	)
	return m
}

// Registry is the registry the metrics are on (tests gather from it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// TokenMinted records the expiry of a token just minted.
func (m *Metrics) TokenMinted(expiry time.Time) { m.tokenExpiry.Set(unix(expiry)) }

// RefreshSucceeded records a refresh of every covered namespace.
func (m *Metrics) RefreshSucceeded(at time.Time) { m.lastSuccess.Set(unix(at)) }

// RefreshFailed counts a failed refresh; a reason outside Reasons counts
// as ReasonOther (a label value is never taken from elsewhere).
func (m *Metrics) RefreshFailed(reason string) {
	if !slices.Contains(Reasons, reason) {
		reason = ReasonOther
	}
	m.failures.WithLabelValues(reason).Inc()
}

// NamespacesCovered records how many namespaces the coverage matches now.
func (m *Metrics) NamespacesCovered(n int) { m.covered.Set(float64(n)) }

// Wrote counts n objects written of kind (KindSecret or
// KindServiceAccount); other kinds are not counted.
func (m *Metrics) Wrote(kind string, n int) {
	if n <= 0 || !slices.Contains(Kinds, kind) {
		return
	}
	m.writes.WithLabelValues(kind).Add(float64(n))
}

// PodsRecovered counts n pods deleted for their owner to recreate.
func (m *Metrics) PodsRecovered(n int) {
	if n > 0 {
		m.recovered.Add(float64(n))
	}
}

// Leading records whether this replica holds the leader Lease.
func (m *Metrics) Leading(leading bool) {
	v := 0.0
	if leading {
		v = 1
	}
	m.leader.Set(v)
}

// Interval records the time between refreshes.
func (m *Metrics) Interval(d time.Duration) { m.interval.Set(d.Seconds()) }

// Handler serves the registry (/metrics), in any format Prometheus
// negotiates.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// unix is t in seconds since the epoch, with sub-second precision; the
// zero time is 0 (never minted or never succeeded).
func unix(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}
