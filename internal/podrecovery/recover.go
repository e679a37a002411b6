package podrecovery

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/pullsecret/pullsecret/internal/kube"
	"github.com/pullsecret/pullsecret/internal/refresher"
)

// Defaults of Options.
const (
	// DefaultPerMinute bounds deletions per refresher: a cluster-wide
	// mistake deletes at most this many pods a minute.
	DefaultPerMinute = 10
	// DefaultOwnerWindow is how long an owner whose pods were deleted is
	// left alone: should its new pods be stuck again for a reason Decide
	// cannot see, the window keeps that owner from being churned.
	DefaultOwnerWindow = 10 * time.Minute
	// DefaultReportEvery is how often the same bare pod is reported again.
	DefaultReportEvery = time.Hour
)

// Event reasons.
const (
	ReasonPodRecovered = "PodRecovered"
	ReasonPodStuck     = "PodStuckWithoutPullSecret"
)

// Options configure a Recoverer.
type Options struct {
	Client *kube.Client
	// SecretName is the pull secret; Registries the hosts it opens (the
	// refresher's registries input).
	SecretName string
	Registries []string
	// PerMinute is the deletions a minute (a token bucket of that size);
	// zero means DefaultPerMinute.
	PerMinute int
	// OwnerWindow and ReportEvery: zero means the defaults.
	OwnerWindow, ReportEvery time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Logf logs one line (nothing when nil). No secret ever reaches it.
	Logf func(format string, args ...any)
}

// Recoverer deletes the stuck pods of a namespace (watcher.PodRecoverer).
// It trusts its caller that the namespace is covered (the watcher checks
// coverage before every write); the ValidatingAdmissionPolicy installed
// with refresh_recover_pods refuses a deletion anywhere else, or of a pod
// that is not stuck or has no controller, whatever this code decides.
// Safe for concurrent use.
type Recoverer struct {
	o Options

	mu       sync.Mutex
	bucket   bucket
	owners   map[types.UID]time.Time // owner → when its pods were last deleted
	reported map[types.UID]time.Time // bare pod → when it was last reported
}

