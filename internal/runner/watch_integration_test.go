//go:build integration

package runner

import (
	"context"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/labels"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

// installWatched installs a watching refresher (refresh_mode: watch;
// glob or selector coverage, inputs extra) with a provider the fake
// trusts, and returns its namespace and the projected token file its pods
// would have. Every test runs the controller as the refresher's own
// ServiceAccount: its watches live within the rendered RBAC.
func installWatched(t *testing.T, cp *controlplane.ControlPlane, extra map[string]string) (refreshNS, tokenPath string) {
	t.Helper()
	cs := clientFor(t, cp)
	refreshNS = freshName("ps-watch")
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), refreshNS, metav1.DeleteOptions{}) })
	provider := extra[config.InRefreshWorkloadIdentityProvider]
	if provider == "" {
		provider, _ = trustCluster(t, cp, refreshNS)
	}
	in := withCreds(t, fakestack.WIF, map[string]string{config.InRefresh: "true", config.InRefreshImage: refresherImage,
		config.InRefreshWorkloadIdentityProvider: provider, config.InRefreshNamespace: refreshNS, config.InRefreshMode: config.RefreshWatch})
	for k, v := range extra {
		in[k] = v
	}
	if r := runWith(t, cp.Kubeconfig(), in); r.err != nil {
		t.Fatalf("install run: %v\n%s", r.err, r.log)
	}
	return refreshNS, deploymentToken(t, cs, refreshNS, t.TempDir())
}

// holdsRefresherToken reports whether ns's secret holds a token minted
// for the refresher of refreshNS.
func holdsRefresherToken(t *testing.T, ctx context.Context, cs kubernetes.Interface, ns, refreshNS string) bool {
	s, err := cs.CoreV1().Secrets(ns).Get(ctx, config.DefaultSecretName, metav1.GetOptions{})
	if err != nil {
		return false
	}
	return slices.Contains(refresherMints(t, refreshNS), passwordOf(t, s))
}

