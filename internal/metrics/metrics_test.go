package metrics_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pullsecret/pullsecret/internal/metrics"
)

func TestObserverMovesTheSeries(t *testing.T) {
	t.Parallel()
	m := metrics.New(map[string]string{metrics.ConstLabel: "pullsecret-refresher-0123456789"})
	expiry := time.Date(2026, 12, 4, 23, 0, 0, 500_000_000, time.UTC)
	m.TokenMinted(expiry)
	m.RefreshSucceeded(expiry.Add(-time.Hour))
	m.RefreshFailed(metrics.ReasonGoogle)
	m.RefreshFailed(metrics.ReasonGoogle)
	m.RefreshFailed("ya29.not-a-reason") // never a label value
	m.NamespacesCovered(7)
	m.Wrote(metrics.KindSecret, 7)
	m.Wrote(metrics.KindServiceAccount, 3)
	m.Wrote("configmap", 2) // not a kind: not counted
	m.PodsRecovered(2)
	m.Leading(true)
	m.Interval(30 * time.Minute)

	const l = `{refresher="pullsecret-refresher-0123456789"}`
	want := `
# HELP pullsecret_leader 1 on the replica that holds the leader Lease (the only one that writes), else 0.
# TYPE pullsecret_leader gauge
pullsecret_leader` + l + ` 1
# HELP pullsecret_namespaces_covered Namespaces the refresher covers now.
# TYPE pullsecret_namespaces_covered gauge
pullsecret_namespaces_covered` + l + ` 7
# HELP pullsecret_pods_recovered_total Pods stuck in ErrImagePull or ImagePullBackOff deleted so that their owner recreates them with the secret.
# TYPE pullsecret_pods_recovered_total counter
pullsecret_pods_recovered_total` + l + ` 2
# HELP pullsecret_refresh_failures_total Failed refreshes, by the system that refused: google, kubernetes, config or other.
# TYPE pullsecret_refresh_failures_total counter
pullsecret_refresh_failures_total{reason="config",refresher="pullsecret-refresher-0123456789"} 0
pullsecret_refresh_failures_total{reason="google",refresher="pullsecret-refresher-0123456789"} 2
pullsecret_refresh_failures_total{reason="kubernetes",refresher="pullsecret-refresher-0123456789"} 0
pullsecret_refresh_failures_total{reason="other",refresher="pullsecret-refresher-0123456789"} 1
# HELP pullsecret_refresh_interval_seconds Seconds between refreshes (half of token_lifetime in watch mode): alerts compare the last success with it.
# TYPE pullsecret_refresh_interval_seconds gauge
pullsecret_refresh_interval_seconds` + l + ` 1800
# HELP pullsecret_token_expiry_timestamp_seconds When the token in the pull secrets expires, in seconds since the epoch.
# TYPE pullsecret_token_expiry_timestamp_seconds gauge
pullsecret_token_expiry_timestamp_seconds` + l + ` 1.7964252005e+09
# HELP pullsecret_last_success_timestamp_seconds When the last refresh of every covered namespace succeeded, in seconds since the epoch.
# TYPE pullsecret_last_success_timestamp_seconds gauge
pullsecret_last_success_timestamp_seconds` + l + ` 1.7964216005e+09
# HELP pullsecret_writes_total Objects written: pull secrets (kind=secret) and ServiceAccounts given the reference (kind=serviceaccount).
# TYPE pullsecret_writes_total counter
pullsecret_writes_total{kind="secret",refresher="pullsecret-refresher-0123456789"} 7
pullsecret_writes_total{kind="serviceaccount",refresher="pullsecret-refresher-0123456789"} 3
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), metrics.Names...); err != nil {
		t.Error(err)
	}
	m.Leading(false)
	if got := value(t, m, metrics.Leader); got != 0 {
		t.Errorf("%s after Leading(false) = %v, want 0", metrics.Leader, got)
	}
}

// value is the gauge name's one series, as gathered.
func value(t *testing.T, m *metrics.Metrics, name string) float64 {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("%s not gathered", name)
	return 0
}

// TestEveryNameIsRegistered: Names (what deploy/'s rule is checked
// against) is exactly what the registry exposes, besides the Go and
// process collectors', and lints clean.
func TestEveryNameIsRegistered(t *testing.T) {
	t.Parallel()
	m := metrics.New(nil)
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	sawGo, sawProcess := false, false
	for _, f := range families {
		switch n := f.GetName(); {
		case strings.HasPrefix(n, "go_"):
			sawGo = true
		case strings.HasPrefix(n, "process_"):
			sawProcess = true
		default:
			got = append(got, n)
		}
	}
	if diff := cmp.Diff(slices.Sorted(slices.Values(metrics.Names)), got); diff != "" {
		t.Errorf("gathered metric names (-Names +gathered):\n%s", diff)
	}
	if !sawGo || !sawProcess {
		t.Errorf("Go collector gathered: %v, process collector: %v; want both", sawGo, sawProcess)
	}
	problems, err := testutil.GatherAndLint(m.Registry(), metrics.Names...)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// TestOwnRegistry: two refreshers in one process (tests) never collide,
// which the global registry would refuse with a duplicate registration.
func TestOwnRegistry(t *testing.T) {
	t.Parallel()
	a, b := metrics.New(nil), metrics.New(nil)
	a.NamespacesCovered(3)
	if got := value(t, b, metrics.NamespacesCovered); got != 0 {
		t.Errorf("b's %s = %v after a's was set, want 0", metrics.NamespacesCovered, got)
	}
}

func TestHandler(t *testing.T) {
	t.Parallel()
	m := metrics.New(nil)
	m.NamespacesCovered(4)
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)
	resp, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if body := string(b); resp.StatusCode != http.StatusOK || !strings.Contains(body, "\npullsecret_namespaces_covered 4\n") || !strings.Contains(body, "\ngo_goroutines ") {
		t.Errorf("GET /metrics = %d, want 200 with pullsecret_namespaces_covered 4 and go_goroutines:\n%s", resp.StatusCode, body)
	}
}
