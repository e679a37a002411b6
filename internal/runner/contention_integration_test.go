//go:build integration

package runner

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/kube"
	"github.com/pullsecret/pullsecret/internal/labels"
	"github.com/pullsecret/pullsecret/internal/testing/check"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

// labelledNamespaces creates n namespaces sharing a fresh label, each with
// ServiceAccount "app" listing pre, and returns the selector and names.
func labelledNamespaces(t *testing.T, cs kubernetes.Interface, n int, pre ...string) (string, []string) {
	t.Helper()
	label := freshName("batch")
	var names []string
	for i := 0; i < n; i++ {
		ns := freshName("contend")
		_, err := cs.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"batch": label}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
		createSA(t, cs, ns, "app", pre...)
		names = append(names, ns)
	}
	return "batch=" + label, names
}

// churner is another writer of the same ServiceAccounts: it keeps adding
// and removing its own entries (read-modify-write, as kubectl edit or a
// controller would) and remembers what it last wrote.
type churner struct {
	cs      kubernetes.Interface
	names   []string
	writes  atomic.Int64
	mu      sync.Mutex
	current map[string]string // namespace -> its entry now
	// nsLocks serialise the other writer's own writes per namespace (the
	// churn loop and the write interposed before the run's update), so it
	// always replaces exactly its previous entry.
	nsLocks sync.Map // namespace -> *sync.Mutex
}

// churnWrites bounds the other writer: a writer that never pauses can,
// on a machine slow enough, starve any optimistic writer forever; one that
// stops lets the test prove what it means to, on any machine: every other
// entry survives, and ours is there once.
const churnWrites = 20

// run writes churnWrites times per namespace (or until ctx is done), one
// writer per namespace so every ServiceAccount is under change while the
// run starts, closing ready once every ServiceAccount carries a churn
// entry.
func (c *churner) run(ctx context.Context, t *testing.T, ready chan<- struct{}) {
	var first, all sync.WaitGroup
	first.Add(len(c.names))
	for _, ns := range c.names {
		all.Add(1)
		go func() {
			defer all.Done()
			for round := 0; round < churnWrites && ctx.Err() == nil; round++ {
				err := c.write(ns, fmt.Sprintf("churn-%d", round))
				if round == 0 {
					first.Done()
				}
				if err != nil {
					t.Errorf("other writer in %s: %v", ns, err)
					return
				}
			}
		}()
	}
	first.Wait()
	close(ready)
	all.Wait()
}

// write replaces the writer's previous entry in ns with next, re-reading
// on Conflict for as long as a run's per-call limit (it races the run too).
func (c *churner) write(ns, next string) error {
	l, _ := c.nsLocks.LoadOrStore(ns, &sync.Mutex{})
	l.(*sync.Mutex).Lock()
	defer l.(*sync.Mutex).Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), kube.DefaultRequestTimeout)
	defer cancel()
	err := retry.OnError(wait.Backoff{Steps: math.MaxInt32, Duration: 10 * time.Millisecond, Jitter: 1}, func(err error) bool {
		return apierrors.IsConflict(err) && ctx.Err() == nil
	}, func() error {
		sa, err := c.cs.CoreV1().ServiceAccounts(ns).Get(ctx, "app", metav1.GetOptions{})
		if err != nil {
			return err
		}
		refs, _ := kube.RemovePullSecret(sa.ImagePullSecrets, c.entry(ns))
		sa.ImagePullSecrets, _ = kube.AddPullSecret(refs, next)
		_, err = c.cs.CoreV1().ServiceAccounts(ns).Update(ctx, sa, metav1.UpdateOptions{FieldManager: "churner"})
		return err
	})
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.current[ns] = next
	c.mu.Unlock()
	c.writes.Add(1)
	return nil
}

// entry is the churn entry the other writer last wrote in ns.
func (c *churner) entry(ns string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.current[ns]
}

func newChurner(cs kubernetes.Interface, names []string) *churner {
	return &churner{cs: cs, names: names, current: map[string]string{}}
}

