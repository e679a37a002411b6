//go:build integration

package runner

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/pullsecret/pullsecret/internal/actions"
	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/container"
	"github.com/pullsecret/pullsecret/internal/testing/check"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

// grantWatchRBAC adds to an installed cron refresher's permissions what
// the watch mode adds (the watch-mode RBAC of the design, for glob or
// selector coverage): watching namespaces, its one secret name and its
// ServiceAccounts, and its Lease. Every watch the controller opens must
// live within it.
func grantWatchRBAC(t *testing.T, cs kubernetes.Interface, refreshNS string, serviceAccounts []string) {
	t.Helper()
	ctx := t.Context()
	name := pullerRefresher + "-watch." + refreshNS
	subjects := []rbacv1.Subject{{Kind: "ServiceAccount", Name: pullerRefresher, Namespace: refreshNS}}
	saRule := rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: []string{"get", "list", "watch", "update"}}
	if !contains(serviceAccounts, "*") {
		saRule.ResourceNames = serviceAccounts
	}
	cr := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{config.DefaultSecretName}, Verbs: []string{"list", "watch", "create", "patch"}},
		saRule,
	}}
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, cr, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.RbacV1().ClusterRoles().Delete(context.Background(), name, metav1.DeleteOptions{}) })
	crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, Subjects: subjects,
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name}}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.RbacV1().ClusterRoleBindings().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"create"}},
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, ResourceNames: []string{pullerRefresher}, Verbs: []string{"get", "update"}},
	}}
	if _, err := cs.RbacV1().Roles(refreshNS).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, Subjects: subjects,
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name}}
	if _, err := cs.RbacV1().RoleBindings(refreshNS).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// grantNamedWatchRBAC is grantWatchRBAC for named coverage: the watch
