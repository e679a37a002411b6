//go:build integration

package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/dockerconfig"
	"github.com/pullsecret/pullsecret/internal/labels"
	"github.com/pullsecret/pullsecret/internal/testing/check"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
	"github.com/pullsecret/pullsecret/internal/testing/fakegoogle"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

// The secret holds exactly the token Google issued, for every registry key,
// and the default ServiceAccount references it.
func TestApplyWritesSecretAndPatchesServiceAccount(t *testing.T) {
	t.Parallel()
	for _, c := range []fakestack.Credential{fakestack.WIF, fakestack.KeyToken, fakestack.KeyJSON, fakestack.ADC} {
		t.Run(string(c), func(t *testing.T) {
			t.Parallel()
			cp := controlplanetest.Shared(t)
			cs := clientFor(t, cp)
			ns := controlplanetest.Namespace(t, cp)

			r := runWith(t, cp.Kubeconfig(), withCreds(t, c, map[string]string{config.InNamespaces: ns}))
			if r.err != nil {
				t.Fatalf("run failed: %v\n%s", r.err, r.log)
			}
			s := getSecret(t, cs, ns, config.DefaultSecretName)
			if s.Type != corev1.SecretTypeDockerConfigJson {
				t.Errorf("type = %s", s.Type)
			}
			if s.Labels[labels.ManagedBy] != labels.Manager {
				t.Errorf("labels = %v", s.Labels)
			}
			dc := dockerConfigOf(t, s)
			if diff := cmp.Diff(config.SplitList(config.DefaultRegistries), registryKeys(dc), sortStrings); diff != "" {
				t.Errorf("registry keys (-want +got):\n%s", diff)
			}
			entry := dc.Auths["gcr.io"]
			if c == fakestack.KeyJSON {
				if entry.Username != dockerconfig.UserJSONKey || entry.Password != string(fakes(t).Key) {
					t.Errorf("json_key entry: user %q, password is the key: %v", entry.Username, entry.Password == string(fakes(t).Key))
				}
				if !strings.Contains(r.outputs, "expires_at<<") {
					t.Errorf("expires_at output missing:\n%s", r.outputs)
				}
			} else {
				tok, ok := fakes(t).Google.Lookup(entry.Password)
				if entry.Username != dockerconfig.UserAccessToken || !ok {
					t.Fatalf("secret does not hold a token the fake issued (user %q)", entry.Username)
				}
				wantKind := map[fakestack.Credential]fakegoogle.TokenKind{fakestack.WIF: fakegoogle.KindImpersonated, fakestack.KeyToken: fakegoogle.KindJWTBearer, fakestack.ADC: fakegoogle.KindImpersonated}[c]
				if tok.Kind != wantKind {
					t.Errorf("token kind = %s, want %s", tok.Kind, wantKind)
				}
				if diff := cmp.Diff([]string{config.DefaultScope}, tok.Scopes); diff != "" {
					t.Errorf("scopes (-want +got):\n%s", diff)
				}
				// The annotation is the minted token's expiry (RFC 3339,
				// whole seconds; a key's token expiry is computed from
				// expires_in, so up to a second from the fake's record)
				// and equals the expires_at output.
				got := s.Annotations[labels.ExpiresAt]
				at, err := time.Parse(time.RFC3339, got)
				if err != nil || at.Sub(tok.Expiry).Abs() > time.Second {
					t.Errorf("expires-at annotation %q, want the minted token's expiry %s (%v)", got, tok.Expiry.UTC().Format(time.RFC3339), err)
				}
				if out, _ := r.output("expires_at"); out != got {
					t.Errorf("expires-at annotation %q, expires_at output %q", got, out)
				}
			}
			if diff := cmp.Diff([]string{config.DefaultSecretName}, pullSecretNames(getSA(t, cs, ns, "default"))); diff != "" {
				t.Errorf("default SA pull secrets (-want +got):\n%s", diff)
			}
			if got, _ := r.output("namespaces"); got != fmt.Sprintf("[%q]", ns) {
				t.Errorf("namespaces output:\n%s", r.outputs)
			}
			if !strings.Contains(r.summary, "| `"+ns+"` | created |") {
				t.Errorf("summary:\n%s", r.summary)
			}
		})
	}
}

// sortStrings compares string slices as sets of values.
var sortStrings = cmpopts.SortSlices(func(a, b string) bool { return a < b })

