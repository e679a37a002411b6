package kube

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1 "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// Lease timings: a leader that stops renewing (its node died) is replaced
// after LeaseDuration; one that is stopped (SIGTERM) releases the Lease,
// and a candidate takes it at its next try, within RetryPeriod.
const (
	LeaseDuration = 15 * time.Second
	LeaseRenew    = 10 * time.Second
	LeaseRetry    = 2 * time.Second
)

// Election is a coordination.k8s.io/v1 Lease election among the replicas
// of one refresher.
type Election struct {
	// Namespace and Name locate the Lease; Identity is this replica's.
	Namespace, Name, Identity string
	// Lead runs while this replica leads; its context ends when the
	// lease is lost (or the election's context ends).
	Lead func(ctx context.Context)
	// Leading is told every change of leadership (may be nil).
	Leading func(bool)
}

// Elect takes part in the election until ctx ends: it leads whenever it
// holds the Lease, and stands again after losing it. On ctx's end it
// releases the Lease, so another replica takes over at once.
func Elect(ctx context.Context, rc *rest.Config, e Election) error {
	c := rest.CopyConfig(rc)
	// The elector bounds each call itself (RenewDeadline).
	c.Timeout = 0
	leases, err := coordinationv1.NewForConfig(c)
	if err != nil {
		return fmt.Errorf("failed to build the Lease client: %w", err)
	}
	leading := func(b bool) {
		if e.Leading != nil {
			e.Leading(b)
		}
	}
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: &resourcelock.LeaseLock{
			LeaseMeta:  metav1.ObjectMeta{Namespace: e.Namespace, Name: e.Name},
			Client:     leases,
			LockConfig: resourcelock.ResourceLockConfig{Identity: e.Identity},
		},
		LeaseDuration: LeaseDuration, RenewDeadline: LeaseRenew, RetryPeriod: LeaseRetry,
		ReleaseOnCancel: true,
		Name:            e.Name,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) { leading(true); e.Lead(ctx) },
			OnStoppedLeading: func() { leading(false) },
		},
	})
	if err != nil {
		return fmt.Errorf("failed to set up the leader election on Lease %s/%s: %w", e.Namespace, e.Name, err)
	}
	for ctx.Err() == nil {
		le.Run(ctx)
	}
	return nil
}
