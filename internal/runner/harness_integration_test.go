//go:build integration

package runner

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	githubactions "github.com/sethvargo/go-githubactions"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pullsecret/pullsecret/internal/actions"
	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/httplog"
	"github.com/pullsecret/pullsecret/internal/kube"
	"github.com/pullsecret/pullsecret/internal/testing/actionbin"
	"github.com/pullsecret/pullsecret/internal/testing/check"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

func TestMain(m *testing.M) {
	code := controlplanetest.Run(m)
	actionbin.Cleanup()
	os.Exit(code)
}

var (
	stackOnce sync.Once
	stack     *fakestack.Stack
	stackErr  error
)

// fakes returns the package's shared Google/GitHub fakes.
func fakes(t testing.TB) *fakestack.Stack {
	t.Helper()
	stackOnce.Do(func() { stack, stackErr = fakestack.Start("") })
	if stackErr != nil {
		t.Fatalf("fakes: %v", stackErr)
	}
	return stack
}

// run is one pullsecret run as GitHub would do it, in-process: inputs,
// GitHub env, outputs file and step summary.
type run struct {
	res     *Result
	err     error
	log     string
	outputs string
	summary string
}

func runWith(t testing.TB, kubeconfig string, inputs map[string]string) run {
	t.Helper()
	return runCtx(controlplanetest.Context(t), t, kubeconfig, inputs, Deps{})
}

// runCtx is runWith under the caller's context and with Deps fields the
// test sets (the process-level ones are filled in here).
func runCtx(ctx context.Context, t testing.TB, kubeconfig string, inputs map[string]string, d Deps) run {
	t.Helper()
	s := fakes(t)
	dir := t.TempDir()
	env := s.GitHubEnv("")
	env["GITHUB_OUTPUT"] = filepath.Join(dir, "output")
	env["GITHUB_STEP_SUMMARY"] = filepath.Join(dir, "summary")
	getenv := check.Getenv(env)

	all := map[string]string{config.InKubeconfig: kubeconfig}
	for k, v := range inputs {
		all[k] = v
	}
	cfg, err := config.Load(check.Lookup(all))
	if err != nil {
		return run{err: err}
	}
	var out bytes.Buffer
	rep := actions.New(getenv, &out, &out)
	d.Reporter, d.Getenv = rep, getenv
	d.IDToken = githubactions.New(githubactions.WithGetenv(getenv))
	d.InContainer = func() bool { return false }
	d.Version = "test"
	// Every run logs its requests as --debug does, so assertNoSecrets
	// covers debug output too; a test's own wrapper goes around it.
	logged := httplog.Wrap(rep.Debugf)
	if wrap := d.WrapTransport; wrap != nil {
		d.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return wrap(logged(rt)) }
	} else {
		d.WrapTransport = logged
	}
	res, err := Run(ctx, cfg, d)
	o, _ := os.ReadFile(env["GITHUB_OUTPUT"])
	sm, _ := os.ReadFile(env["GITHUB_STEP_SUMMARY"])
	r := run{res: res, err: err, log: out.String(), outputs: string(o), summary: string(sm)}
	assertNoSecrets(t, r)
	if err == nil && d.WrapTransport != nil && !strings.Contains(r.log, "HTTP ") {
		t.Error("no request was logged: the secret scan did not see debug output")
	}
	r.log = withoutMaskCommands(r.log)
	return r
}

// withoutMaskCommands hides the values of ::add-mask:: commands: they are
// the secrets themselves, and r.log is printed when a test fails.
func withoutMaskCommands(log string) string {
	lines := strings.Split(log, "\n")
	for i, line := range lines {
		if strings.HasPrefix(line, "::add-mask::") {
			lines[i] = "::add-mask::***"
		}
	}
	return strings.Join(lines, "\n")
}

// assertNoSecrets fails if any credential the fakes issued, or the key,
// appears in what a run printed or wrote (mask commands excepted: GitHub
// consumes them and they are the masking itself).
func assertNoSecrets(t testing.TB, r run) {
	t.Helper()
	var printed []string
	for _, line := range strings.Split(r.log, "\n") {
		if !strings.HasPrefix(line, "::add-mask::") {
			printed = append(printed, line)
		}
	}
	text := strings.Join(printed, "\n") + r.outputs + r.summary
	if r.err != nil {
		text += r.err.Error()
	}
	for _, tok := range fakes(t).Google.Issued() {
		if strings.Contains(text, tok.Token) {
			t.Errorf("access token (%s) leaked into output", tok.Kind)
		}
	}
	for _, line := range strings.Split(string(fakes(t).Key), "\\n") {
		if len(line) > 20 && strings.Contains(text, line) {
			t.Errorf("key material leaked into output")
		}
	}
}

func clientFor(t testing.TB, cp *controlplane.ControlPlane) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cp.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// kubeClientFor is pullsecret's own client for cp, for tests that call
// kube functions directly.
func kubeClientFor(t testing.TB, cp *controlplane.ControlPlane) *kube.Client {
	t.Helper()
	c, err := kube.NewClient(cp.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// freshName is a namespace name nobody has used.
func freshName(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

func getSA(t *testing.T, cs kubernetes.Interface, ns, name string) *corev1.ServiceAccount {
	t.Helper()
	sa, err := cs.CoreV1().ServiceAccounts(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get ServiceAccount %s/%s: %v", ns, name, err)
	}
	return sa
}

func pullSecretNames(sa *corev1.ServiceAccount) []string {
	var out []string
	for _, r := range sa.ImagePullSecrets {
		out = append(out, r.Name)
	}
	return out
}

func getSecret(t *testing.T, cs kubernetes.Interface, ns, name string) *corev1.Secret {
	t.Helper()
	s, err := cs.CoreV1().Secrets(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get Secret %s/%s: %v", ns, name, err)
	}
	return s
}

func secretAbsent(t *testing.T, cs kubernetes.Interface, ns, name string) bool {
	t.Helper()
	_, err := cs.CoreV1().Secrets(ns).Get(t.Context(), name, metav1.GetOptions{})
	return apierrors.IsNotFound(err)
}

func withCreds(t testing.TB, c fakestack.Credential, extra map[string]string) map[string]string {
	t.Helper()
	in, err := fakes(t).Inputs(c, "")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range extra {
		in[k] = v
	}
	return in
}

func createSA(t *testing.T, cs kubernetes.Interface, ns, name string, pullSecrets ...string) {
	t.Helper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	for _, p := range pullSecrets {
		sa.ImagePullSecrets = append(sa.ImagePullSecrets, corev1.LocalObjectReference{Name: p})
	}
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(t.Context(), sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// ensureDefaultSA gives a namespace the test created its default
// ServiceAccount without waiting for the controller (see
// controlplanetest.DefaultServiceAccount).
func ensureDefaultSA(t testing.TB, cs kubernetes.Interface, ns string) {
	t.Helper()
	controlplanetest.DefaultServiceAccount(t, cs, ns)
}

// controllerWait is the wait_timeout for runs that wait on
// kube-controller-manager (create_namespaces): the longest the input
// accepts, or the time left before the test's deadline if shorter, so a
// controller slowed by a busy machine delays the test instead of failing it.
func controllerWait(t *testing.T) string {
	d := 10 * time.Minute
	if deadline, ok := controlplanetest.Context(t).Deadline(); ok {
		d = min(d, time.Until(deadline))
	}
	return max(d, time.Second).Truncate(time.Second).String()
}

func foreignSecret(name string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name}, Type: corev1.SecretTypeOpaque}
}

func metav1CreateOptions() metav1.CreateOptions { return metav1.CreateOptions{} }
