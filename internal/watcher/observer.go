package watcher

import (
	"context"
	"time"
)

// Observer receives what the controller does; internal/metrics implements it.
type Observer interface {
	TokenMinted(expiry time.Time)
	RefreshSucceeded(at time.Time)
	RefreshFailed(reason string)
	NamespacesCovered(n int)
	Wrote(kind string, n int) // kind: "secret" | "serviceaccount"
	PodsRecovered(n int)
	Leading(bool)
	Interval(d time.Duration)
}

// PodRecoverer deletes stuck pods of one namespace; internal/podrecovery implements it.
type PodRecoverer interface {
	Recover(ctx context.Context, namespace string) (recovered int, err error)
}

// Failure reasons an Observer is told (RefreshFailed).
const (
	ReasonGoogle     = "google"
	ReasonKubernetes = "kubernetes"
	ReasonConfig     = "config"
	ReasonOther      = "other"
)

// Write kinds an Observer is told (Wrote).
const (
	KindSecret         = "secret"
	KindServiceAccount = "serviceaccount"
)

// NopObserver observes nothing: the controller's Observer when none is set.
type NopObserver struct{}

func (NopObserver) TokenMinted(time.Time)      {}
func (NopObserver) RefreshSucceeded(time.Time) {}
func (NopObserver) RefreshFailed(string)       {}
func (NopObserver) NamespacesCovered(int)      {}
func (NopObserver) Wrote(string, int)          {}
func (NopObserver) PodsRecovered(int)          {}
func (NopObserver) Leading(bool)               {}
func (NopObserver) Interval(time.Duration)     {}