// during runs fn while the other writer edits the namespaces'
// ServiceAccounts, and returns once the writer stopped. The churn alone may
// miss a fast run, so the Deps fn runs with also make the other writer
// write to each ServiceAccount right before the run's first update of it:
// that update meets a ServiceAccount changed since it was read.
func (c *churner) during(t *testing.T, fn func(Deps)) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done, ready := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		c.run(ctx, t, ready)
	}()
	<-ready
	before := c.writes.Load()
	var interposed atomic.Int64
	var seen sync.Map // namespace → its first update was interposed
	fn(Deps{WrapTransport: func(next http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			// PUT /api/v1/namespaces/NS/serviceaccounts/app
			parts := strings.Split(req.URL.Path, "/")
			if req.Method == http.MethodPut && len(parts) == 7 && parts[5] == "serviceaccounts" && parts[6] == "app" {
				if _, again := seen.LoadOrStore(parts[4], true); again {
					return next.RoundTrip(req) // the retry after the conflict
				}
				if err := c.write(parts[4], fmt.Sprintf("interposed-%d", interposed.Add(1))); err != nil {
					t.Errorf("other writer before the run's update in %s: %v", parts[4], err)
				}
			}
			return next.RoundTrip(req)
		})
	}})
	during := c.writes.Load() - before
	cancel()
	<-done
	if interposed.Load() == 0 {
		t.Errorf("the run updated no ServiceAccount, so nothing met the other writer; the test proved nothing")
	}
	t.Logf("other writer: %d ServiceAccount writes during the run, %d of them right before one of the run's updates", during, interposed.Load())
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// ServiceAccounts edited by another writer throughout a run over 30
// namespaces: every other entry survives, ours is there exactly once; and
// the same for teardown (ours gone, every other entry kept).
func TestOtherWriterOnServiceAccountsDuringRun(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := fastClient(t, cp)
	selector, names := labelledNamespaces(t, cs, 30, "keep-a", "keep-b")
	in := withCreds(t, fakestack.KeyToken, map[string]string{config.InNamespaceSelector: selector, config.InServiceAccounts: "app", config.InConcurrency: "8"})

	var r run
	c := newChurner(cs, names)
	c.during(t, func(d Deps) { r = runDeps(t, cp.Kubeconfig(), in, d) })
	if r.err != nil {
		t.Fatalf("apply: %v", r.err)
	}
	if got := len(r.res.Succeeded()); got != len(names) {
		t.Errorf("succeeded in %d namespaces, want %d", got, len(names))
	}
	for _, ns := range names {
		got := pullSecretNames(getSA(t, cs, ns, "app"))
		want := []string{"keep-a", "keep-b", c.entry(ns), config.DefaultSecretName}
		if diff := cmp.Diff(want, got, sortStrings); diff != "" {
			t.Errorf("%s after apply (-want +got):\n%s", ns, diff)
		}
		if n := countOf(got, config.DefaultSecretName); n != 1 {
			t.Errorf("%s: our entry %d times", ns, n)
		}
		getSecret(t, cs, ns, config.DefaultSecretName)
	}

	del := map[string]string{config.InNamespaceSelector: selector, config.InMode: "delete", config.InConcurrency: "8"}
	c.during(t, func(d Deps) { r = runDeps(t, cp.Kubeconfig(), del, d) })
	if r.err != nil {
		t.Fatalf("delete: %v", r.err)
	}
	for _, ns := range names {
		got := pullSecretNames(getSA(t, cs, ns, "app"))
		if diff := cmp.Diff([]string{"keep-a", "keep-b", c.entry(ns)}, got, sortStrings); diff != "" {
			t.Errorf("%s after delete (-want +got):\n%s", ns, diff)
		}
		if !secretAbsent(t, cs, ns, config.DefaultSecretName) {
			t.Errorf("%s: secret left after delete", ns)
		}
	}
}

// Two runs at once on the same 20 namespaces and the same secret name:
// both finish cleanly, and the secret is ours, holds a token Google issued,
// and is referenced exactly once next to the other entries.
func TestTwoRunsAtOnceOnTheSameSecret(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := fastClient(t, cp)
	selector, names := labelledNamespaces(t, cs, 20, "other")
	in := withCreds(t, fakestack.KeyToken, map[string]string{config.InNamespaceSelector: selector, config.InServiceAccounts: "app", config.InConcurrency: "8"})
	for round, mode := range []string{"apply", "apply", "delete"} {
		in[config.InMode] = mode
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = runWith(t, cp.Kubeconfig(), in).err
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("round %d (%s), run %d: %v", round, mode, i, err)
			}
		}
		for _, ns := range names {
			got := pullSecretNames(getSA(t, cs, ns, "app"))
			if mode == "delete" {
				if diff := cmp.Diff([]string{"other"}, got); diff != "" || !secretAbsent(t, cs, ns, config.DefaultSecretName) {
					t.Errorf("%s after concurrent deletes: secret absent %v, entries (-want +got):\n%s", ns, secretAbsent(t, cs, ns, config.DefaultSecretName), diff)
				}
				continue
			}
			if diff := cmp.Diff([]string{"other", config.DefaultSecretName}, got); diff != "" {
				t.Errorf("%s round %d (-want +got):\n%s", ns, round, diff)
			}
			s := getSecret(t, cs, ns, config.DefaultSecretName)
			if s.Labels[labels.ManagedBy] != labels.Manager || s.Type != corev1.SecretTypeDockerConfigJson {
				t.Errorf("%s: secret not ours: type %s labels %v", ns, s.Type, s.Labels)
			}
			if _, ok := fakes(t).Google.Lookup(dockerConfigOf(t, s).Auths["gcr.io"].Password); !ok {
				t.Errorf("%s: secret does not hold a token the fake issued", ns)
			}
		}
	}
}