// imagePullSecrets is atomic: other entries and their order must survive,
// no duplicates appear, and a re-run changes nothing on the ServiceAccount.
func TestMergeKeepsOtherPullSecretsAndIsIdempotent(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	ns := controlplanetest.Namespace(t, cp)
	createSA(t, cs, ns, "builder", "team-b", "team-a")

	in := withCreds(t, fakestack.KeyToken, map[string]string{config.InNamespaces: ns, config.InServiceAccounts: "builder"})
	if r := runWith(t, cp.Kubeconfig(), in); r.err != nil {
		t.Fatalf("first run: %v\n%s", r.err, r.log)
	}
	sa := getSA(t, cs, ns, "builder")
	if diff := cmp.Diff([]string{"team-b", "team-a", config.DefaultSecretName}, pullSecretNames(sa)); diff != "" {
		t.Errorf("after first run (-want +got):\n%s", diff)
	}
	r := runWith(t, cp.Kubeconfig(), in)
	if r.err != nil {
		t.Fatalf("second run: %v", r.err)
	}
	again := getSA(t, cs, ns, "builder")
	if again.ResourceVersion != sa.ResourceVersion {
		t.Errorf("re-run modified the ServiceAccount (resourceVersion %s -> %s)", sa.ResourceVersion, again.ResourceVersion)
	}
	if diff := cmp.Diff([]string{"builder"}, r.res.Namespaces[0].Unchanged); diff != "" {
		t.Errorf("second run should report builder unchanged (-want +got):\n%s", diff)
	}
}

