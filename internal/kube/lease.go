package kube

import (
	"context"
	"encoding/json"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Lease timings: a leader that stops renewing (its node died) is replaced
// after LeaseDuration; one that is stopped (SIGTERM) releases the Lease,
// and a candidate takes it at its next try, within LeaseRetry. A leader
// that cannot renew for LeaseRenew stops leading (before its Lease can
// expire for the others).
const (
	LeaseDuration = 15 * time.Second
	LeaseRenew    = 10 * time.Second
	LeaseRetry    = 2 * time.Second
)

// Election is a coordination.k8s.io/v1 Lease election among the replicas
// of one refresher.
//
// It is client-go's leader election (tools/leaderelection with a
// LeaseLock) over this package's JSON client: the same record, the same
// rules (a holder's claim is judged by when this replica last saw the
// record change, not by the holder's clock; every write is conditional on
// the resourceVersion read; the Lease is released on the way out), without
// linking client-go's typed clientset, which its resource lock imports and
// which would add 16 MB to the binary (every API group's types).
type Election struct {
	// Namespace and Name locate the Lease; Identity is this replica's.
	Namespace, Name, Identity string
	// Lead runs while this replica leads; its context ends when the
	// lease is lost (or the election's context ends). Elect waits for it
	// to return before it lets go of the Lease.
	Lead func(ctx context.Context)
	// Leading is told every change of leadership (may be nil).
	Leading func(bool)
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Elect takes part in the election until ctx ends: it leads whenever it
// holds the Lease, and stands again after losing it. On ctx's end it
// releases the Lease, so another replica takes over at once.
func Elect(ctx context.Context, c *Client, e Election) {
	if e.Now == nil {
		e.Now = time.Now
	}
	if e.Leading == nil {
		e.Leading = func(bool) {}
	}
	l := &lease{c: c, e: e}
	for {
		if !l.acquire(ctx) {
			return
		}
		e.Leading(true)
		lctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			e.Lead(lctx)
		}()
		l.renew(lctx)
		cancel()
		<-done
		e.Leading(false)
		if ctx.Err() != nil {
			l.release()
			return
		}
	}
}

type lease struct {
	c *Client
	e Election
	// observed is the record as last read, observedAt when it last
	// changed (by this replica's clock).
	observed   coordinationv1.LeaseSpec
	observedAt time.Time
}

// acquire tries every LeaseRetry until this replica holds the Lease
// (true) or ctx ends (false).
func (l *lease) acquire(ctx context.Context) bool {
	for {
		if ok, _ := l.try(ctx); ok {
			return true
		}
		if !sleepCtx(ctx, LeaseRetry) {
			return false
		}
	}
}

// renew renews every LeaseRetry until ctx ends, another replica holds
// the Lease, or no renewal succeeded for LeaseRenew.
func (l *lease) renew(ctx context.Context) {
	last := l.e.Now()
	for sleepCtx(ctx, LeaseRetry) {
		ok, lost := l.try(ctx)
		switch {
		case ok:
			last = l.e.Now()
		case lost || l.e.Now().Sub(last) > LeaseRenew:
			return
		}
	}
}

// try acquires or renews the Lease once. lost says another replica
// holds it (as opposed to a failed request).
func (l *lease) try(ctx context.Context) (ok, lost bool) {
	ctx, cancel := context.WithTimeout(ctx, LeaseRenew)
	defer cancel()
	now := l.e.Now()
	var cur coordinationv1.Lease
	err := l.c.getJSON(ctx, l.path(), &cur)
	if apierrors.IsNotFound(err) {
		cur = coordinationv1.Lease{
			TypeMeta:   metav1.TypeMeta{APIVersion: "coordination.k8s.io/v1", Kind: "Lease"},
			ObjectMeta: metav1.ObjectMeta{Namespace: l.e.Namespace, Name: l.e.Name},
			Spec:       l.claim(coordinationv1.LeaseSpec{}, now),
		}
		if err := l.write(ctx, &cur, true); err != nil {
			return false, false
		}
		l.observed, l.observedAt = cur.Spec, now
		return true, false
	}
	if err != nil {
		return false, false
	}
	if !sameRecord(cur.Spec, l.observed) {
		l.observed, l.observedAt = cur.Spec, now
	}
	holder := deref(cur.Spec.HolderIdentity)
	if holder != "" && holder != l.e.Identity && now.Before(l.observedAt.Add(durationOf(cur.Spec))) {
		return false, true
	}
	cur.Spec = l.claim(cur.Spec, now)
	if err := l.write(ctx, &cur, false); err != nil {
		return false, false
	}
	l.observed, l.observedAt = cur.Spec, now
	return true, false
}

// claim is spec held by this replica at now: a new holder starts a new
// term (acquire time, one more transition).
func (l *lease) claim(spec coordinationv1.LeaseSpec, now time.Time) coordinationv1.LeaseSpec {
	t := metav1.NewMicroTime(now)
	secs := int32(LeaseDuration / time.Second)
	if deref(spec.HolderIdentity) != l.e.Identity {
		spec.AcquireTime = &t
		if spec.HolderIdentity != nil {
			n := int32(1)
			if spec.LeaseTransitions != nil {
				n = *spec.LeaseTransitions + 1
			}
			spec.LeaseTransitions = &n
		}
	}
	id := l.e.Identity
	spec.HolderIdentity, spec.RenewTime, spec.LeaseDurationSeconds = &id, &t, &secs
	if spec.LeaseTransitions == nil {
		zero := int32(0)
		spec.LeaseTransitions = &zero
	}
	return spec
}

// release gives the Lease up (if this replica still holds it), as
// client-go's ReleaseOnCancel: no holder, a one-second duration.
func (l *lease) release() {
	ctx, cancel := context.WithTimeout(context.Background(), LeaseRenew)
	defer cancel()
	var cur coordinationv1.Lease
	if err := l.c.getJSON(ctx, l.path(), &cur); err != nil || deref(cur.Spec.HolderIdentity) != l.e.Identity {
		return
	}
	now := metav1.NewMicroTime(l.e.Now())
	one := int32(1)
	empty := ""
	cur.Spec.HolderIdentity, cur.Spec.LeaseDurationSeconds, cur.Spec.RenewTime = &empty, &one, &now
	_ = l.write(ctx, &cur, false)
}

// write creates the Lease, or updates it conditionally on the
// resourceVersion it was read at (a Conflict when another replica wrote
// it in between).
func (l *lease) write(ctx context.Context, obj *coordinationv1.Lease, create bool) error {
	obj.APIVersion, obj.Kind = "coordination.k8s.io/v1", "Lease"
	body, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	req := l.c.json.Put().AbsPath(l.path())
	if create {
		req = l.c.json.Post().AbsPath("/apis/coordination.k8s.io/v1/namespaces/" + l.e.Namespace + "/leases")
	}
	raw, err := req.SetHeader("Content-Type", "application/json").Body(body).Do(ctx).Raw()
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, obj)
}

func (l *lease) path() string {
	return Object{APIVersion: "coordination.k8s.io/v1", Resource: "leases", Namespace: l.e.Namespace, Name: l.e.Name}.Path()
}

// sameRecord compares what a holder writes (client-go compares the
// record's serialisation).
func sameRecord(a, b coordinationv1.LeaseSpec) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func durationOf(spec coordinationv1.LeaseSpec) time.Duration {
	if spec.LeaseDurationSeconds == nil {
		return LeaseDuration
	}
	return time.Duration(*spec.LeaseDurationSeconds) * time.Second
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
