//go:build integration

package runner

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

// These tests perform the attacks on the refresher a reviewer of a shared
// cluster would try, as the attacker would: impersonating the refresher's
// ServiceAccount, a principal that may only edit ConfigMaps, or a second
// team's CI run.

// impersonate is a client acting as user (with a ServiceAccount's groups
// when it is one), as `kubectl --as` would.
func impersonate(t *testing.T, cp *controlplane.ControlPlane, user string) kubernetes.Interface {
	t.Helper()
	rc := rest.CopyConfig(cp.RESTConfig())
	rc.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: []string{"system:authenticated"}}
	if rest, ok := strings.CutPrefix(user, "system:serviceaccount:"); ok {
		ns, _, _ := strings.Cut(rest, ":")
		rc.Impersonate.Groups = append(rc.Impersonate.Groups, "system:serviceaccounts", "system:serviceaccounts:"+ns)
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func saUser(ns, name string) string { return "system:serviceaccount:" + ns + ":" + name }

// installRefresher runs the action with refresh: true (WIF credentials,
// service_account puller) covering namespaces from refreshNS.
func installRefresherFor(t *testing.T, cp *controlplane.ControlPlane, refreshNS, namespaces string, extra map[string]string) {
	t.Helper()
	in := withCreds(t, fakestack.WIF, map[string]string{config.InNamespaces: namespaces, config.InRefresh: "true",
		config.InRefreshImage: refresherImage, config.InRefreshNamespace: refreshNS})
	for k, v := range extra {
		in[k] = v
	}
	if r := runWith(t, cp.Kubeconfig(), in); r.err != nil {
		t.Fatalf("install run for %s: %v\n%s", namespaces, r.err, r.log)
	}
}

// coverageOfKind is the setup of a test run for named and for glob
// coverage: a fresh refresh_namespace (deleted at the end), a covered
// namespace PREFIX-a, and the coverage naming it ("named") or PREFIX-*
// ("glob").
func coverageOfKind(t *testing.T, cs kubernetes.Interface, kind, tag string) (refreshNS, covered, coverage string) {
	t.Helper()
	refreshNS = freshName("ps-" + tag)
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), refreshNS, metav1.DeleteOptions{}) })
	prefix := freshName(tag)
	covered = newNamespace(t, cs, prefix+"-a")
	coverage = covered
	if kind == "glob" {
		coverage = prefix + "-*"
	}
	return refreshNS, covered, coverage
}

func newNamespace(t *testing.T, cs kubernetes.Interface, name string) string {
	t.Helper()
	if _, err := cs.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{}) })
	ensureDefaultSA(t, cs, name)
	return name
}

// Attack 1: whoever can run as the refresher's ServiceAccount writes its
// secret name as a ServiceAccount token secret, which the token controller
// fills with any ServiceAccount's token. It must be refused everywhere:
// in kube-system, in a namespace the refresher does not cover, and in one
// it covers (for named and for glob coverage).
func TestRefresherAttackServiceAccountTokenSecret(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	for _, kind := range []string{"named", "glob"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			refreshNS, covered, coverage := coverageOfKind(t, cs, kind, "atk1")
			uncovered := controlplanetest.Namespace(t, cp)
			installRefresherFor(t, cp, refreshNS, coverage, nil)
			as := impersonate(t, cp, saUser(refreshNS, refresherObjectName(fakestack.ImpersonatedSA, config.DefaultSecretName)))
			for _, ns := range []string{"kube-system", uncovered, covered} {
				attack := corev1ac.Secret(config.DefaultSecretName, ns).
					WithType(corev1.SecretTypeServiceAccountToken).
					WithAnnotations(map[string]string{corev1.ServiceAccountNameKey: "default"})
				// Admission policies load asynchronously: a refusal may
				// take a moment to appear (longer on a busy machine), so an
				// acceptance is final only at the test's deadline.
				err := wait.PollUntilContextCancel(controlplanetest.Context(t), 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
					_, err := as.CoreV1().Secrets(ns).Apply(ctx, attack, metav1.ApplyOptions{FieldManager: "attacker", Force: true, DryRun: []string{metav1.DryRunAll}})
					return err != nil, nil
				})
				if err != nil {
					t.Errorf("the refresher's ServiceAccount may server-side apply %q as a %s secret in %s", config.DefaultSecretName, corev1.SecretTypeServiceAccountToken, ns)
				}
			}
		})
	}
}