// Labels and annotations other tools put on our secret survive a re-apply
// (server-side apply owns only our fields), and the object is updated in
// place, never deleted and recreated.
func TestReapplyKeepsOthersMetadataAndUID(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	ns := controlplanetest.Namespace(t, cp)
	in := withCreds(t, fakestack.KeyToken, map[string]string{config.InNamespaces: ns, config.InServiceAccounts: "", config.InSecretLabels: "team=web"})
	if r := runWith(t, cp.Kubeconfig(), in); r.err != nil {
		t.Fatal(r.err)
	}
	s := getSecret(t, cs, ns, config.DefaultSecretName)
	s.Labels["backup.example.com/include"] = "true"
	s.Annotations = map[string]string{"reloader.example.com/match": "true"}
	if _, err := cs.CoreV1().Secrets(ns).Update(t.Context(), s, metav1.UpdateOptions{FieldManager: "someone-else"}); err != nil {
		t.Fatal(err)
	}
	rerun := runWith(t, cp.Kubeconfig(), in)
	if rerun.err != nil {
		t.Fatal(rerun.err)
	}
	after := getSecret(t, cs, ns, config.DefaultSecretName)
	if after.UID != s.UID {
		t.Error("secret was recreated (UID changed)")
	}
	want := map[string]string{"team": "web", "backup.example.com/include": "true", labels.ManagedBy: labels.Manager}
	if diff := cmp.Diff(want, after.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if exp, _ := rerun.output("expires_at"); after.Annotations["reloader.example.com/match"] != "true" || after.Annotations[labels.ExpiresAt] != exp || exp == "" {
		t.Errorf("annotations = %v", after.Annotations)
	}
	if string(after.Data[corev1.DockerConfigJsonKey]) == string(s.Data[corev1.DockerConfigJsonKey]) {
		t.Error("re-run did not refresh the token")
	}
}

// A secret of another type, or one pullsecret does not manage, is refused
// with nothing changed (secret and ServiceAccount), unless force is set.
func TestForeignSecretRefusedUnlessForced(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		secret *corev1.Secret
	}{
		{
			name:   "opaque secret",
			secret: &corev1.Secret{Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"password": []byte("x")}},
		},
		{
			name:   "hand-made dockerconfigjson",
			secret: &corev1.Secret{Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{}}`)}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cp := controlplanetest.Shared(t)
			cs := clientFor(t, cp)
			ns := controlplanetest.Namespace(t, cp)
			tc.secret.Name, tc.secret.Namespace = config.DefaultSecretName, ns
			created, err := cs.CoreV1().Secrets(ns).Create(t.Context(), tc.secret, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			in := withCreds(t, fakestack.KeyToken, map[string]string{config.InNamespaces: ns})
			r := runWith(t, cp.Kubeconfig(), in)
			if check.ErrDiff(r.err, "force") != "" {
				t.Fatalf("want an error suggesting force, got %v", r.err)
			}
			after := getSecret(t, cs, ns, config.DefaultSecretName)
			if after.ResourceVersion != created.ResourceVersion {
				t.Error("refused run still modified the secret")
			}
			if got := pullSecretNames(getSA(t, cs, ns, "default")); len(got) != 0 {
				t.Errorf("refused run patched the ServiceAccount: %v", got)
			}
			if got, ok := r.output("namespaces"); !ok || got != "[]" {
				t.Errorf("a failed namespace was reported as written:\n%s", r.outputs)
			}

			in[config.InForce] = "true"
			if r := runWith(t, cp.Kubeconfig(), in); r.err != nil {
				t.Fatalf("forced run: %v", r.err)
			}
			forced := getSecret(t, cs, ns, config.DefaultSecretName)
			if forced.Type != corev1.SecretTypeDockerConfigJson || forced.Labels[labels.ManagedBy] != labels.Manager {
				t.Errorf("forced secret: type %s labels %v", forced.Type, forced.Labels)
			}
		})
	}
}

// A named namespace that does not exist fails the run before anything is
// written anywhere, and the error names it.
func TestMissingNamespaceFailsBeforeWriting(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	ns := controlplanetest.Namespace(t, cp)
	missing := freshName("missing")
	r := runWith(t, cp.Kubeconfig(), withCreds(t, fakestack.KeyToken, map[string]string{config.InNamespaces: ns + "," + missing}))
	if check.ErrDiff(r.err, missing, config.InCreateNamespaces) != "" {
		t.Fatalf("want an error naming %s and create_namespaces, got %v", missing, r.err)
	}
	if !secretAbsent(t, cs, ns, config.DefaultSecretName) {
		t.Error("the existing namespace was written although the run failed")
	}
}

// create_namespaces creates the namespace, waits for the controller to add
// its default ServiceAccount, and patches it.
func TestCreateNamespaceWaitsForDefaultServiceAccount(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	ns := freshName("preview")
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	r := runWith(t, cp.Kubeconfig(), withCreds(t, fakestack.WIF, map[string]string{config.InNamespaces: ns, config.InCreateNamespaces: "true", config.InWaitTimeout: controllerWait(t)}))
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.log)
	}
	got, err := cs.CoreV1().Namespaces().Get(t.Context(), ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Labels[labels.CreatedBy] != labels.Manager {
		t.Errorf("namespace labels = %v", got.Labels)
	}
	if diff := cmp.Diff([]string{config.DefaultSecretName}, pullSecretNames(getSA(t, cs, ns, "default"))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if !r.res.Namespaces[0].CreatedNamespace {
		t.Error("result does not say the namespace was created")
	}
}

// Many namespaces: one token mint however many namespaces, all written.
func TestManyNamespacesOneMint(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	label := freshName("batch")
	var names []string
	for i := 0; i < 25; i++ {
		ns := freshName("many")
		names = append(names, ns)
		_, err := cs.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"batch": label}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	}
	for _, ns := range names {
		ensureDefaultSA(t, cs, ns)
	}
	r := runWith(t, cp.Kubeconfig(), withCreds(t, fakestack.KeyToken, map[string]string{config.InNamespaceSelector: "batch=" + label, config.InConcurrency: "6"}))
	if r.err != nil {
		t.Fatal(r.err)
	}
	// One mint per run: every namespace holds the very same token.
	tokens := map[string]bool{}
	for _, ns := range names {
		tokens[dockerConfigOf(t, getSecret(t, cs, ns, config.DefaultSecretName)).Auths["gcr.io"].Password] = true
	}
	if len(tokens) != 1 {
		t.Errorf("%d different tokens across 25 namespaces, want 1 mint per run", len(tokens))
	}
	if len(r.res.Succeeded()) != 25 {
		t.Errorf("succeeded in %d namespaces, want 25", len(r.res.Succeeded()))
	}
	for _, ns := range names {
		getSecret(t, cs, ns, config.DefaultSecretName)
		if diff := cmp.Diff([]string{config.DefaultSecretName}, pullSecretNames(getSA(t, cs, ns, "default"))); diff != "" {
			t.Errorf("%s (-want +got):\n%s", ns, diff)
		}
	}
}

// Per-namespace failures are all reported, the run fails, the namespaces
// that worked are written and reported, and the failing namespace's
// ServiceAccount is not left pointing at a secret that was not written.
func TestPartialFailureReportsEveryNamespace(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	good, bad1, bad2 := controlplanetest.Namespace(t, cp), controlplanetest.Namespace(t, cp), controlplanetest.Namespace(t, cp)
	for _, ns := range []string{bad1, bad2} {
		_, err := cs.CoreV1().Secrets(ns).Create(t.Context(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: config.DefaultSecretName}, Type: corev1.SecretTypeOpaque}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	r := runWith(t, cp.Kubeconfig(), withCreds(t, fakestack.KeyToken, map[string]string{config.InNamespaces: strings.Join([]string{good, bad1, bad2}, ",")}))
	if r.err == nil {
		t.Fatal("run succeeded although two namespaces failed")
	}
	for _, ns := range []string{bad1, bad2} {
		if !strings.Contains(r.err.Error(), ns) {
			t.Errorf("error does not report %s: %v", ns, r.err)
		}
		if got := pullSecretNames(getSA(t, cs, ns, "default")); len(got) != 0 {
			t.Errorf("%s: ServiceAccount references an unwritten secret: %v", ns, got)
		}
	}
	if diff := cmp.Diff([]string{good}, r.res.Succeeded()); diff != "" {
		t.Errorf("succeeded (-want +got):\n%s", diff)
	}
	if !strings.Contains(r.outputs, fmt.Sprintf("[%q]", good)) {
		t.Errorf("outputs:\n%s", r.outputs)
	}
	if diff := cmp.Diff([]string{config.DefaultSecretName}, pullSecretNames(getSA(t, cs, good, "default"))); diff != "" {
		t.Errorf("good namespace (-want +got):\n%s", diff)
	}
}

// Two runs racing on the same ServiceAccounts with different secrets: the
// read-modify-write with conflict retry keeps both entries (a patch of the
// atomic list would let the last writer win).
func TestConcurrentRunsKeepBothEntries(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	ns := controlplanetest.Namespace(t, cp)
	for i := 0; i < 8; i++ {
		createSA(t, cs, ns, fmt.Sprintf("sa-%d", i), "pre-existing")
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := withCreds(t, fakestack.KeyToken, map[string]string{config.InNamespaces: ns, config.InServiceAccounts: "*", config.InSecretName: fmt.Sprintf("racer-%d", i)})
			errs[i] = runWith(t, cp.Kubeconfig(), in).err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	list, err := cs.CoreV1().ServiceAccounts(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, sa := range list.Items {
		got := pullSecretNames(&sa)
		if sa.Name != "default" && (len(got) != 5 || got[0] != "pre-existing") {
			t.Errorf("%s: %v, want pre-existing first then racer-0..3", sa.Name, got)
		}
		for i := 0; i < 4; i++ {
			if !contains(got, fmt.Sprintf("racer-%d", i)) {
				t.Errorf("%s lost racer-%d: %v", sa.Name, i, got)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Globs, "*" and selectors skip the system namespaces by default; names
// given explicitly are always used.
func TestNamespaceSelection(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	prefix := freshName("sel")
	a, b := prefix+"-a", prefix+"-b"
	for _, ns := range []string{a, b} {
		if _, err := cs.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
		ensureDefaultSA(t, cs, ns)
	}
	r := runWith(t, cp.Kubeconfig(), withCreds(t, fakestack.KeyToken, map[string]string{
		config.InNamespaces: prefix + "-*", config.InExcludeNamespaces: b, config.InServiceAccounts: "", config.InDryRun: "true",
	}))
	if r.err != nil {
		t.Fatal(r.err)
	}
	if diff := cmp.Diff([]string{a}, r.res.Succeeded()); diff != "" {
		t.Errorf("glob minus exclude (-want +got):\n%s", diff)
	}
	// "*" also reaches the namespaces of tests running in parallel on this
	// shared control plane, some holding secrets pullsecret must refuse: the
	// run may fail there, so what is checked is what it selected.
	r = runWith(t, cp.Kubeconfig(), withCreds(t, fakestack.KeyToken, map[string]string{config.InNamespaces: "*", config.InDryRun: "true", config.InServiceAccounts: ""}))
	if r.res == nil {
		t.Fatal(r.err)
	}
	selected := map[string]error{}
	for _, n := range r.res.Namespaces {
		selected[n.Namespace] = n.Err
	}
	for _, sys := range []string{"kube-system", "kube-public", "kube-node-lease"} {
		if _, ok := selected[sys]; ok {
			t.Errorf("* selected %s", sys)
		}
	}
	for _, ns := range []string{a, b} {
		if err, ok := selected[ns]; !ok || err != nil {
			t.Errorf("* in %s: selected %v, error %v; want selected and succeeded", ns, ok, err)
		}
	}
}

// dry_run touches nothing.
func TestDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	ns := controlplanetest.Namespace(t, cp)
	newNS := freshName("dry")
	r := runWith(t, cp.Kubeconfig(), withCreds(t, fakestack.KeyToken, map[string]string{config.InNamespaces: ns + "," + newNS, config.InCreateNamespaces: "true", config.InDryRun: "true"}))
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.log)
	}
	if !secretAbsent(t, cs, ns, config.DefaultSecretName) {
		t.Error("dry run wrote the secret")
	}
	if got := pullSecretNames(getSA(t, cs, ns, "default")); len(got) != 0 {
		t.Errorf("dry run patched the ServiceAccount: %v", got)
	}
	if _, err := cs.CoreV1().Namespaces().Get(t.Context(), newNS, metav1.GetOptions{}); err == nil {
		t.Error("dry run created a namespace")
	}
	if !strings.Contains(r.summary, "dry run") {
		t.Errorf("summary does not say dry run:\n%s", r.summary)
	}
}

// Explicit registries replace the default keys; extra annotations land on
// the secret next to pullsecret's own.
func TestExplicitRegistriesAndAnnotations(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	ns := controlplanetest.Namespace(t, cp)
	r := runWith(t, cp.Kubeconfig(), withCreds(t, fakestack.KeyToken, map[string]string{
		config.InNamespaces: ns, config.InServiceAccounts: "",
		config.InRegistries:        "europe-docker.pkg.dev, registry.internal:5000",
		config.InSecretAnnotations: "team.example.com/owner=web",
	}))
	if r.err != nil {
		t.Fatal(r.err)
	}
	s := getSecret(t, cs, ns, config.DefaultSecretName)
	if diff := cmp.Diff([]string{"europe-docker.pkg.dev", "registry.internal:5000"}, registryKeys(dockerConfigOf(t, s)), sortStrings); diff != "" {
		t.Errorf("registry keys (-want +got):\n%s", diff)
	}
	if exp, _ := r.output("expires_at"); s.Annotations["team.example.com/owner"] != "web" || s.Annotations[labels.ExpiresAt] != exp || exp == "" {
		t.Errorf("annotations = %v", s.Annotations)
	}
	if !strings.Contains(r.outputs, `["europe-docker.pkg.dev","registry.internal:5000"]`) {
		t.Errorf("registries output:\n%s", r.outputs)
	}
}

// wait_timeout bounds the wait for a new namespace's ServiceAccounts, and
// nothing is written when it expires.
func TestWaitTimeoutBoundsTheWait(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	ns := freshName("wait")
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	r := runWith(t, cp.Kubeconfig(), withCreds(t, fakestack.KeyToken, map[string]string{
		config.InNamespaces: ns, config.InCreateNamespaces: "true", config.InServiceAccounts: "deployer", config.InWaitTimeout: "2s",
	}))
	if check.ErrDiff(r.err, `"deployer" did not appear within 2s`) != "" {
		t.Fatalf("want a timeout naming the ServiceAccount, got %v", r.err)
	}
	if !secretAbsent(t, cs, ns, config.DefaultSecretName) {
		t.Error("secret written although its ServiceAccount never appeared")
	}
}

func dockerConfigOf(t *testing.T, s *corev1.Secret) dockerconfig.Config {
	t.Helper()
	var dc dockerconfig.Config
	if err := json.Unmarshal(s.Data[corev1.DockerConfigJsonKey], &dc); err != nil {
		t.Fatal(err)
	}
	return dc
}

func registryKeys(dc dockerconfig.Config) []string {
	var keys []string
	for k := range dc.Auths {
		keys = append(keys, k)
	}
	return keys
}
