//go:build integration

package runner

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kwait "k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/pullsecret/pullsecret/internal/actions"
	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/container"
	"github.com/pullsecret/pullsecret/internal/refresher"
	"github.com/pullsecret/pullsecret/internal/testing/check"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

// kinds are the refresher object kinds present, sorted.
func (v objectVersions) kinds() []string {
	var out []string
	for k := range v {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// The watching refresher's life cycle: installed as a Deployment with its
// PodDisruptionBudget and no CronJob, admitted under Pod Security
// "restricted", its identity holding its Lease; a later run switches it to
// cron (the Deployment, budget and Lease go) and back; pod recovery is
// turned off by a re-install; teardown leaves nothing.
func TestRefresherWatchModeLifecycle(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	refreshNS := freshName("ps-watch")
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), refreshNS, metav1.DeleteOptions{}) })
	prefix := freshName("wt")
	newNamespace(t, cs, prefix+"-1")
	install := func(mode, recover string) run {
		t.Helper()
		r := runWith(t, cp.Kubeconfig(), withCreds(t, fakestack.WIF, map[string]string{
			config.InNamespaces: prefix + "-*", config.InRefresh: "true", config.InRefreshImage: refresherImage,
			config.InRefreshNamespace: refreshNS, config.InRefreshMode: mode, config.InRefreshRecoverPods: recover,
		}))
		if r.err != nil {
			t.Fatalf("install run (%s, recover pods %s): %v\n%s", mode, recover, r.err, r.log)
		}
		return r
	}
	cronKinds := []string{"ClusterRole", "ClusterRoleBinding", "ConfigMap", "CronJob", "Role", "RoleBinding", "ServiceAccount",
		"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}
	watchKinds := []string{"ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment", "PodDisruptionBudget", "Role", "RoleBinding",
		"ServiceAccount", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}

	r := install("watch", "true")
	installed := refresherObjects(t, cs, refreshNS)
	if got := installed.kinds(); !slices.Equal(got, watchKinds) {
		t.Fatalf("watch mode installed %v, want %v", got, watchKinds)
	}
	if !strings.Contains(r.summary, "mode `watch`") || !strings.Contains(r.summary, "recovering stuck pods") {
		t.Errorf("step summary does not say the mode:\n%s", r.summary)
	}
	dep, err := cs.AppsV1().Deployments(refreshNS).Get(t.Context(), pullerRefresher, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	args := dep.Spec.Template.Spec.Containers[0].Args
	if *dep.Spec.Replicas != 2 || !slices.Contains(args, "--watch") || !slices.Contains(args, "--recover-pods") {
		t.Errorf("Deployment: %d replicas, args %q", *dep.Spec.Replicas, args)
	}
	// Idempotent.
	install("watch", "true")
	if again := refresherObjects(t, cs, refreshNS); !mapsEqual(installed, again) {
		t.Errorf("re-install changed objects: %v -> %v", installed, again)
	}
	// Pod Security "restricted" admits its pods.
	nsObj, err := cs.CoreV1().Namespaces().Get(t.Context(), refreshNS, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nsObj.Labels["pod-security.kubernetes.io/enforce"] = "restricted"
	if _, err := cs.CoreV1().Namespaces().Update(t.Context(), nsObj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := createPod(t, cs, refreshNS, dep.Spec.Template.Spec); err != nil {
		t.Errorf("restricted namespace refused the watching refresher's pod: %v", err)
	}
	// Its pods' leader election, as client-go does it: create, get, update.
	as := impersonate(t, cp, saUser(refreshNS, pullerRefresher))
	takeLease(t, as, refreshNS, pullerRefresher)

	// Switched to cron: the Deployment, its budget and the Lease go.
	r = install("cron", "false")
	if got := refresherObjects(t, cs, refreshNS).kinds(); !slices.Equal(got, cronKinds) {
		t.Errorf("switched to cron: %v, want %v", got, cronKinds)
	}
	if !strings.Contains(r.log, "deleted: Deployment "+refreshNS+"/"+pullerRefresher) || !strings.Contains(r.summary, "mode `cron`") {
		t.Errorf("the switch is not reported:\n%s\n%s", r.log, r.summary)
	}
	// And back, without pod recovery: nothing grants a pod delete.
	install("watch", "false")
	if got := refresherObjects(t, cs, refreshNS).kinds(); !slices.Equal(got, watchKinds) {
		t.Errorf("switched back to watch: %v, want %v", got, watchKinds)
	}
	cr, err := cs.RbacV1().ClusterRoles().Get(t.Context(), refresher.OuterName(pullerRefresher, refreshNS), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, rule := range cr.Rules {
		if slices.Contains(rule.Resources, "pods") {
			t.Errorf("pod recovery turned off, yet the ClusterRole grants %v on pods", rule.Verbs)
		}
	}
	takeLease(t, as, refreshNS, pullerRefresher)

	teardown := runWith(t, cp.Kubeconfig(), map[string]string{config.InNamespaces: prefix + "-*", config.InMode: "delete",
		config.InRefresh: "true", config.InRefreshNamespace: refreshNS, config.InServiceAccount: fakestack.ImpersonatedSA})
	if teardown.err != nil {
		t.Fatalf("teardown: %v\n%s", teardown.err, teardown.log)
	}
	if left := refresherObjects(t, cs, refreshNS); len(left) != 0 {
		t.Errorf("teardown left %v", left)
	}
}

// takeLease does what the watching refresher's leader election does, as
// its identity: it creates its Lease (or reads it) and renews it.
func takeLease(t *testing.T, as kubernetes.Interface, ns, name string) {
	t.Helper()
	leases := as.CoordinationV1().Leases(ns)
	lease, err := leases.Get(t.Context(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		lease, err = leases.Create(t.Context(), leaseFor(ns, name, "pod-a"), metav1.CreateOptions{})
	}
	if err != nil {
		t.Fatalf("the refresher cannot take its Lease: %v", err)
	}
	holder := "pod-b"
	lease.Spec.HolderIdentity = &holder
	if _, err := leases.Update(t.Context(), lease, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("the refresher cannot renew its Lease: %v", err)
	}
}

func leaseFor(ns, name, holder string) *coordinationv1.Lease {
	seconds := int32(15)
	return &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &seconds}}
}

// The watching controller, run as the refresher's own ServiceAccount with
// the arguments of the Deployment the action installed, lives within the
// rendered RBAC and admission policy: it gets ready (every watch listed),
// takes its Lease, covers its namespaces (with a glob, one created after
// it started), and the API server refuses it nothing.
func TestWatchingRefresherLivesWithinItsRBAC(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"named", "glob"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			watchWithinRBAC(t, kind == "glob")
		})
	}
}