// Attack 2: a principal that may only update ConfigMaps in
// refresh_namespace points the refresher at its own endpoints, kubeconfig
// and registries, and widens its coverage. The Job refuses the keys, sends
// nothing to the attacker and writes nothing outside the installed
// coverage; the refusal is recorded.
func TestRefresherAttackConfigMapEditor(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	refreshNS := freshName("ps-atk2")
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), refreshNS, metav1.DeleteOptions{}) })
	provider, _ := trustCluster(t, cp, refreshNS)
	covered := controlplanetest.Namespace(t, cp)
	ensureDefaultSA(t, cs, covered)
	outside := controlplanetest.Namespace(t, cp)
	ensureDefaultSA(t, cs, outside)
	installRefresherFor(t, cp, refreshNS, covered, map[string]string{config.InRefreshWorkloadIdentityProvider: provider})

	var hits atomic.Int32
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1); w.WriteHeader(http.StatusTeapot) }))
	t.Cleanup(evil.Close)

	// The ConfigMap editor: update on ConfigMaps in refresh_namespace only.
	editor := "cm-editor-" + freshName("u")
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: editor, Namespace: refreshNS},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "update", "patch"}}}}
	if _, err := cs.RbacV1().Roles(refreshNS).Create(t.Context(), role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: editor, Namespace: refreshNS},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: editor}, Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, Name: editor}}}
	if _, err := cs.RbacV1().RoleBindings(refreshNS).Create(t.Context(), rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	as := impersonate(t, cp, editor)
	name := refresherObjectName(fakestack.ImpersonatedSA, config.DefaultSecretName)
	cm, err := as.CoreV1().ConfigMaps(refreshNS).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	injected := map[string]string{
		config.InSTSEndpoint: evil.URL, config.InIAMCredentialsEndpoint: evil.URL, config.InOAuthTokenEndpoint: evil.URL,
		config.InKubeconfig: "/etc/attacker/kubeconfig", config.InRegistries: strings.TrimPrefix(evil.URL, "http://"),
		config.InVerifyImage: strings.TrimPrefix(evil.URL, "http://") + "/x/y:z", config.InForce: "true", config.InNamespaces: "*",
	}
	injectConfigMap(cm, injected)
	if _, err := as.CoreV1().ConfigMaps(refreshNS).Update(t.Context(), cm, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("the ConfigMap editor could not edit: %v", err)
	}

	credPath := kubeletToken(t, cs, refreshNS, t.TempDir())
	log, runErr := refresherRun(t, cp, refreshNS, credPath)
	if n := hits.Load(); n > 0 {
		t.Errorf("the refresher sent %d request(s) to the attacker's endpoint", n)
	}
	if !secretAbsent(t, cs, outside, config.DefaultSecretName) {
		t.Errorf("the refresher wrote its secret into %s, outside its coverage", outside)
	}
	if runErr == nil || !strings.Contains(runErr.Error(), "unknown key") {
		t.Errorf("the refresher ran with the injected settings: err %v\n%s", runErr, log)
	}
	got, err := cs.CoreV1().ConfigMaps(refreshNS).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got.Annotations[refresherAnnotationLastResult], "unknown key") {
		t.Errorf("last-result does not record the refusal: %q", got.Annotations[refresherAnnotationLastResult])
	}
}

