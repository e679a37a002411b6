package runner

import (
	"net/http"
	"time"

	"github.com/pullsecret/pullsecret/internal/kube"
	"github.com/pullsecret/pullsecret/internal/watcher"
)

// The watching refresher's pluggable parts. Each is a seam for the
// package that implements it: metrics (internal/metrics) and stuck-pod
// recovery (internal/podrecovery) are wired here and only here.

// metricsObserver is the watching refresher's Observer and the /metrics
// handler for refresher name (its object name, the metrics' refresher
// label). Without metrics: a no-op Observer and no handler.
func metricsObserver(name string) (watcher.Observer, http.Handler) {
	_ = name
	return watcher.NopObserver{}, nil
}

// RecoverOptions are what stuck-pod recovery needs.
type RecoverOptions struct {
	Client     *kube.Client
	SecretName string
	Registries []string
	Reporter   Reporter
	Now        func() time.Time
}

// podRecoverer builds --recover-pods' PodRecoverer; nil: not part of this
// build.
func podRecoverer(o RecoverOptions) watcher.PodRecoverer {
	_ = o
	return nil
}
