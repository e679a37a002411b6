//go:build integration

package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pullsecret/pullsecret/internal/actions"
	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/container"
	"github.com/pullsecret/pullsecret/internal/kube"
	"github.com/pullsecret/pullsecret/internal/labels"
	"github.com/pullsecret/pullsecret/internal/refresher"
	"github.com/pullsecret/pullsecret/internal/testing/check"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
	"github.com/pullsecret/pullsecret/internal/testing/fakegoogle"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

const refresherImage = "ghcr.io/pullsecret/pullsecret@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// trustCluster does what an operator does with --print-wif-setup's
// output: it registers the cluster's issuer, with the JWKS read off the
// cluster, as a provider at the fake, and lets the refresher's
// ServiceAccount impersonate the puller account. It returns the provider
// and the printed setup.
func trustCluster(t *testing.T, cp *controlplane.ControlPlane, refreshNS string) (string, string) {
	t.Helper()
	cs := clientFor(t, cp)
	iss, err := kube.ReadIssuer(t.Context(), cs.CoreV1().RESTClient())
	if err != nil {
		t.Fatal(err)
	}
	provider := "projects/123456/locations/global/workloadIdentityPools/k8s/providers/" + freshName("kind")
	printed, err := refresher.SetupCommands(iss, provider, fakestack.ImpersonatedSA, refreshNS, config.DefaultSecretName)
	if err != nil {
		t.Fatal(err)
	}
	// What it prints holds the cluster's real keys and issuer, uploaded
	// because a control plane on loopback is not reachable by Google.
	if !strings.Contains(printed, string(iss.JWKS)) || !strings.Contains(printed, "--issuer-uri="+iss.URL) ||
		!strings.Contains(printed, "--jwk-json-path="+refresher.JWKSFile) || !strings.Contains(printed, refresher.RefresherPrincipal(provider, refreshNS, pullerRefresher)) {
		t.Fatalf("setup commands lack the cluster's keys, issuer or principal:\n%s", printed)
	}
	s := fakes(t)
	// The printed mapping, and the printed condition as the claim it pins.
	if err := s.Google.AddProvider(fakegoogle.Provider{Name: provider, IssuerURI: iss.URL, JWKSJSON: iss.JWKS,
		AttributeMapping: map[string]string{"google.subject": refresher.SubjectMapping(provider)},
		RequiredClaims:   map[string]string{"sub": refresher.KubernetesSubject(refreshNS, pullerRefresher)}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Google.Grant(fakestack.ImpersonatedSA, refresher.RefresherPrincipal(provider, refreshNS, pullerRefresher)); err != nil {
		t.Fatal(err)
	}
	return provider, printed
}

// kubeletToken does what kubelet does for the CronJob's projected volume:
// a TokenRequest for the refresher's ServiceAccount with the volume's
// audience and expiry, written to a file (here in a temp dir; the run is
// pointed at it with --token-file, where the pod has the mount). It
// returns the file.
func kubeletToken(t *testing.T, cs kubernetes.Interface, refreshNS, dir string) string {
	t.Helper()
	cj, err := cs.BatchV1().CronJobs(refreshNS).Get(t.Context(), pullerRefresher, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	proj := cj.Spec.JobTemplate.Spec.Template.Spec.Volumes[0].Projected.Sources[0].ServiceAccountToken
	tr, err := cs.CoreV1().ServiceAccounts(refreshNS).CreateToken(t.Context(), pullerRefresher, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{Audiences: []string{proj.Audience}, ExpirationSeconds: proj.ExpirationSeconds},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tokenPath := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenPath, []byte(tr.Status.Token), 0o600); err != nil {
		t.Fatal(err)
	}
	return tokenPath
}

// pullerRefresher is the name of the refresher the tests install (for
// fakestack.ImpersonatedSA and the default secret name).
var pullerRefresher = refresher.ObjectName(fakestack.ImpersonatedSA, config.DefaultSecretName)

// refresherRun is one Job-mode run as the CronJob's pod does it: as the
// refresher's ServiceAccount (its own API token, so only its RBAC), with
// the arguments of its CronJob, the token file kubeletToken wrote (none:
// the metadata server), and no GitHub.
func refresherRun(t *testing.T, cp *controlplane.ControlPlane, refreshNS, tokenPath string) (string, error) {
	t.Helper()
	return refresherRunWith(t, cp, refreshNS, tokenPath, nil)
}

// refresherRunWith is refresherRun with a test's wrapper around its
// transports.
func refresherRunWith(t *testing.T, cp *controlplane.ControlPlane, refreshNS, tokenPath string, wrap func(http.RoundTripper) http.RoundTripper) (string, error) {
	t.Helper()
	return refresherRunCtx(controlplanetest.Context(t), t, cp, refreshNS, tokenPath, wrap)
}

// refresherRunCtx is refresherRunWith under the caller's context.
func refresherRunCtx(ctx context.Context, t *testing.T, cp *controlplane.ControlPlane, refreshNS, tokenPath string, wrap func(http.RoundTripper) http.RoundTripper) (string, error) {
	t.Helper()
	cs := clientFor(t, cp)
	id := tokenIdentity(t, cp, cs, refreshNS, pullerRefresher)
	waitPolicyAdmits(ctx, t, cs, id.client, refreshNS, pullerRefresher)
	a := parseRefresherArgs(t, refresherArgs(t, cs, refreshNS, pullerRefresher))
	if tokenPath != "" {
		a.TokenFile = tokenPath
	}
	getenv := check.Getenv(map[string]string{"KUBECONFIG": id.kubeconfig})
	var out bytes.Buffer
	err := RunRefresher(ctx, a, Deps{
		Reporter: actions.New(getenv, &out, &out), Getenv: getenv, Host: container.Host{InContainer: func() bool { return false }}, Version: "test",
		WrapTransport: wrap,
	})
	log := out.String()
	for _, tok := range fakes(t).Google.Issued() {
		if strings.Contains(log, tok.Token) || (err != nil && strings.Contains(err.Error(), tok.Token)) {
			t.Errorf("refresher run leaked a %s token", tok.Kind)
		}
	}
	return log, err
}

func secretToken(t *testing.T, cs kubernetes.Interface, ns string) string {
	t.Helper()
	dc := dockerConfigOf(t, getSecret(t, cs, ns, config.DefaultSecretName))
	for _, e := range dc.Auths {
		return e.Password
	}
	t.Fatalf("secret in %s has no auth entry", ns)
	return ""
}

type objectVersions map[string]string

func refresherObjects(t *testing.T, cs kubernetes.Interface, ns string) objectVersions {
	t.Helper()
	ctx, v := t.Context(), objectVersions{}
	name := pullerRefresher
	outer := refresher.OuterName(name, ns)
	check := func(kind string, obj metav1.Object, err error) {
		if apierrors.IsNotFound(err) {
			return
		}
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if obj.GetLabels()[labels.ManagedBy] != labels.Manager || obj.GetLabels()[labels.Component] != "refresher" ||
			obj.GetLabels()[labels.Instance] != name {
			t.Errorf("%s lacks pullsecret's labels: %v", kind, obj.GetLabels())
		}
		v[kind] = obj.GetResourceVersion()
	}
	sa, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, name, metav1.GetOptions{})
	check("ServiceAccount", sa, err)
	cr, err := cs.RbacV1().ClusterRoles().Get(ctx, outer, metav1.GetOptions{})
	check("ClusterRole", cr, err)
	crb, err := cs.RbacV1().ClusterRoleBindings().Get(ctx, outer, metav1.GetOptions{})
	check("ClusterRoleBinding", crb, err)
	vap, err := cs.AdmissionregistrationV1().ValidatingAdmissionPolicies().Get(ctx, outer, metav1.GetOptions{})
	check("ValidatingAdmissionPolicy", vap, err)
	vapb, err := cs.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Get(ctx, outer, metav1.GetOptions{})
	check("ValidatingAdmissionPolicyBinding", vapb, err)
	role, err := cs.RbacV1().Roles(ns).Get(ctx, name, metav1.GetOptions{})
	check("Role", role, err)
	rb, err := cs.RbacV1().RoleBindings(ns).Get(ctx, name, metav1.GetOptions{})
	check("RoleBinding", rb, err)
	cm, err := cs.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	check("ConfigMap", cm, err)
	cj, err := cs.BatchV1().CronJobs(ns).Get(ctx, name, metav1.GetOptions{})
	check("CronJob", cj, err)
	dep, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	check("Deployment", dep, err)
	pdb, err := cs.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, name, metav1.GetOptions{})
	check("PodDisruptionBudget", pdb, err)
	// The Lease is the watching refresher's pods' (leader election), not
	// labelled by the installer.
	switch lease, err := cs.CoordinationV1().Leases(ns).Get(ctx, name, metav1.GetOptions{}); {
	case err == nil:
		v["Lease"] = lease.ResourceVersion
	case !apierrors.IsNotFound(err):
		t.Fatalf("Lease: %v", err)
	}
	return v
}

// The whole refresher life cycle against the real API server: the action
// installs it (idempotently), a run in Job mode rewrites every covered
// secret using only the projected ServiceAccount token, a namespace
// created later that matches the glob is covered, the status lands on the
// ConfigMap, a failing run leaves an Event, its RBAC reads no other
// secret, and teardown leaves nothing.
func TestRefresherLifecycle(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	refreshNS := freshName("ps-refresh")
	provider, printed := trustCluster(t, cp, refreshNS)
	prefix := freshName("pv")
	first := prefix + "-1"
	for _, ns := range []string{first} {
		if _, err := cs.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
		ensureDefaultSA(t, cs, ns)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), refreshNS, metav1.DeleteOptions{}) })

	inputs := withCreds(t, fakestack.WIF, map[string]string{
		config.InNamespaces: prefix + "-*", config.InRefresh: "true", config.InRefreshImage: refresherImage,
		config.InRefreshWorkloadIdentityProvider: provider, config.InRefreshNamespace: refreshNS,
		config.InTokenLifetime: "2m", config.InRefreshInterval: "1m",
	})
	r := runWith(t, cp.Kubeconfig(), inputs)
	if r.err != nil {
		t.Fatalf("install run: %v\n%s", r.err, r.log)
	}
	installed := refresherObjects(t, cs, refreshNS)
	if len(installed) != 9 {
		t.Fatalf("installed %v, want all 9 refresher objects", installed)
	}
	if !strings.Contains(r.summary, "Refresher: installed in `"+refreshNS+"`") {
		t.Errorf("step summary does not report the refresher:\n%s", r.summary)
	}
	// Idempotent: the same run again changes no object.
	if r := runWith(t, cp.Kubeconfig(), inputs); r.err != nil {
		t.Fatalf("second install run: %v", r.err)
	}
	if again := refresherObjects(t, cs, refreshNS); !mapsEqual(installed, again) {
		t.Errorf("re-install changed objects: %v -> %v", installed, again)
	}
	// Nothing secret in any refresher object.
	cm, _ := cs.CoreV1().ConfigMaps(refreshNS).Get(t.Context(), pullerRefresher, metav1.GetOptions{})
	cmJSON, _ := json.Marshal(cm)
	for _, tok := range fakes(t).Google.Issued() {
		if strings.Contains(string(cmJSON), tok.Token) {
			t.Errorf("the refresher's ConfigMap holds a %s token", tok.Kind)
		}
	}
	before := secretToken(t, cs, first)

	// The refresher's pod is admitted under Pod Security "restricted".
	nsObj, err := cs.CoreV1().Namespaces().Get(t.Context(), refreshNS, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nsObj.Labels["pod-security.kubernetes.io/enforce"] = "restricted"
	if _, err := cs.CoreV1().Namespaces().Update(t.Context(), nsObj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	cj, err := cs.BatchV1().CronJobs(refreshNS).Get(t.Context(), pullerRefresher, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := createPod(t, cs, refreshNS, cj.Spec.JobTemplate.Spec.Template.Spec); err != nil {
		t.Errorf("restricted namespace refused the refresher's pod: %v", err)
	}

	// A namespace created after installation, matching the glob.
	later := prefix + "-2"
	if _, err := cs.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: later}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), later, metav1.DeleteOptions{}) })
	ensureDefaultSA(t, cs, later)

	credPath := kubeletToken(t, cs, refreshNS, t.TempDir())
	log, err := refresherRun(t, cp, refreshNS, credPath)
	if err != nil {
		t.Fatalf("refresher run: %v\n%s", err, log)
	}
	for _, ns := range []string{first, later} {
		tok := secretToken(t, cs, ns)
		issued, ok := fakes(t).Google.Lookup(tok)
		switch {
		case !ok:
			t.Errorf("%s: secret holds a token the fake never issued", ns)
		case tok == before:
			t.Errorf("%s: secret was not rotated", ns)
		case issued.Email != fakestack.ImpersonatedSA || !strings.Contains(issued.ImpersonatedBy, "system:serviceaccount:"+refreshNS+":"+pullerRefresher):
			t.Errorf("%s: token acts as %q impersonated by %q; want %s by the refresher's ServiceAccount", ns, issued.Email, issued.ImpersonatedBy, fakestack.ImpersonatedSA)
		case issued.Expiry.Sub(issued.IssuedAt) != 2*time.Minute:
			t.Errorf("%s: token lives %s, want token_lifetime 2m", ns, issued.Expiry.Sub(issued.IssuedAt))
		}
		if sa := getSA(t, cs, ns, "default"); !contains(pullSecretNames(sa), config.DefaultSecretName) {
			t.Errorf("%s: default ServiceAccount does not reference the secret", ns)
		}
	}
	cm, _ = cs.CoreV1().ConfigMaps(refreshNS).Get(t.Context(), pullerRefresher, metav1.GetOptions{})
	if cm.Annotations[labels.LastSuccess] == "" || cm.Annotations[labels.ExpiresAt] == "" ||
		!strings.HasPrefix(cm.Annotations[labels.LastResult], "refreshed 2 namespace(s)") {
		t.Errorf("status annotations after success: %v", cm.Annotations)
	}

	// Its RBAC: its own secret name only.
	id := tokenIdentity(t, cp, cs, refreshNS, pullerRefresher)
	if _, err := cs.CoreV1().Secrets(first).Create(t.Context(), foreignSecret("other"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := id.client.CoreV1().Secrets(first).Get(t.Context(), "other", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("the refresher read another secret: err %v", err)
	}

	// A failed run: the projected token is not one the provider trusts.
	if err := os.WriteFile(filepath.Join(filepath.Dir(credPath), "token"), []byte("not-a-jwt"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := refresherRun(t, cp, refreshNS, credPath); err == nil {
		t.Fatal("a run with an untrusted token succeeded")
	}
	cm, _ = cs.CoreV1().ConfigMaps(refreshNS).Get(t.Context(), pullerRefresher, metav1.GetOptions{})
	if !strings.HasPrefix(cm.Annotations[labels.LastResult], "failed at ") || cm.Annotations[labels.LastSuccess] == "" {
		t.Errorf("status annotations after failure: %v", cm.Annotations)
	}
	events, err := cs.CoreV1().Events(refreshNS).List(t.Context(), metav1.ListOptions{FieldSelector: "reason=RefreshFailed"})
	if err != nil || len(events.Items) == 0 || events.Items[0].InvolvedObject.Name != pullerRefresher || events.Items[0].Type != corev1.EventTypeWarning {
		t.Errorf("no RefreshFailed warning event on the ConfigMap: %v %+v", err, events)
	}

	// Teardown removes the refresher (no namespace left) and the namespace
	// it created.
	del := map[string]string{config.InNamespaces: prefix + "-*", config.InMode: "delete", config.InRefresh: "true", config.InRefreshNamespace: refreshNS}
	if r := runWith(t, cp.Kubeconfig(), del); r.err != nil {
		t.Fatalf("teardown: %v\n%s", r.err, r.log)
	}
	if left := refresherObjects(t, cs, refreshNS); len(left) != 0 {
		t.Errorf("teardown left %v", left)
	}
	if ns, err := cs.CoreV1().Namespaces().Get(t.Context(), refreshNS, metav1.GetOptions{}); err == nil && ns.DeletionTimestamp == nil {
		t.Errorf("teardown left namespace %s", refreshNS)
	}
	t.Logf("setup helper output:\n%s", printed)
}

// GKE flavour (no refresh_workload_identity_provider): the refresher runs
// on the metadata server. Teardown of one preview keeps the refresher for
// the others: coverage shrinks, and the RBAC follows it.
func TestRefresherTeardownNarrowsCoverage(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	refreshNS := freshName("ps-refresh")
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), refreshNS, metav1.DeleteOptions{}) })
	a, b := controlplanetest.Namespace(t, cp), controlplanetest.Namespace(t, cp)
	for _, ns := range []string{a, b} {
		in := withCreds(t, fakestack.WIF, map[string]string{config.InNamespaces: ns, config.InRefresh: "true", config.InRefreshImage: refresherImage, config.InRefreshNamespace: refreshNS})
		if r := runWith(t, cp.Kubeconfig(), in); r.err != nil {
			t.Fatalf("install for %s: %v", ns, r.err)
		}
	}
	cr, err := cs.RbacV1().ClusterRoles().Get(t.Context(), refresher.OuterName(pullerRefresher, refreshNS), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := cr.Rules[0].ResourceNames; len(got) != 2 {
		t.Errorf("namespaces rule names %v, want both previews", got)
	}
	// GKE flavour: no provider, so the ServiceAccount is bound to the
	// Google account and no credential file is rendered.
	sa := getSAIn(t, cs, refreshNS, pullerRefresher)
	if sa.Annotations[labels.GKEServiceAccount] != fakestack.ImpersonatedSA {
		t.Errorf("ServiceAccount annotations %v", sa.Annotations)
	}
	// A run there authenticates through the metadata server (the fake's;
	// metadata_endpoint is carried in the settings). The fake does not
	// model the GKE annotation, so the token is its node account's.
	if log, err := refresherRun(t, cp, refreshNS, ""); err != nil {
		t.Fatalf("metadata-server refresher run: %v\n%s", err, log)
	}
	for _, ns := range []string{a, b} {
		issued, ok := fakes(t).Google.Lookup(secretToken(t, cs, ns))
		if !ok || issued.Email != fakestack.MetadataSA {
			t.Errorf("%s: secret token acts as %q, want the metadata server's account %s", ns, issued.Email, fakestack.MetadataSA)
		}
	}
	r := runWith(t, cp.Kubeconfig(), map[string]string{config.InNamespaces: a, config.InMode: "delete", config.InRefresh: "true", config.InRefreshNamespace: refreshNS})
	if r.err != nil {
		t.Fatal(r.err)
	}
	cm, err := cs.CoreV1().ConfigMaps(refreshNS).Get(t.Context(), pullerRefresher, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("refresher removed while %s still needs it: %v", b, err)
	}
	_, covers := refresherIdentity(t, cs, refreshNS, pullerRefresher)
	cr, _ = cs.RbacV1().ClusterRoles().Get(t.Context(), refresher.OuterName(pullerRefresher, refreshNS), metav1.GetOptions{})
	if covers != b || len(cr.Rules[0].ResourceNames) != 1 || cr.Rules[0].ResourceNames[0] != b {
		t.Errorf("after tearing down %s: coverage %q, namespace rule %v; want only %s", a, covers, cr.Rules[0].ResourceNames, b)
	}
	if _, err := refresher.CoverageFrom(cm.Data); err != nil {
		t.Errorf("the ConfigMap holds more than coverage: %v", err)
	}
	if _, err := cs.RbacV1().Roles(a).Get(t.Context(), refresher.OuterName(pullerRefresher, refreshNS), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the refresher's Role in %s survived its teardown: %v", a, err)
	}
}

func getSAIn(t *testing.T, cs kubernetes.Interface, ns, name string) *corev1.ServiceAccount {
	return getSA(t, cs, ns, name)
}

func mapsEqual(a, b objectVersions) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// parseRefresherArgs reads the CronJob's arguments as the refresh command
// does (internal/cli parses them in production).
func parseRefresherArgs(t *testing.T, args []string) *RefresherArgs {
	t.Helper()
	if len(args) == 0 || args[0] != "refresh" {
		t.Fatalf("the CronJob runs %q, not the refresh command", args)
	}
	a := &RefresherArgs{Fixed: map[string]string{}, TokenFile: refresher.TokenPath}
	for i := 1; i+1 < len(args); i += 2 {
		switch v := args[i+1]; args[i] {
		case "--config-map":
			a.Namespace, a.Name, _ = strings.Cut(v, "/")
		case "--service-account":
			a.ServiceAccount = v
		case "--provider":
			a.Provider = v
		case "--set":
			k, val, _ := strings.Cut(v, "=")
			a.Fixed[k] = val
		default:
			t.Fatalf("the CronJob's arguments hold %q", args[i])
		}
	}
	return a
}