// The watching refresher covers what appears and repairs what drifts, as
// the refresher's ServiceAccount within the watch-mode RBAC, with one
// token for everything: a namespace created matching the glob, one
// labelled into the selector, a ServiceAccount named in service_accounts
// created later, a deleted secret, a removed reference.
func TestWatchCoversAndRepairs(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := pollClient(t, cp)
	prefix := freshName("pw")
	first := newNamespace(t, cs, prefix+"-1")
	createSA(t, cs, first, "builder")
	selector := "pullsecret-test/watch=" + prefix
	refreshNS, tokenPath := installWatched(t, cp, map[string]string{config.InNamespaces: prefix + "-*",
		config.InNamespaceSelector: selector, config.InServiceAccounts: "default,builder"})
	w := startWatcher(t, cp, refreshNS, tokenPath, "replica-a")

	until(t, "the installed namespace holds the refresher's token", func(ctx context.Context) bool {
		return holdsRefresherToken(t, ctx, cs, first, refreshNS) && covered(ctx, cs, first, "default")
	}, w)

	// A namespace created matching the glob.
	start := time.Now()
	later := newNamespace(t, cs, prefix+"-2")
	until(t, "a namespace created matching the glob is covered", func(ctx context.Context) bool { return covered(ctx, cs, later, "default") }, w)
	t.Logf("namespace created → secret and reference: %s", time.Since(start))

	// A namespace labelled into the selector.
	other := newNamespace(t, cs, freshName("pwsel"))
	ns, err := cs.CoreV1().Namespaces().Get(t.Context(), other, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	k, v, _ := strings.Cut(selector, "=")
	ns.Labels[k] = v
	start = time.Now()
	if _, err := cs.CoreV1().Namespaces().Update(t.Context(), ns, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	until(t, "a namespace labelled into the selector is covered", func(ctx context.Context) bool { return covered(ctx, cs, other, "default") }, w)
	t.Logf("namespace labelled → secret and reference: %s", time.Since(start))

	// A ServiceAccount named in service_accounts, created later.
	start = time.Now()
	createSA(t, cs, later, "builder")
	until(t, "a new ServiceAccount named in service_accounts is referenced", func(ctx context.Context) bool { return covered(ctx, cs, later, "builder") }, w)
	t.Logf("ServiceAccount created → reference: %s", time.Since(start))

	// A deleted secret is restored.
	old := getSecret(t, cs, later, config.DefaultSecretName)
	start = time.Now()
	if err := cs.CoreV1().Secrets(later).Delete(t.Context(), config.DefaultSecretName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	until(t, "a deleted secret is restored", func(ctx context.Context) bool {
		s, err := cs.CoreV1().Secrets(later).Get(ctx, config.DefaultSecretName, metav1.GetOptions{})
		return err == nil && s.UID != old.UID
	}, w)
	t.Logf("secret deleted → restored: %s", time.Since(start))

	// A removed reference is restored.
	sa := getSA(t, cs, later, "default")
	sa.ImagePullSecrets = slices.DeleteFunc(sa.ImagePullSecrets, func(r corev1.LocalObjectReference) bool { return r.Name == config.DefaultSecretName })
	start = time.Now()
	removed, err := cs.CoreV1().ServiceAccounts(later).Update(t.Context(), sa, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	until(t, "a removed reference is restored", func(ctx context.Context) bool {
		got, err := cs.CoreV1().ServiceAccounts(later).Get(ctx, "default", metav1.GetOptions{})
		return err == nil && got.ResourceVersion != removed.ResourceVersion && contains(pullSecretNames(got), config.DefaultSecretName)
	}, w)
	t.Logf("reference removed → restored: %s", time.Since(start))
	if strings.Contains(w.log.String(), "cannot watch") {
		t.Errorf("a watch went beyond the watch mode's RBAC:\n%s", w.log)
	}

	// One mint served every namespace (token_lifetime 1h: no refresh yet).
	mints := refresherMints(t, refreshNS)
	if len(mints) != 1 {
		t.Errorf("the refresher minted %d tokens, want 1 for all namespaces", len(mints))
	}
	for _, ns := range []string{first, later, other} {
		if !holdsRefresherToken(t, t.Context(), cs, ns, refreshNS) {
			t.Errorf("%s does not hold the refresher's token", ns)
		}
	}
	cm, err := cs.CoreV1().ConfigMaps(refreshNS).Get(t.Context(), pullerRefresher, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cm.Annotations[labels.LastSuccess] == "" || cm.Annotations[labels.ExpiresAt] == "" || !strings.HasPrefix(cm.Annotations[labels.LastResult], "refreshed ") {
		t.Errorf("status annotations after the first refresh: %v", cm.Annotations)
	}
}

// The token is minted again when half of token_lifetime has passed, once
// for every namespace.
func TestWatchRefreshesAtHalfLifetime(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := pollClient(t, cp)
	prefix := freshName("pwr")
	a, b := newNamespace(t, cs, prefix+"-a"), newNamespace(t, cs, prefix+"-b")
	refreshNS, tokenPath := installWatched(t, cp, map[string]string{config.InNamespaces: prefix + "-*"})
	// The shortest token_lifetime Google allows; watch mode has no
	// refresh_interval to bound it (the cron install above has).
	args := watcherArgs(t, cp, refreshNS, tokenPath)
	args.Fixed[config.InTokenLifetime] = "60s"
	w := startWatcherWith(t, args, "replica-a")

	var firstToken string
	until(t, "both namespaces hold the refresher's first token", func(ctx context.Context) bool {
		mints := refresherMints(t, refreshNS)
		if len(mints) != 1 || !holdsRefresherToken(t, ctx, cs, a, refreshNS) || !holdsRefresherToken(t, ctx, cs, b, refreshNS) {
			return false
		}
		firstToken = mints[0]
		return true
	}, w)
	until(t, "both namespaces hold a new token after half of its lifetime", func(ctx context.Context) bool {
		sa, err1 := cs.CoreV1().Secrets(a).Get(ctx, config.DefaultSecretName, metav1.GetOptions{})
		sb, err2 := cs.CoreV1().Secrets(b).Get(ctx, config.DefaultSecretName, metav1.GetOptions{})
		return err1 == nil && err2 == nil && passwordOf(t, sa) != firstToken && passwordOf(t, sa) == passwordOf(t, sb)
	}, w)
	issued, _ := fakes(t).Google.Lookup(secretToken(t, cs, a))
	first, _ := fakes(t).Google.Lookup(firstToken)
	// Google states the expiry to the second (RFC 3339 expireTime).
	if half := first.Expiry.Truncate(time.Second).Add(-30 * time.Second); issued.IssuedAt.Before(half) {
		t.Errorf("refreshed %s after the first mint, before half of the 60s lifetime had passed", issued.IssuedAt.Sub(first.IssuedAt))
	}
	t.Logf("refreshed %s after the first mint", issued.IssuedAt.Sub(first.IssuedAt))
	if n := len(refresherMints(t, refreshNS)); n != 2 {
		t.Errorf("%d mints after one refresh, want 2 (one per refresh, for both namespaces)", n)
	}
}

// A Google that refuses: the controller retries with growing intervals
// (a bounded number of attempts over the time it ran, however slow the
// machine), and records the failure on the ConfigMap (Event and status),
// without the token.
func TestWatchBacksOffWhenGoogleFails(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := pollClient(t, cp)
	prefix := freshName("pwf")
	newNamespace(t, cs, prefix+"-a")
	// A provider Google does not know: every token exchange is refused.
	untrusted := "projects/123456/locations/global/workloadIdentityPools/k8s/providers/" + freshName("untrusted")
	refreshNS, tokenPath := installWatched(t, cp, map[string]string{config.InNamespaces: prefix + "-*", config.InRefreshWorkloadIdentityProvider: untrusted})
	start := time.Now()
	w := startWatcher(t, cp, refreshNS, tokenPath, "replica-a")

	var events []corev1.Event
	until(t, "a RefreshFailed Event, failed status and four attempts", func(ctx context.Context) bool {
		list, err := cs.CoreV1().Events(refreshNS).List(ctx, metav1.ListOptions{FieldSelector: "reason=RefreshFailed"})
		if err != nil || len(list.Items) == 0 {
			return false
		}
		events = list.Items
		cm, err := cs.CoreV1().ConfigMaps(refreshNS).Get(ctx, pullerRefresher, metav1.GetOptions{})
		return err == nil && strings.HasPrefix(cm.Annotations[labels.LastResult], "failed at ") && w.googleRequests.Load() >= 4
	}, w)
	w.stop(t)
	elapsed := time.Since(start)
	// Retries after 1 s, doubling: k attempts take at least 2^(k-1)-1 s.
	// An attempt is one token exchange; allow each a retry of its own.
	attempts := w.googleRequests.Load()
	if bound := 2 * (int64(math.Log2(elapsed.Seconds()+1)) + 2); attempts > bound {
		t.Errorf("%d requests to Google in %s: more than the backoff allows (%d)", attempts, elapsed, bound)
	}
	t.Logf("%d requests to Google in %s", attempts, elapsed)
	if len(events) > 2 {
		t.Errorf("%d RefreshFailed Events for one persisting failure, want them deduplicated", len(events))
	}
	cm, err := cs.CoreV1().ConfigMaps(refreshNS).Get(t.Context(), pullerRefresher, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	recorded := cm.Annotations[labels.LastResult]
	for _, e := range events {
		recorded += "\n" + e.Message
	}
	assertNoSecrets(t, run{log: recorded})
	t.Logf("recorded: %s", recorded)
}

// Two replicas, one Lease: only the leader writes; when it is stopped it
// releases the Lease and the other takes over.
func TestWatchLeaderElection(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := pollClient(t, cp)
	prefix := freshName("pwl")
	refreshNS, tokenPath := installWatched(t, cp, map[string]string{config.InNamespaces: prefix + "-*"})
	replicas := map[string]*watchRun{
		"replica-a": startWatcher(t, cp, refreshNS, tokenPath, "replica-a"),
		"replica-b": startWatcher(t, cp, refreshNS, tokenPath, "replica-b"),
	}
	all := []*watchRun{replicas["replica-a"], replicas["replica-b"]}
	var leader string
	until(t, "one replica leads", func(ctx context.Context) bool {
		l, err := cs.CoordinationV1().Leases(refreshNS).Get(ctx, pullerRefresher, metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil || replicas[*l.Spec.HolderIdentity] == nil {
			return false
		}
		leader = *l.Spec.HolderIdentity
		return strings.Contains(replicas[leader].log.String(), "Leading:")
	}, all...)
	follower := "replica-a"
	if leader == follower {
		follower = "replica-b"
	}
	one := newNamespace(t, cs, prefix+"-1")
	until(t, "the leader covers a new namespace", func(ctx context.Context) bool { return covered(ctx, cs, one, "default") }, all...)
	wrote := func(name, ns string) bool { return strings.Contains(replicas[name].log.String(), ns+": secret ") }
	if !wrote(leader, one) || wrote(follower, one) || strings.Contains(replicas[follower].log.String(), "Leading:") {
		t.Errorf("want only the leader %s to lead and write:\n%s\n----\n%s", leader, replicas[leader].log, replicas[follower].log)
	}

	start := time.Now()
	replicas[leader].stop(t)
	until(t, "the other replica takes over", func(ctx context.Context) bool {
		return strings.Contains(replicas[follower].log.String(), "Leading:")
	}, replicas[follower])
	t.Logf("leader stopped → the other leads: %s", time.Since(start))
	two := newNamespace(t, cs, prefix+"-2")
	until(t, "the new leader covers a new namespace", func(ctx context.Context) bool { return covered(ctx, cs, two, "default") && wrote(follower, two) }, replicas[follower])
}

// Out of cluster, `refresh --watch --config-map NS/NAME --kubeconfig`
// alone: the arguments come from the installed refresher's workload, and
// the projected token (there is no pod) from the TokenRequest API, so
// Google sees the refresher's own identity.
func TestWatchOutOfClusterFromInstalledArgs(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := pollClient(t, cp)
	prefix := freshName("pwo")
	ns := newNamespace(t, cs, prefix+"-a")
	refreshNS, _ := installWatched(t, cp, map[string]string{config.InNamespaces: prefix + "-*"})
	a := &RefresherArgs{Namespace: refreshNS, Name: pullerRefresher, Watch: &WatchArgs{Kubeconfig: cp.Kubeconfig(), LeaderElect: true}}
	args, err := InstalledRefresherArgs(t.Context(), a, Deps{Host: hostOutside()})
	if err != nil {
		t.Fatal(err)
	}
	got := parseRefresherArgs(t, withoutWatchFlags(args))
	got.Watch, got.TokenFile = a.Watch, filepath.Join(t.TempDir(), "absent")
	w := startWatcherWith(t, got, "dev-laptop")
	until(t, "the namespace holds the refresher's token", func(ctx context.Context) bool {
		return holdsRefresherToken(t, ctx, cs, ns, refreshNS) && covered(ctx, cs, ns, "default")
	}, w)
	if !strings.Contains(w.log.String(), "TokenRequest API") {
		t.Errorf("the run did not say where its token came from:\n%s", w.log)
	}
}

// Named coverage: the controller watches only the named namespaces (each
// namespace's secret and ServiceAccounts by name, within per-namespace
// RBAC), repairs there, and follows the ConfigMap when an install adds a
// namespace.
func TestWatchNamedCoverage(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := pollClient(t, cp)
	refreshNS := freshName("ps-watchn")
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), refreshNS, metav1.DeleteOptions{}) })
	provider, _ := trustCluster(t, cp, refreshNS)
	a, c := controlplanetest.Namespace(t, cp), controlplanetest.Namespace(t, cp)
	install := func(ns string) {
		in := withCreds(t, fakestack.WIF, map[string]string{config.InNamespaces: ns, config.InRefresh: "true", config.InRefreshImage: refresherImage,
			config.InRefreshWorkloadIdentityProvider: provider, config.InRefreshNamespace: refreshNS, config.InRefreshMode: config.RefreshWatch})
		if r := runWith(t, cp.Kubeconfig(), in); r.err != nil {
			t.Fatalf("install run for %s: %v\n%s", ns, r.err, r.log)
		}
	}
	install(a)
	w := startWatcher(t, cp, refreshNS, deploymentToken(t, cs, refreshNS, t.TempDir()), "replica-a")
	until(t, "the named namespace holds the refresher's token", func(ctx context.Context) bool {
		return holdsRefresherToken(t, ctx, cs, a, refreshNS) && covered(ctx, cs, a, "default")
	}, w)
	old := getSecret(t, cs, a, config.DefaultSecretName)
	if err := cs.CoreV1().Secrets(a).Delete(t.Context(), config.DefaultSecretName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	until(t, "a deleted secret is restored", func(ctx context.Context) bool {
		s, err := cs.CoreV1().Secrets(a).Get(ctx, config.DefaultSecretName, metav1.GetOptions{})
		return err == nil && s.UID != old.UID
	}, w)

	cmPath := "/api/v1/namespaces/" + refreshNS + "/configmaps/" + pullerRefresher
	steadyState(t, w, cmPath)

	// An install adds namespace c: the ConfigMap's coverage grows, and
	// the controller watches c too (the install itself wrote c with the
	// CI's token; the controller rewrites it with its own). The change
	// arrives by the ConfigMap's watch: the controller starts watching c
	// before it reads the ConfigMap again (a poll would read it first).
	mark := w.api.len()
	install(c)
	until(t, "a namespace added to the coverage holds the refresher's token", func(ctx context.Context) bool {
		return holdsRefresherToken(t, ctx, cs, c, refreshNS) && covered(ctx, cs, c, "default")
	}, w)
	after := w.api.since(mark)
	first := slices.IndexFunc(after, func(r apiRequest) bool {
		return strings.Contains(r.Path, "/namespaces/"+c+"/") || r.Query.Get("fieldSelector") == "metadata.name="+c
	})
	if first < 0 {
		t.Fatalf("the controller never sent a request about %s: %v", c, after)
	}
	if i := slices.IndexFunc(after[:first], func(r apiRequest) bool { return r.reads(cmPath) }); i >= 0 {
		t.Errorf("the controller polled its ConfigMap (%s) before it followed the install's change: %v", after[i], after[:first+1])
	}
	if n := len(refresherMints(t, refreshNS)); n != 1 {
		t.Errorf("%d mints, want 1 for both namespaces", n)
	}
	if strings.Contains(w.log.String(), "cannot watch") {
		t.Errorf("a watch went beyond the named coverage's RBAC:\n%s", w.log)
	}

	// Teardown of c (its secret deleted after c left the ConfigMap): the
	// controller, re-reading the coverage before it writes, does not
	// restore it; once it saw the narrowed coverage it never will.
	r := runWith(t, cp.Kubeconfig(), map[string]string{config.InNamespaces: c, config.InMode: "delete", config.InRefresh: "true", config.InRefreshNamespace: refreshNS})
	if r.err != nil {
		t.Fatalf("teardown of %s: %v\n%s", c, r.err, r.log)
	}
	until(t, "the controller follows the narrowed coverage", func(context.Context) bool {
		return strings.Contains(w.log.String(), fmt.Sprintf("Coverage: namespaces [%q]", a))
	}, w)
	if _, err := cs.CoreV1().Secrets(c).Get(t.Context(), config.DefaultSecretName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the secret in torn-down %s is there again (err %v):\n%s", c, err, w.log)
	}
}

// service_accounts "*": any ServiceAccount created later is referenced.
func TestWatchEveryServiceAccount(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := pollClient(t, cp)
	prefix := freshName("pwe")
	ns := newNamespace(t, cs, prefix+"-a")
	refreshNS, tokenPath := installWatched(t, cp, map[string]string{config.InNamespaces: prefix + "-*", config.InServiceAccounts: "*"})
	w := startWatcher(t, cp, refreshNS, tokenPath, "replica-a")
	until(t, "the namespace holds the refresher's token", func(ctx context.Context) bool {
		return holdsRefresherToken(t, ctx, cs, ns, refreshNS) && covered(ctx, cs, ns, "default")
	}, w)
	name := freshName("app")
	start := time.Now()
	createSA(t, cs, ns, name)
	until(t, "a new ServiceAccount is referenced", func(ctx context.Context) bool { return covered(ctx, cs, ns, name) }, w)
	t.Logf("ServiceAccount created → reference (service_accounts *): %s", time.Since(start))
}

// Out of cluster with the usual key flag (--credentials-json-file): the
// controller mints with the key instead of the installed identity, and
// the key never reaches its output.
func TestWatchOutOfClusterWithKey(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := pollClient(t, cp)
	prefix := freshName("pwk")
	ns := newNamespace(t, cs, prefix+"-a")
	refreshNS, _ := installWatched(t, cp, map[string]string{config.InNamespaces: prefix + "-*"})
	a := &RefresherArgs{Namespace: refreshNS, Name: pullerRefresher, Watch: &WatchArgs{Kubeconfig: cp.Kubeconfig()}}
	args, err := InstalledRefresherArgs(t.Context(), a, Deps{Host: hostOutside()})
	if err != nil {
		t.Fatal(err)
	}
	got := parseRefresherArgs(t, withoutWatchFlags(args))
	got.Watch, got.TokenFile = a.Watch, filepath.Join(t.TempDir(), "absent")
	got.Credentials = map[string]string{config.InCredentialsJSON: string(fakes(t).Key)}
	w := startWatcherWith(t, got, "dev-laptop")
	until(t, "the namespace holds a token of the key's account", func(ctx context.Context) bool {
		s, err := cs.CoreV1().Secrets(ns).Get(ctx, config.DefaultSecretName, metav1.GetOptions{})
		if err != nil {
			return false
		}
		issued, ok := fakes(t).Google.Lookup(passwordOf(t, s))
		return ok && issued.Email == fakestack.KeySA && covered(ctx, cs, ns, "default")
	}, w)
	if strings.Contains(w.log.String(), "TokenRequest API") {
		t.Errorf("requested a ServiceAccount token although a key was given:\n%s", w.log)
	}
}

// A ConfigMap edited beyond its coverage keys (registries injected): the
// controller refuses the coverage and records why, as a cron run does,
// until the key is removed.
func TestWatchRefusesBadConfigMap(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := pollClient(t, cp)
	prefix := freshName("pwc")
	ns := newNamespace(t, cs, prefix+"-a")
	refreshNS, tokenPath := installWatched(t, cp, map[string]string{config.InNamespaces: prefix + "-*"})
	w := startWatcher(t, cp, refreshNS, tokenPath, "replica-a")
	until(t, "the namespace holds the refresher's token", func(ctx context.Context) bool {
		return holdsRefresherToken(t, ctx, cs, ns, refreshNS)
	}, w)
	// The running controller records its status on the same ConfigMap:
	// the edit retries on a conflict with it, as kubectl edit would.
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cm, err := cs.CoreV1().ConfigMaps(refreshNS).Get(t.Context(), pullerRefresher, metav1.GetOptions{})
		if err != nil {
			return err
		}
		injectConfigMap(cm, map[string]string{config.InRegistries: "evil.example.com"})
		_, err = cs.CoreV1().ConfigMaps(refreshNS).Update(t.Context(), cm, metav1.UpdateOptions{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	until(t, "the refused ConfigMap is recorded (status and Event)", func(ctx context.Context) bool {
		cm, err := cs.CoreV1().ConfigMaps(refreshNS).Get(ctx, pullerRefresher, metav1.GetOptions{})
		if err != nil || !strings.Contains(cm.Annotations[labels.LastResult], `unknown key "registries"`) {
			return false
		}
		events, err := cs.CoreV1().Events(refreshNS).List(ctx, metav1.ListOptions{FieldSelector: "reason=RefreshFailed"})
		return err == nil && len(events.Items) > 0 && strings.Contains(events.Items[0].Message, `unknown key "registries"`)
	}, w)
	for _, s := range []string{"evil.example.com"} {
		if sec := getSecret(t, cs, ns, config.DefaultSecretName); strings.Contains(string(sec.Data[corev1.DockerConfigJsonKey]), s) {
			t.Errorf("the injected registry reached the secret")
		}
	}
}

// A leader that died without releasing the Lease (its node went away) is
// replaced once its claim has not been renewed for the lease duration:
// until then the replica only watches.
func TestWatchTakesOverAnAbandonedLease(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := pollClient(t, cp)
	prefix := freshName("pwa")
	ns := newNamespace(t, cs, prefix+"-a")
	refreshNS, tokenPath := installWatched(t, cp, map[string]string{config.InNamespaces: prefix + "-*"})
	ghost, secs, now := "replica-gone", int32(15), metav1.NewMicroTime(time.Now())
	if _, err := cs.CoordinationV1().Leases(refreshNS).Create(t.Context(), &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: pullerRefresher},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &ghost, LeaseDurationSeconds: &secs, AcquireTime: &now, RenewTime: &now},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	w := startWatcher(t, cp, refreshNS, tokenPath, "replica-a")
	until(t, "the replica takes the abandoned Lease and writes", func(ctx context.Context) bool {
		return holdsRefresherToken(t, ctx, cs, ns, refreshNS)
	}, w)
	took := time.Since(start)
	l, err := cs.CoordinationV1().Leases(refreshNS).Get(t.Context(), pullerRefresher, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != "replica-a" || l.Spec.LeaseTransitions == nil || *l.Spec.LeaseTransitions != 1 {
		t.Errorf("Lease after the takeover: holder %v, transitions %v", l.Spec.HolderIdentity, l.Spec.LeaseTransitions)
	}
	if took < 15*time.Second {
		t.Errorf("took the Lease after %s, before the abandoned claim's 15 s ran out", took)
	}
	t.Logf("abandoned Lease taken over after %s", took)
}

// steadyWindow is longer than the 10 s the ConfigMap was once polled at.
const steadyWindow = 15 * time.Second

// steadyState checks that at steady state (nothing changes) w does not
// poll its ConfigMap at cmPath: over steadyWindow every GET of it comes
// with a write (the coverage is re-read right before each write). It logs
// the requests the controller sent, per hour. A busy machine sends fewer,
// never more.
func steadyState(t *testing.T, w *watchRun, cmPath string) {
	t.Helper()
	mark := w.api.len()
	time.Sleep(steadyWindow)
	window := w.api.since(mark)
	gets, writes := 0, 0
	kinds := map[string]int{}
	for _, r := range window {
		switch {
		case r.reads(cmPath):
			gets++
		case r.writes():
			writes++
		}
		kind := r.Method
		if r.Query.Get("watch") != "" {
			kind = "WATCH"
		}
		switch {
		case strings.Contains(r.Path, "/leases/"):
			kind += " lease"
		case strings.HasPrefix(r.Path, cmPath):
			kind += " configmap"
		default:
			kind += " other"
		}
		kinds[kind]++
	}
	if gets > writes {
		t.Errorf("in %s at steady state the controller read its ConfigMap %d time(s) with %d write(s): it polls it\n%v", steadyWindow, gets, writes, window)
	}
	perHour := func(n int) int { return int(float64(n) * float64(time.Hour) / float64(steadyWindow)) }
	var sum []string
	for _, k := range slices.Sorted(maps.Keys(kinds)) {
		sum = append(sum, fmt.Sprintf("%s %d/h", k, perHour(kinds[k])))
	}
	t.Logf("steady state: %d requests in %s (%d/h): %s", len(window), steadyWindow, perHour(len(window)), strings.Join(sum, ", "))
}

// The ConfigMap deleted (the refresher removed by hand, or a teardown
// that deleted it first): its watch tells the controller at once, without
// a poll, and it writes nothing more, neither a restored secret nor a new
// namespace matching the glob.
func TestWatchStopsWhenItsConfigMapIsDeleted(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := pollClient(t, cp)
	prefix := freshName("pwd")
	first := newNamespace(t, cs, prefix+"-1")
	refreshNS, tokenPath := installWatched(t, cp, map[string]string{config.InNamespaces: prefix + "-*"})
	w := startWatcher(t, cp, refreshNS, tokenPath, "replica-a")
	until(t, "the installed namespace holds the refresher's token", func(ctx context.Context) bool {
		return holdsRefresherToken(t, ctx, cs, first, refreshNS) && covered(ctx, cs, first, "default")
	}, w)

	cmPath := "/api/v1/namespaces/" + refreshNS + "/configmaps/" + pullerRefresher
	mark := w.api.len()
	if err := cs.CoreV1().ConfigMaps(refreshNS).Delete(t.Context(), pullerRefresher, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	gone := fmt.Sprintf("the refresher's ConfigMap %s/%s is gone", refreshNS, pullerRefresher)
	until(t, "the controller sees its ConfigMap deleted", func(context.Context) bool { return strings.Contains(w.log.String(), gone) }, w)
	seen := w.api.len()
	if polled := slices.IndexFunc(w.api.since(mark), func(r apiRequest) bool { return r.reads(cmPath) }); polled >= 0 {
		t.Errorf("the controller polled its ConfigMap to see it deleted: %v", w.api.since(mark))
	}
	// Drift and a new namespace, after the controller saw the deletion
	// (it logs it holding the lock its writes take the coverage under).
	if err := cs.CoreV1().Secrets(first).Delete(t.Context(), config.DefaultSecretName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	later := newNamespace(t, cs, prefix+"-2")
	w.stop(t)
	for _, ns := range []string{first, later} {
		if _, err := cs.CoreV1().Secrets(ns).Get(t.Context(), config.DefaultSecretName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("%s: the secret is there (err %v) after the ConfigMap was deleted:\n%s", ns, err, w.log)
		}
	}
	for _, r := range w.api.since(seen) {
		if r.writes() {
			t.Errorf("the controller wrote after its ConfigMap was deleted: %s", r)
		}
	}
}

// A refresher whose Role predates the watch on its ConfigMap (no list or
// watch on it) says so once and falls back to re-reading it: it still
// covers its namespaces, and sees the ConfigMap deleted.
func TestWatchFallsBackToReadingItsConfigMap(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := pollClient(t, cp)
	prefix := freshName("pwf")
	first := newNamespace(t, cs, prefix+"-1")
	refreshNS, tokenPath := installWatched(t, cp, map[string]string{config.InNamespaces: prefix + "-*"})
	roles, err := cs.RbacV1().Roles(refreshNS).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dropped := false
	for _, role := range roles.Items {
		for i, r := range role.Rules {
			if slices.Contains(r.Resources, "configmaps") {
				role.Rules[i].Verbs = slices.DeleteFunc(r.Verbs, func(v string) bool { return v == "list" || v == "watch" })
				dropped = true
			}
		}
		if _, err := cs.RbacV1().Roles(refreshNS).Update(t.Context(), &role, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if !dropped {
		t.Fatalf("no Role in %s grants anything on ConfigMaps", refreshNS)
	}
	w := startWatcher(t, cp, refreshNS, tokenPath, "replica-a")
	until(t, "the installed namespace holds the refresher's token", func(ctx context.Context) bool {
		return holdsRefresherToken(t, ctx, cs, first, refreshNS) && covered(ctx, cs, first, "default")
	}, w)
	warning := fmt.Sprintf("cannot watch the refresher's ConfigMap %s/%s (re-reading it every 30s while it cannot)", refreshNS, pullerRefresher)
	until(t, "the controller says it cannot watch its ConfigMap", func(context.Context) bool { return strings.Contains(w.log.String(), warning) }, w)
	if err := cs.CoreV1().ConfigMaps(refreshNS).Delete(t.Context(), pullerRefresher, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	gone := fmt.Sprintf("the refresher's ConfigMap %s/%s is gone", refreshNS, pullerRefresher)
	until(t, "the controller, re-reading, sees its ConfigMap deleted", func(context.Context) bool { return strings.Contains(w.log.String(), gone) }, w)
	if n := strings.Count(w.log.String(), "cannot watch the refresher's ConfigMap"); n != 1 {
		t.Errorf("the fallback was logged %d times, want once:\n%s", n, w.log)
	}
}
