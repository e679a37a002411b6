package runner

import (
	"slices"
	"testing"

	"github.com/pullsecret/pullsecret/internal/metrics"
	"github.com/pullsecret/pullsecret/internal/watcher"
)

// *metrics.Metrics has the controller's Observer method set (metrics is a
// leaf and cannot say so itself).
var _ watcher.Observer = (*metrics.Metrics)(nil)

// The Observer is internal/metrics, and the reasons and kinds the
// controller reports are label values the metrics keep (anything else
// would be counted as "other" or dropped).
func TestMetricsObserver(t *testing.T) {
	t.Parallel()
	obs, h := metricsObserver("pullsecret-refresher-0123456789")
	if _, ok := obs.(*metrics.Metrics); !ok || h == nil {
		t.Fatalf("metricsObserver = %T, %v; want *metrics.Metrics and its handler", obs, h)
	}
	for _, r := range []string{watcher.ReasonGoogle, watcher.ReasonKubernetes, watcher.ReasonConfig, watcher.ReasonOther} {
		if !slices.Contains(metrics.Reasons, r) {
			t.Errorf("the controller reports reason %q, which metrics does not keep (%v)", r, metrics.Reasons)
		}
	}
	for _, k := range []string{watcher.KindSecret, watcher.KindServiceAccount} {
		if !slices.Contains(metrics.Kinds, k) {
			t.Errorf("the controller reports kind %q, which metrics does not keep (%v)", k, metrics.Kinds)
		}
	}
}
