//go:build integration

package runner

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/pullsecret/pullsecret/internal/kube"
	"github.com/pullsecret/pullsecret/internal/labels"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/faultproxy"
)

// fleetSize is how many namespaces a fault scenario spans.
const fleetSize = 200

// otherEntry is another team's imagePullSecrets entry on every fleet
// ServiceAccount; no fault may make it disappear.
const otherEntry = "other-team-registry"

// fleet is fleetSize namespaces sharing a label, each with a default
// ServiceAccount that already references otherEntry.
type fleet struct {
	selector string
	names    []string
}

// newFleet creates the namespaces directly on the API server (no proxy).
func newFleet(t testing.TB, cp *controlplane.ControlPlane) fleet {
	t.Helper()
	cs := fastClient(t, cp)
	id := freshName("fleet")
	f := fleet{selector: "fleet=" + id}
	for i := range fleetSize {
		f.names = append(f.names, fmt.Sprintf("%s-%03d", id, i))
	}
	ctx := controlplanetest.Context(t)
	parallel(t, f.names, func(ns string) error {
		_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"fleet": id}}}, metav1.CreateOptions{})
		return err
	})
	// The default ServiceAccount is created here, as the ServiceAccount
	// controller would (see controlplanetest.DefaultServiceAccount), with
	// the other team's entry; if the controller was first, the entry is
	// added to its object.
	parallel(t, f.names, func(ns string) error {
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}, ImagePullSecrets: []corev1.LocalObjectReference{{Name: otherEntry}}}
		_, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{})
		if !apierrors.IsAlreadyExists(err) {
			return err
		}
		return retry.RetryOnConflict(retry.DefaultRetry, func() error {
			sa, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
			if err != nil {
				return err
			}
			sa.ImagePullSecrets = append(sa.ImagePullSecrets, corev1.LocalObjectReference{Name: otherEntry})
			_, err = cs.CoreV1().ServiceAccounts(ns).Update(ctx, sa, metav1.UpdateOptions{})
			return err
		})
	})
	return f
}