// Attack 3: team B's run with refresh: true and the default
// refresh_namespace, another service_account, must not change team A's
// refresher: A keeps its identity and coverage, B gets its own.
func TestRefresherAttackSecondTeamTakeover(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	refreshNS := freshName("ps-atk3")
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), refreshNS, metav1.DeleteOptions{}) })
	nsA, nsB := controlplanetest.Namespace(t, cp), controlplanetest.Namespace(t, cp)
	ensureDefaultSA(t, cs, nsA)
	ensureDefaultSA(t, cs, nsB)
	installRefresherFor(t, cp, refreshNS, nsA, nil)
	teamB := withCreds(t, fakestack.KeyToken, map[string]string{config.InNamespaces: nsB, config.InRefresh: "true",
		config.InRefreshImage: refresherImage, config.InRefreshNamespace: refreshNS, config.InServiceAccount: fakestack.KeySA,
		config.InScopes: "https://www.googleapis.com/auth/cloud-platform"})
	if r := runWith(t, cp.Kubeconfig(), teamB); r.err != nil {
		t.Fatalf("team B's run: %v\n%s", r.err, r.log)
	}
	for _, want := range []struct{ sa, ns string }{{fakestack.ImpersonatedSA, nsA}, {fakestack.KeySA, nsB}} {
		sa, coverage := refresherIdentity(t, cs, refreshNS, refresherObjectName(want.sa, config.DefaultSecretName))
		if sa != want.sa || coverage != want.ns {
			t.Errorf("refresher of %s: impersonates %q covering %q; want %q covering %q", want.sa, sa, coverage, want.sa, want.ns)
		}
	}
}

// Attack 6a: two installs at once (two pull requests opened together)
// keep both namespaces. The first run is held after reading the installed
// refresher until the second one has finished.
func TestRefresherConcurrentInstallsKeepBoth(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	refreshNS := freshName("ps-atk6")
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), refreshNS, metav1.DeleteOptions{}) })
	nsA, nsB, nsC := controlplanetest.Namespace(t, cp), controlplanetest.Namespace(t, cp), controlplanetest.Namespace(t, cp)
	for _, ns := range []string{nsA, nsB, nsC} {
		ensureDefaultSA(t, cs, ns)
	}
	installRefresherFor(t, cp, refreshNS, nsA, nil)
	name := refresherObjectName(fakestack.ImpersonatedSA, config.DefaultSecretName)

	secondDone := make(chan struct{})
	var once sync.Once
	hold := func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			resp, err := rt.RoundTrip(req)
			// The installed coverage is read from the ConfigMap (old
			// layout) or the refresher's ClusterRole.
			if req.Method == http.MethodGet && (strings.HasSuffix(req.URL.Path, "/namespaces/"+refreshNS+"/configmaps/"+name) ||
				strings.HasSuffix(req.URL.Path, "/clusterroles/"+name+"."+refreshNS)) {
				once.Do(func() { <-secondDone })
			}
			return resp, err
		})
	}
	in := func(ns string) map[string]string {
		return withCreds(t, fakestack.WIF, map[string]string{config.InNamespaces: ns, config.InRefresh: "true",
			config.InRefreshImage: refresherImage, config.InRefreshNamespace: refreshNS})
	}
	first := make(chan run)
	go func() {
		first <- runCtx(controlplanetest.Context(t), t, cp.Kubeconfig(), in(nsB), Deps{WrapTransport: hold})
	}()
	// The first run is held now or soon; the second runs through.
	second := runWith(t, cp.Kubeconfig(), in(nsC))
	close(secondDone)
	r := <-first
	if second.err != nil || r.err != nil {
		t.Fatalf("runs: %v / %v\n%s\n%s", r.err, second.err, r.log, second.log)
	}
	_, coverage := refresherIdentity(t, cs, refreshNS, name)
	for _, ns := range []string{nsA, nsB, nsC} {
		if !strings.Contains(coverage, ns) {
			t.Errorf("the refresher lost %s to two installs at once: covers %q", ns, coverage)
		}
	}
}