func watchWithinRBAC(t *testing.T, glob bool) {
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	refreshNS := freshName("ps-wrbac")
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), refreshNS, metav1.DeleteOptions{}) })
	provider, _ := trustCluster(t, cp, refreshNS)
	prefix := freshName("wr")
	first := newNamespace(t, cs, prefix+"-1")
	coverage := first
	if glob {
		coverage = prefix + "-*"
	}
	installRefresherFor(t, cp, refreshNS, coverage, map[string]string{config.InRefreshMode: config.RefreshWatch,
		config.InRefreshWorkloadIdentityProvider: provider})

	dep, err := cs.AppsV1().Deployments(refreshNS).Get(t.Context(), pullerRefresher, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod := dep.Spec.Template.Spec
	args := pod.Containers[0].Args
	a := parseRefresherArgs(t, args[:slices.Index(args, "--watch")])
	proj := pod.Volumes[0].Projected.Sources[0].ServiceAccountToken
	tr, err := cs.CoreV1().ServiceAccounts(refreshNS).CreateToken(t.Context(), pullerRefresher, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{Audiences: []string{proj.Audience}, ExpirationSeconds: proj.ExpirationSeconds},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a.TokenFile = filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(a.TokenFile, []byte(tr.Status.Token), 0o600); err != nil {
		t.Fatal(err)
	}
	id := tokenIdentity(t, cp, cs, refreshNS, pullerRefresher)
	// /readyz answers once every watch has listed: a watch its RBAC
	// refuses never does.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	health := ln.Addr().String()
	ln.Close()
	a.Watch = &WatchArgs{Kubeconfig: id.kubeconfig, LeaderElect: true, MetricsAddress: health}

	ctx, cancel := context.WithCancel(controlplanetest.Context(t))
	defer cancel()
	getenv := check.Getenv(map[string]string{"POD_NAME": "replica-a"})
	var out bytes.Buffer
	// Every request the API server refuses (RBAC or admission), watches'
	// included, whose errors go to client-go's log rather than ours.
	refused := &refusals{}
	done := make(chan error, 1)
	go func() {
		done <- RunWatchingRefresher(ctx, a, Deps{Reporter: actions.New(getenv, &out, &out), Getenv: getenv,
			Host: container.Host{InContainer: func() bool { return false }}, Version: "test", WrapTransport: refused.wrap})
	}()
	want := []string{first}
	if glob {
		want = append(want, newNamespace(t, cs, prefix+"-2"))
	}
	covered := func(ctx context.Context) (bool, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+health+"/readyz", nil)
		if err != nil {
			return false, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false, nil
		}
		for _, ns := range want {
			if _, err := cs.CoreV1().Secrets(ns).Get(ctx, config.DefaultSecretName, metav1.GetOptions{}); err != nil {
				return false, nil
			}
		}
		lease, err := cs.CoordinationV1().Leases(refreshNS).Get(ctx, pullerRefresher, metav1.GetOptions{})
		return err == nil && lease.Spec.HolderIdentity != nil && *lease.Spec.HolderIdentity == "replica-a", nil
	}
	waitErr := kwait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, covered)
	cancel()
	runErr := <-done
	log := out.String()
	if waitErr != nil {
		t.Errorf("the watching refresher did not get ready (its watches listed), cover %v and hold its Lease", want)
	}
	if runErr != nil {
		t.Errorf("watching refresher: %v", runErr)
	}
	if r := refused.list(); len(r) > 0 || strings.Contains(strings.ToLower(log), "forbidden") {
		t.Errorf("the API server refused the watching refresher %q", r)
	}
	for _, tok := range fakes(t).Google.Issued() {
		if strings.Contains(log, tok.Token) {
			t.Errorf("the watching refresher logged a %s token", tok.Kind)
		}
	}
	if t.Failed() {
		t.Logf("refresher log:\n%s", log)
	}
}

// refusals records the requests answered 403 (method and path, never a
// header or body).
type refusals struct {
	mu  sync.Mutex
	got []string
}

func (r *refusals) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := rt.RoundTrip(req)
		if err == nil && resp.StatusCode == http.StatusForbidden {
			r.mu.Lock()
			r.got = append(r.got, req.Method+" "+req.URL.Path+"?"+req.URL.Query().Get("fieldSelector"))
			r.mu.Unlock()
		}
		return resp, err
	})
}

func (r *refusals) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}