// verbs only in each named namespace (secrets and ServiceAccounts by
// name) and on those namespaces by name, as the per-namespace Roles of
// named coverage grant. suffix names this grant's objects.
func grantNamedWatchRBAC(t *testing.T, cs kubernetes.Interface, refreshNS, suffix string, namespaces, serviceAccounts []string) {
	t.Helper()
	ctx := t.Context()
	name := pullerRefresher + "-watch-" + suffix + "." + refreshNS
	subjects := []rbacv1.Subject{{Kind: "ServiceAccount", Name: pullerRefresher, Namespace: refreshNS}}
	cr := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"namespaces"}, ResourceNames: namespaces, Verbs: []string{"get", "list", "watch"}},
	}}
	if _, err := cs.RbacV1().ClusterRoles().Create(ctx, cr, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.RbacV1().ClusterRoles().Delete(context.Background(), name, metav1.DeleteOptions{}) })
	crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, Subjects: subjects,
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name}}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.RbacV1().ClusterRoleBindings().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	for _, ns := range namespaces {
		role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{config.DefaultSecretName}, Verbs: []string{"list", "watch"}},
			{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, ResourceNames: serviceAccounts, Verbs: []string{"get", "list", "watch"}},
		}}
		if _, err := cs.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, Subjects: subjects,
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name}}
		if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	leaseRole := pullerRefresher + "-lease"
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: leaseRole}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"create"}},
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, ResourceNames: []string{pullerRefresher}, Verbs: []string{"get", "update"}},
	}}
	if _, err := cs.RbacV1().Roles(refreshNS).Create(ctx, role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: leaseRole}, Subjects: subjects,
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: leaseRole}}
	if _, err := cs.RbacV1().RoleBindings(refreshNS).Create(ctx, rb, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// watchRun is one watching refresher running in the background.
type watchRun struct {
	cancel context.CancelFunc
	done   chan error
	log    *syncBuffer
	// googleRequests counts the requests it sent to the fake Google.
	googleRequests *atomic.Int64
}

// startWatcher runs the watching refresher as the refresher's
// ServiceAccount (its own API token, so only its RBAC), with its
// CronJob's arguments and the projected token file tokenPath, as replica
// podName.
func startWatcher(t *testing.T, cp *controlplane.ControlPlane, refreshNS, tokenPath, podName string) *watchRun {
	t.Helper()
	return startWatcherWith(t, watcherArgs(t, cp, refreshNS, tokenPath), podName)
}

// watcherArgs are the installed refresher's arguments with --watch, as
// its ServiceAccount.
func watcherArgs(t *testing.T, cp *controlplane.ControlPlane, refreshNS, tokenPath string) *RefresherArgs {
	t.Helper()
	cs := clientFor(t, cp)
	id := tokenIdentity(t, cp, cs, refreshNS, pullerRefresher)
	a := parseRefresherArgs(t, refresherArgs(t, cs, refreshNS, pullerRefresher))
	a.TokenFile = tokenPath
	a.Watch = &WatchArgs{Kubeconfig: id.kubeconfig, LeaderElect: true}
	return a
}

func startWatcherWith(t *testing.T, a *RefresherArgs, podName string) *watchRun {
	t.Helper()
	getenv := check.Getenv(map[string]string{"POD_NAME": podName})
	ctx, cancel := context.WithCancel(controlplanetest.Context(t))
	w := &watchRun{cancel: cancel, done: make(chan error, 1), log: &syncBuffer{}, googleRequests: &atomic.Int64{}}
	google, err := url.Parse(fakes(t).GoogleURL)
	if err != nil {
		t.Fatal(err)
	}
	count := func(rt http.RoundTripper) http.RoundTripper {
		return roundTripperFunc(func(r *http.Request) (*http.Response, error) {
			if r.URL.Host == google.Host {
				w.googleRequests.Add(1)
			}
			return rt.RoundTrip(r)
		})
	}
	go func() {
		w.done <- RunWatchingRefresher(ctx, a, Deps{
			Reporter: actions.New(getenv, w.log, w.log), Getenv: getenv, Host: container.Host{InContainer: func() bool { return false }},
			Version: "test", WrapTransport: count,
		})
	}()
	t.Cleanup(func() { w.stop(t) })
	return w
}

// stop cancels the run and waits for it: it must end on its own (the
// test binary's deadline bounds the wait), with nil.
func (w *watchRun) stop(t *testing.T) {
	t.Helper()
	w.cancel()
	if err, ok := <-w.done; ok {
		if err != nil {
			t.Errorf("the watching refresher ended with %v\n%s", err, w.log)
		}
		close(w.done)
	}
	assertNoSecrets(t, run{log: w.log.String()})
}

// until polls cond until it holds, bounded by the test's deadline.
func until(t *testing.T, what string, cond func(ctx context.Context) bool, w ...*watchRun) {
	t.Helper()
	err := wait.PollUntilContextCancel(controlplanetest.Context(t), 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		return cond(ctx), nil
	})
	if err != nil {
		var logs []string
		for _, r := range w {
			logs = append(logs, r.log.String())
		}
		t.Fatalf("%s: never happened\n%s", what, strings.Join(logs, "\n----\n"))
	}
}

// covered reports whether ns holds the secret referenced by ServiceAccount sa.
func covered(ctx context.Context, cs kubernetes.Interface, ns, sa string) bool {
	if _, err := cs.CoreV1().Secrets(ns).Get(ctx, config.DefaultSecretName, metav1.GetOptions{}); err != nil {
		return false
	}
	got, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, sa, metav1.GetOptions{})
	return err == nil && contains(pullSecretNames(got), config.DefaultSecretName)
}

// refresherMints are the access tokens minted for the refresher of
// refreshNS (impersonated by its ServiceAccount's federated principal).
func refresherMints(t *testing.T, refreshNS string) []string {
	var out []string
	for _, tok := range fakes(t).Google.Issued() {
		if tok.Email == fakestack.ImpersonatedSA && strings.Contains(tok.ImpersonatedBy, "system:serviceaccount:"+refreshNS+":") {
			out = append(out, tok.Token)
		}
	}
	return out
}

// pollClient is an admin client for polls: client-go's default limit
// (5 requests per second) would make a poll, not the controller, the
// slowest part of what a test measures.
func pollClient(t *testing.T, cp *controlplane.ControlPlane) kubernetes.Interface {
	t.Helper()
	rc := cp.RESTConfig()
	rc.QPS, rc.Burst = 500, 1000
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return withoutMaskCommands(s.b.String())
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// passwordOf is the token a pull secret holds (one auth entry's password).
func passwordOf(t *testing.T, s *corev1.Secret) string {
	t.Helper()
	for _, e := range dockerConfigOf(t, s).Auths {
		return e.Password
	}
	return ""
}

func hostOutside() container.Host { return container.Host{InContainer: func() bool { return false }} }