// fastClient is an admin client without client-go's default 5 QPS limit,
// for tests that write and check hundreds of namespaces.
func fastClient(t testing.TB, cp *controlplane.ControlPlane) kubernetes.Interface {
	t.Helper()
	rc := cp.RESTConfig()
	rc.QPS, rc.Burst = 500, 1000
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// parallel runs fn for every name, 16 at a time, failing the test on errors.
func parallel(t testing.TB, names []string, fn func(string) error) {
	t.Helper()
	sem := make(chan struct{}, 16)
	var mu sync.Mutex
	var errs []string
	var wg sync.WaitGroup
	for _, n := range names {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := fn(n); err != nil {
				mu.Lock()
				errs = append(errs, err.Error())
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d failed, first: %s", len(errs), errs[0])
	}
}

// shuffled returns the fleet's names in an order fixed by seed, so each
// scenario picks reproducible, disjoint sets by slicing.
func (f fleet) shuffled(seed uint64) []string {
	out := slices.Clone(f.names)
	rand.New(rand.NewPCG(seed, seed)).Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func set(names []string) map[string]bool {
	out := map[string]bool{}
	for _, n := range names {
		out[n] = true
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := []string{}
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// proxyKubeconfig starts a fault proxy in front of cp, closed at cleanup.
func startProxy(t testing.TB, cp *controlplane.ControlPlane, cfg faultproxy.Config) (*faultproxy.Proxy, string) {
	t.Helper()
	cfg.Upstream = cp.RESTConfig()
	p, err := faultproxy.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	kc, err := p.Kubeconfig()
	if err != nil {
		t.Fatal(err)
	}
	return p, string(kc)
}

// tally is what the checks found, for the report.
type tally struct {
	falseSuccesses, entriesLost, dangling int
}

// clusterState is the API server's real state for one secret name across
// a fleet, read directly (not through the proxy).
type clusterState struct {
	secret map[string]*corev1.Secret // namespace -> our secret
	refs   map[string]map[string]int // namespace -> ServiceAccount -> references to it
}

// readState reads the real state and checks what must hold whatever the
// run reported: no ServiceAccount references the secret where it does not
// exist, none references it twice, and the other team's entry survives.
func readState(t *testing.T, cs kubernetes.Interface, f fleet, secretName string) (clusterState, tally) {
	t.Helper()
	var n tally
	ctx := t.Context()
	secrets, err := cs.CoreV1().Secrets("").List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + secretName})
	if err != nil {
		t.Fatal(err)
	}
	st := clusterState{secret: map[string]*corev1.Secret{}, refs: map[string]map[string]int{}}
	for i := range secrets.Items {
		st.secret[secrets.Items[i].Namespace] = &secrets.Items[i]
	}
	sas, err := cs.CoreV1().ServiceAccounts("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	inFleet := set(f.names)
	for _, sa := range sas.Items {
		if !inFleet[sa.Namespace] {
			continue
		}
		names := pullSecretNames(&sa)
		if st.refs[sa.Namespace] == nil {
			st.refs[sa.Namespace] = map[string]int{}
		}
		ours := countOf(names, secretName)
		st.refs[sa.Namespace][sa.Name] = ours
		if sa.Name == "default" && countOf(names, otherEntry) != 1 {
			n.entriesLost++
			t.Errorf("%s/default lost or duplicated %q: %v", sa.Namespace, otherEntry, names)
		}
		if ours > 0 && st.secret[sa.Namespace] == nil {
			n.dangling++
			t.Errorf("%s/%s references %q, which does not exist", sa.Namespace, sa.Name, secretName)
		}
		if ours > 1 {
			t.Errorf("%s/%s references %q %d times", sa.Namespace, sa.Name, secretName, ours)
		}
	}
	return st, n
}

// checkSucceeded fails for every namespace claimed as done whose secret
// or default ServiceAccount reference the API server does not hold.
func (st clusterState) checkSucceeded(t *testing.T, succeeded []string) int {
	t.Helper()
	wrong := 0
	for _, ns := range succeeded {
		s := st.secret[ns]
		if s == nil || s.Type != corev1.SecretTypeDockerConfigJson || s.Labels[labels.ManagedBy] != labels.Manager {
			wrong++
			t.Errorf("%s: reported as succeeded but the API server has %s", ns, describeSecret(s))
		}
		if st.refs[ns]["default"] != 1 {
			wrong++
			t.Errorf("%s: reported as succeeded but its default ServiceAccount references the secret %d times", ns, st.refs[ns]["default"])
		}
	}
	return wrong
}

// checkRealState compares what the run reported with the API server's real
// state (see readState for what holds regardless):
//   - every fleet namespace is reported exactly once;
//   - a namespace reported as succeeded really has our secret, and its
//     default ServiceAccount references it exactly once (no false success);
//   - a secret reported as written exists; a ServiceAccount reported as
//     patched or already set references it.
func checkRealState(t *testing.T, cs kubernetes.Interface, f fleet, secretName string, res *Result) tally {
	t.Helper()
	if res == nil {
		t.Fatal("run returned no result")
	}
	st, n := readState(t, cs, f, secretName)
	n.falseSuccesses += st.checkSucceeded(t, res.Succeeded())
	reported := map[string]int{}
	for _, nr := range res.Namespaces {
		reported[nr.Namespace]++
		s := st.secret[nr.Namespace]
		wrote := nr.Secret == kube.SecretCreated || nr.Secret == kube.SecretUpdated || nr.Secret == kube.SecretUnchanged
		if wrote && (s == nil || s.Type != corev1.SecretTypeDockerConfigJson) {
			n.falseSuccesses++
			t.Errorf("%s: reported secret %q but the API server has %s", nr.Namespace, nr.Secret, describeSecret(s))
		}
		for _, sa := range append(slices.Clone(nr.Patched), nr.Unchanged...) {
			if st.refs[nr.Namespace][sa] != 1 {
				n.falseSuccesses++
				t.Errorf("%s: ServiceAccount %q reported as referencing %q, but it does not", nr.Namespace, sa, secretName)
			}
		}
	}
	for _, ns := range f.names {
		if reported[ns] != 1 {
			t.Errorf("namespace %s reported %d times, want once", ns, reported[ns])
		}
	}
	if len(res.Namespaces) != len(f.names) {
		t.Errorf("run reported %d namespaces, fleet has %d", len(res.Namespaces), len(f.names))
	}
	return n
}

func describeSecret(s *corev1.Secret) string {
	if s == nil {
		return "no such secret"
	}
	return fmt.Sprintf("type %s, labels %v", s.Type, s.Labels)
}

func countOf(list []string, s string) int {
	n := 0
	for _, v := range list {
		if v == s {
			n++
		}
	}
	return n
}

// failedIn returns the namespaces the result reports as failed.
func failedIn(res *Result) map[string]bool {
	out := map[string]bool{}
	if res == nil {
		return out
	}
	for _, nr := range res.Namespaces {
		if nr.Err != nil {
			out[nr.Namespace] = true
		}
	}
	return out
}

// checkNamedFailures asserts the run failed exactly in want, said so in its
// error, and listed only the others in the namespaces output.
func checkNamedFailures(t *testing.T, r run, want map[string]bool) {
	t.Helper()
	if diff := cmp.Diff(sortedKeys(want), sortedKeys(failedIn(r.res))); diff != "" {
		t.Errorf("failed namespaces (-injected +reported):\n%s", diff)
	}
	if len(want) == 0 {
		if r.err != nil {
			t.Errorf("run failed with no permanent fault: %v", r.err)
		}
		return
	}
	if r.err == nil {
		t.Fatal("run succeeded although namespaces failed")
	}
	for ns := range want {
		if !strings.Contains(r.err.Error(), fmt.Sprintf("%q", ns)) {
			t.Errorf("run error does not name failed namespace %s", ns)
		}
	}
	out := outputList(t, r.outputs, "namespaces")
	if diff := cmp.Diff(r.res.Succeeded(), out); diff != "" {
		t.Errorf("namespaces output (-succeeded +output):\n%s", diff)
	}
	for _, ns := range out {
		if want[ns] {
			t.Errorf("namespaces output lists failed namespace %s", ns)
		}
	}
}

// outputList reads a JSON list output from a GITHUB_OUTPUT file (heredoc
// form: "name<<DELIM", value, "DELIM").
func outputList(t *testing.T, outputs, name string) []string {
	t.Helper()
	lines := strings.Split(outputs, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, name+"<<") && i+1 < len(lines) {
			var out []string
			if err := json.Unmarshal([]byte(lines[i+1]), &out); err != nil {
				t.Fatalf("output %s: %v", name, err)
			}
			return out
		}
	}
	t.Fatalf("no output %s in:\n%s", name, outputs)
	return nil
}
