package runner

import (
	"net/http"
	"time"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/kube"
	"github.com/pullsecret/pullsecret/internal/metrics"
	"github.com/pullsecret/pullsecret/internal/podrecovery"
	"github.com/pullsecret/pullsecret/internal/watcher"
)

// The watching refresher's pluggable parts. Each is a seam for the
// package that implements it: metrics (internal/metrics) and stuck-pod
// recovery (internal/podrecovery) are wired here and only here.

// metricsObserver is the watching refresher's Observer and the /metrics
// handler for refresher name (its object name, the metrics' refresher
// label): internal/metrics, on a registry of its own. Returning it as a
// watcher.Observer is the compile-time check that it has the method set.
func metricsObserver(name string) (watcher.Observer, http.Handler) {
	m := metrics.New(map[string]string{metrics.ConstLabel: name})
	return m, m.Handler()
}

// RecoverOptions are what stuck-pod recovery needs.
type RecoverOptions struct {
	Client     *kube.Client
	SecretName string
	Registries []string
	Reporter   Reporter
	Now        func() time.Time
}

// podRecoverer builds --recover-pods' PodRecoverer: package podrecovery,
// logging through the reporter (its lines name pods, hosts and the secret,
// never a credential).
func podRecoverer(o RecoverOptions) watcher.PodRecoverer {
	if len(o.Registries) == 0 {
		// The installer always passes registries; a hand-written
		// invocation without gets the secret's default hosts.
		o.Registries = config.SplitList(config.DefaultRegistries)
	}
	return podrecovery.New(podrecovery.Options{Client: o.Client, SecretName: o.SecretName, Registries: o.Registries,
		Now: o.Now, Logf: o.Reporter.Infof})
}