// A namespace that is Terminating (held by a finalizer) when the run
// reaches it: named, it fails with a message saying it is being deleted;
// chosen by a selector before it began terminating, it is skipped. The
// other namespaces succeed, and no ServiceAccount references a secret that
// does not exist.
func TestNamespaceTerminatingDuringRun(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	ctx := t.Context()
	good1, good2, dying := controlplanetest.Namespace(t, cp), controlplanetest.Namespace(t, cp), controlplanetest.Namespace(t, cp)
	for _, ns := range []string{good1, good2, dying} {
		createSA(t, cs, ns, "app", "other")
	}
	hold := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "hold", Finalizers: []string{"pullsecret.test/hold"}}}
	if _, err := cs.CoreV1().ConfigMaps(dying).Create(ctx, hold, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = cs.CoreV1().ConfigMaps(dying).Patch(context.Background(), "hold", "application/merge-patch+json", []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
	})
	if err := cs.CoreV1().Namespaces().Delete(ctx, dying, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}

	r := runWith(t, cp.Kubeconfig(), withCreds(t, fakestack.KeyToken, map[string]string{
		config.InNamespaces: strings.Join([]string{good1, dying, good2}, ","), config.InServiceAccounts: "app",
	}))
	if check.ErrDiff(r.err, dying, "being deleted") != "" {
		t.Errorf("want the run to fail naming %s as being deleted, got %v", dying, r.err)
	}
	if diff := cmp.Diff([]string{good1, good2}, r.res.Succeeded()); diff != "" {
		t.Errorf("succeeded (-want +got):\n%s", diff)
	}
	for _, ns := range []string{good1, good2} {
		getSecret(t, cs, ns, config.DefaultSecretName)
		if diff := cmp.Diff([]string{"other", config.DefaultSecretName}, pullSecretNames(getSA(t, cs, ns, "app"))); diff != "" {
			t.Errorf("%s (-want +got):\n%s", ns, diff)
		}
	}
	assertNoDanglingReference(t, cs, dying)

	// Chosen by a selector before it began terminating: what a run's
	// later write to it meets.
	w := &writer{cfg: &config.Config{SecretName: config.DefaultSecretName, ServiceAccounts: []string{"app"}}, spec: kube.SecretSpec{Name: config.DefaultSecretName, Payload: []byte(`{"auths":{}}`)}}
	res := w.applyIn(ctx, kubeClientFor(t, cp), kube.Target{Name: dying, Matched: true}, nil)
	if res.Err != nil || res.Skipped == "" {
		t.Errorf("matched terminating namespace: want skipped, got err %v skipped %q", res.Err, res.Skipped)
	}
	assertNoDanglingReference(t, cs, dying)
}

// assertNoDanglingReference fails if a ServiceAccount of ns references our
// secret while it does not exist.
func assertNoDanglingReference(t *testing.T, cs kubernetes.Interface, ns string) {
	t.Helper()
	list, err := cs.CoreV1().ServiceAccounts(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, sa := range list.Items {
		if slices.Contains(pullSecretNames(&sa), config.DefaultSecretName) && secretAbsent(t, cs, ns, config.DefaultSecretName) {
			t.Errorf("%s/%s references %s, which does not exist", ns, sa.Name, config.DefaultSecretName)
		}
	}
}

// runDeps is runWith with Deps the test sets.
func runDeps(t *testing.T, kubeconfig string, inputs map[string]string, d Deps) run {
	t.Helper()
	return runCtx(controlplanetest.Context(t), t, kubeconfig, inputs, d)
}