// New returns a Recoverer.
func New(o Options) *Recoverer {
	if o.PerMinute <= 0 {
		o.PerMinute = DefaultPerMinute
	}
	if o.OwnerWindow <= 0 {
		o.OwnerWindow = DefaultOwnerWindow
	}
	if o.ReportEvery <= 0 {
		o.ReportEvery = DefaultReportEvery
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	return &Recoverer{o: o, bucket: newBucket(o.PerMinute, time.Minute, o.Now()),
		owners: map[types.UID]time.Time{}, reported: map[types.UID]time.Time{}}
}

// Recover deletes the pods of namespace that Decide says to delete, within
// the rate limits, and reports the bare ones. It returns how many pods it
// deleted; an error names what failed, after every other pod was handled.
func (r *Recoverer) Recover(ctx context.Context, namespace string) (int, error) {
	pods, err := r.o.Client.ListPods(ctx, namespace)
	if err != nil {
		return 0, fmt.Errorf("failed to list pods in namespace %q: %w", namespace, err)
	}
	accounts := map[string]*corev1.ServiceAccount{}
	var errs []error
	lookup := func(name string) *corev1.ServiceAccount {
		if sa, ok := accounts[name]; ok {
			return sa
		}
		sa, err := r.o.Client.ServiceAccounts(namespace).Get(ctx, name)
		switch {
		case apierrors.IsNotFound(err) || apierrors.IsForbidden(err):
			// Absent, or not one the refresher covers (its Role names
			// its ServiceAccounts): either way it holds no reference.
			sa = nil
		case err != nil:
			errs = append(errs, fmt.Errorf("failed to read ServiceAccount %s/%s: %w", namespace, name, err))
			sa = nil
		}
		accounts[name] = sa
		return sa
	}
	recovered, limited := 0, 0
	passOwners := map[types.UID]bool{} // owners whose pods this call deletes
	for i := range pods {
		pod := &pods[i]
		d := Decide(pod, r.o.SecretName, r.o.Registries, lookup)
		switch d.Action {
		case Report:
			r.report(ctx, pod, d)
		case Delete:
			ok, why := r.admit(d.Owner.UID, passOwners)
			if !ok {
				if why == "rate" {
					limited++
				}
				continue
			}
			deleted, err := r.delete(ctx, pod, d)
			if err != nil {
				errs = append(errs, err)
			}
			if deleted {
				recovered++
			}
		}
	}
	if limited > 0 {
		r.o.Logf("pod recovery in namespace %s: %d stuck pods left for a later cycle (at most %d deletions a minute)", namespace, limited, r.o.PerMinute)
	}
	return recovered, errors.Join(errs...)
}

// admit takes a deletion from the rate limits: the owner's window (all of
// its stuck pods in one pass, then none until the window ends) and the
// refresher's token bucket. why is "owner" or "rate" when refused.
func (r *Recoverer) admit(owner types.UID, pass map[types.UID]bool) (bool, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.o.Now()
	for uid, at := range r.owners {
		if now.Sub(at) >= r.o.OwnerWindow {
			delete(r.owners, uid)
		}
	}
	if _, recent := r.owners[owner]; recent && !pass[owner] {
		return false, "owner"
	}
	if !r.bucket.take(now) {
		return false, "rate"
	}
	if !pass[owner] {
		r.owners[owner], pass[owner] = now, true
	}
	return true, ""
}

// delete deletes pod at the uid and resourceVersion it was judged at, then
// records an Event on its owner. A pod that changed or is gone was not
// deleted and is no error.
func (r *Recoverer) delete(ctx context.Context, pod *corev1.Pod, d Decision) (bool, error) {
	err := r.o.Client.DeletePodAt(ctx, pod.Namespace, pod.Name, pod.UID, pod.ResourceVersion)
	switch {
	case apierrors.IsConflict(err) || apierrors.IsNotFound(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("failed to delete stuck pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	msg := fmt.Sprintf("Deleted pod %s (container %s waiting with %s for %s) so that %s recreates it with pull secret %s, which ServiceAccount %s now references",
		pod.Name, d.Container, d.Reason, d.Host, d.Owner.Kind+"/"+d.Owner.Name, r.o.SecretName, d.ServiceAccount)
	r.o.Logf("pod recovery in namespace %s: %s", pod.Namespace, msg)
	owner := corev1.ObjectReference{APIVersion: d.Owner.APIVersion, Kind: d.Owner.Kind, Namespace: pod.Namespace, Name: d.Owner.Name, UID: d.Owner.UID}
	if err := r.o.Client.CreateEvent(ctx, r.event(owner, corev1.EventTypeNormal, ReasonPodRecovered, msg)); err != nil {
		r.o.Logf("pod recovery: failed to record an Event on %s %s/%s: %v", d.Owner.Kind, pod.Namespace, d.Owner.Name, err)
	}
	return true, nil
}

// report records a bare stuck pod once per ReportEvery: an Event on the
// pod and a log line. Nothing would recreate it, so it is never deleted.
func (r *Recoverer) report(ctx context.Context, pod *corev1.Pod, d Decision) {
	r.mu.Lock()
	now := r.o.Now()
	for uid, at := range r.reported {
		if now.Sub(at) >= r.o.ReportEvery {
			delete(r.reported, uid)
		}
	}
	_, seen := r.reported[pod.UID]
	if !seen {
		r.reported[pod.UID] = now
	}
	r.mu.Unlock()
	if seen {
		return
	}
	msg := fmt.Sprintf("Pod %s (container %s waiting with %s for %s) was created before ServiceAccount %s referenced pull secret %s and has no controller to recreate it: delete and recreate it yourself",
		pod.Name, d.Container, d.Reason, d.Host, d.ServiceAccount, r.o.SecretName)
	r.o.Logf("pod recovery in namespace %s: %s", pod.Namespace, msg)
	ref := corev1.ObjectReference{APIVersion: "v1", Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID, ResourceVersion: pod.ResourceVersion}
	if err := r.o.Client.CreateEvent(ctx, r.event(ref, corev1.EventTypeWarning, ReasonPodStuck, msg)); err != nil {
		r.o.Logf("pod recovery: failed to record an Event on pod %s/%s: %v", pod.Namespace, pod.Name, err)
	}
}

// event is an Event about obj in obj's namespace (where the refresher may
// create Events when it recovers pods). message holds no secret: names only.
func (r *Recoverer) event(obj corev1.ObjectReference, typ, reason, message string) *corev1.Event {
	now := metav1.NewTime(r.o.Now())
	return &corev1.Event{
		TypeMeta:       metav1.TypeMeta{APIVersion: "v1", Kind: "Event"},
		ObjectMeta:     metav1.ObjectMeta{GenerateName: refresher.Name + "-", Namespace: obj.Namespace},
		InvolvedObject: obj,
		Reason:         reason, Message: message, Type: typ,
		Source:         corev1.EventSource{Component: refresher.Name},
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
	}
}