// Attack 6b: teardown racing a refresher run leaves no secret. The Job's
// write into the torn-down namespace is held until the teardown (of that
// namespace only: the refresher stays for the other) has finished.
func TestRefresherTeardownRacingRunLeavesNoSecret(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	refreshNS := freshName("ps-atk6b")
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), refreshNS, metav1.DeleteOptions{}) })
	provider, _ := trustCluster(t, cp, refreshNS)
	gone, kept := controlplanetest.Namespace(t, cp), controlplanetest.Namespace(t, cp)
	ensureDefaultSA(t, cs, gone)
	ensureDefaultSA(t, cs, kept)
	installRefresherFor(t, cp, refreshNS, gone, map[string]string{config.InRefreshWorkloadIdentityProvider: provider})
	installRefresherFor(t, cp, refreshNS, kept, map[string]string{config.InRefreshWorkloadIdentityProvider: provider})

	var once sync.Once
	var teardown run
	race := func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			if (req.Method == http.MethodPatch || req.Method == http.MethodPost) && strings.Contains(req.URL.Path, "/namespaces/"+gone+"/secrets") {
				once.Do(func() {
					teardown = runWith(t, cp.Kubeconfig(), map[string]string{config.InNamespaces: gone, config.InMode: "delete",
						config.InRefresh: "true", config.InRefreshNamespace: refreshNS})
				})
			}
			return rt.RoundTrip(req)
		})
	}
	credPath := kubeletToken(t, cs, refreshNS, t.TempDir())
	log, err := refresherRunWith(t, cp, refreshNS, credPath, race)
	if teardown.err != nil {
		t.Fatalf("teardown: %v\n%s", teardown.err, teardown.log)
	}
	t.Logf("refresher run racing the teardown: %v", err)
	if !secretAbsent(t, cs, gone, config.DefaultSecretName) {
		t.Errorf("a refresher run racing the teardown of %s left its secret there\n%s", gone, log)
	}
	if secretAbsent(t, cs, kept, config.DefaultSecretName) {
		t.Errorf("the teardown of %s removed the secret of %s", gone, kept)
	}
}

// Status: a foreign secret in a glob-matched namespace is skipped with a
// warning, not a failed run (no retry storm); a run cancelled mid-way
// (SIGTERM at the Job's deadline) still records its outcome, redacted, and
// an Event.
func TestRefresherStatusForeignSecretAndCancel(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	refreshNS := freshName("ps-status")
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), refreshNS, metav1.DeleteOptions{}) })
	provider, _ := trustCluster(t, cp, refreshNS)
	prefix := freshName("st")
	newNamespace(t, cs, prefix+"-a")
	installRefresherFor(t, cp, refreshNS, prefix+"-*", map[string]string{config.InRefreshWorkloadIdentityProvider: provider})
	foreign := newNamespace(t, cs, prefix+"-foreign")
	if _, err := cs.CoreV1().Secrets(foreign).Create(t.Context(), foreignSecret(config.DefaultSecretName), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tokenPath := kubeletToken(t, cs, refreshNS, t.TempDir())
	log, err := refresherRun(t, cp, refreshNS, tokenPath)
	if err != nil {
		t.Fatalf("a foreign secret in a glob-matched namespace failed the run: %v\n%s", err, log)
	}
	name := refresherObjectName(fakestack.ImpersonatedSA, config.DefaultSecretName)
	cm, err := cs.CoreV1().ConfigMaps(refreshNS).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := cm.Annotations[refresherAnnotationLastResult]; !strings.Contains(got, "skipped 1") || !strings.Contains(log, foreign) {
		t.Errorf("the skipped namespace is not reported: last-result %q\n%s", got, log)
	}
	if s := getSecret(t, cs, foreign, config.DefaultSecretName); s.Type == corev1.SecretTypeDockerConfigJson {
		t.Errorf("the refresher took over the foreign secret in %s", foreign)
	}

	// Cancelled while writing: the context ends at the first secret write.
	ctx, cancel := context.WithCancel(controlplanetest.Context(t))
	defer cancel()
	cancelAtWrite := func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			if req.Method == http.MethodPatch && strings.Contains(req.URL.Path, "/secrets/") {
				cancel()
				return nil, context.Canceled
			}
			return rt.RoundTrip(req)
		})
	}
	if _, err := refresherRunCtx(ctx, t, cp, refreshNS, tokenPath, cancelAtWrite); err == nil {
		t.Fatal("a cancelled run succeeded")
	}
	cm, err = cs.CoreV1().ConfigMaps(refreshNS).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := cm.Annotations[refresherAnnotationLastResult]; !strings.HasPrefix(got, "failed at ") {
		t.Errorf("a cancelled run recorded no failure: last-result %q", got)
	}
	events, err := cs.CoreV1().Events(refreshNS).List(t.Context(), metav1.ListOptions{FieldSelector: "reason=RefreshFailed"})
	if err != nil || len(events.Items) == 0 {
		t.Errorf("a cancelled run left no RefreshFailed Event: %v", err)
	}
}
