// Package controlplanetest gives tests a real control plane (see package controlplane).
//
// Integration tests carry the build tag `integration`, so a plain `go test ./...` stays hermetic.
// A package shares one control plane between its tests:
//
//	func TestMain(m *testing.M) { os.Exit(controlplanetest.Run(m)) }
//
//	func TestSomething(t *testing.T) {
//		cp := controlplanetest.Shared(t)
//		ns := controlplanetest.Namespace(t, cp)
//		...
//	}
//
// If the control plane cannot be built or started the package FAILS (it never skips): the tests
// exist to prove behaviour against a real API server, and a silent skip would prove nothing.
package controlplanetest

import (
	"context"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pullsecret/pullsecret/internal/testing/controlplane"
)

// KeepEnv, set to any non-empty value, keeps control-plane work directories (certificates, etcd
// data, logs) after the tests, and prints where they are.
const KeepEnv = "PULLSECRET_KEEP_CONTROLPLANE"

var shared *controlplane.ControlPlane

// Run starts the package's shared control plane, runs the tests and stops it, returning the exit
// code for os.Exit. A start failure is reported on stderr and fails the package. Time spent
// building binaries here is outside `go test -timeout` but inside go test's own kill timer
// (timeout + 1 minute), so build them first (`go run ./internal/testing/controlplane/cmd/controlplane
// build`) or raise -timeout when the cache is cold.
func Run(m *testing.M) int {
	start := time.Now()
	opts := options()
	// The start waits for events (etcd healthy, /readyz, the first ServiceAccount); its hang guard
	// is the binary's -timeout, not a budget a busy machine could overrun.
	flag.Parse()
	if f := flag.Lookup("test.timeout"); f != nil {
		if d, ok := f.Value.(flag.Getter).Get().(time.Duration); ok && d > 0 {
			opts.StartTimeout = d
		}
	}
	cp, err := controlplane.Start(context.Background(), opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: controlplanetest: no control plane for the integration tests:\n%v\n", err)
		return 1
	}
	shared = cp
	fmt.Fprintf(os.Stderr, "controlplanetest: control plane %s ready in %s\n", cp.Server(), time.Since(start).Round(time.Millisecond))
	code := m.Run()
	if code != 0 && os.Getenv(KeepEnv) == "" {
		saveLogs(cp)
	}
	if err := cp.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: controlplanetest: stopping the control plane: %v\n", err)
		code = max(code, 1)
	}
	return code
}

// Shared returns the control plane Run started. It fails the test if Run was not used from
// TestMain or if a component has died since (rather than letting the test time out on
// "connection refused").
func Shared(t testing.TB) *controlplane.ControlPlane {
	t.Helper()
	if shared == nil {
		t.Fatal("controlplanetest.Shared: no shared control plane; add func TestMain(m *testing.M) { os.Exit(controlplanetest.Run(m)) }")
	}
	if err := shared.Err(); err != nil {
		t.Fatalf("shared control plane is down: %v", err)
	}
	return shared
}

// Start gives the test its own control plane, stopped when the test ends (pass or fail). Prefer
// Shared: each control plane costs a few seconds and ~300 MB.
func Start(t testing.TB) *controlplane.ControlPlane {
	t.Helper()
	opts := options()
	ctx := Context(t)
	if deadline, ok := ctx.Deadline(); ok {
		opts.StartTimeout = time.Until(deadline) // bounded by the binary's deadline, not a budget
	}
	cp, err := controlplane.Start(ctx, opts)
	if err != nil {
		t.Fatalf("starting a control plane: %v", err)
	}
	t.Cleanup(func() {
		if err := cp.Stop(); err != nil {
			t.Errorf("stopping the control plane: %v", err)
		}
	})
	return cp
}

func options() controlplane.Options {
	keep := os.Getenv(KeepEnv) != ""
	return controlplane.Options{KeepWorkDir: keep}
}

// saveLogs copies the component logs somewhere that survives Stop, so a failed run can be diagnosed.
func saveLogs(cp *controlplane.ControlPlane) {
	dir, err := os.MkdirTemp("", "pullsecret-controlplane-logs-")
	if err == nil {
		err = os.CopyFS(dir, os.DirFS(cp.LogDir()))
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "controlplanetest: could not save component logs: %v\n", err)
		return
	}
	fmt.Fprintf(os.Stderr, "controlplanetest: tests failed; component logs saved in %s\n", dir)
}

var notDNSLabel = regexp.MustCompile(`[^a-z0-9-]+`)

// Namespace creates a namespace for the test (named after it) with its `default` ServiceAccount,
// and deletes it at cleanup, so tests sharing a control plane do not see each other's objects.
func Namespace(t testing.TB, cp *controlplane.ControlPlane) string {
	t.Helper()
	ns := BareNamespace(t, cp)
	DefaultServiceAccount(t, clientset(t, cp), ns)
	return ns
}

// BareNamespace is Namespace without the `default` ServiceAccount, for tests about the controller
// that adds it.
func BareNamespace(t testing.TB, cp *controlplane.ControlPlane) string {
	t.Helper()
	cs := clientset(t, cp)
	prefix := strings.Trim(notDNSLabel.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(prefix) > 40 {
		prefix = strings.TrimRight(prefix[:40], "-")
	}
	ns, err := cs.CoreV1().Namespaces().Create(Context(t),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating a namespace for %s: %v", t.Name(), err)
	}
	t.Cleanup(func() {
		// Deletion completes asynchronously (the namespace controller empties it); no need to wait.
		if err := cs.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{}); err != nil && cp.Err() == nil {
			t.Errorf("deleting namespace %s: %v", ns.Name, err)
		}
	})
	return ns.Name
}

// DefaultServiceAccount gives namespace ns the `default` ServiceAccount every namespace of a real
// cluster has: a test that ran before it appeared would see a namespace no real cluster hands out
// (and `service_accounts: "*"` would miss it). It creates the object exactly as
// kube-controller-manager's serviceaccount controller does (a bare name) rather than waiting for
// that controller: on a busy machine its single worker can lag minutes behind the hundreds of
// namespaces other tests create, and how busy the machine is must not decide a test. The
// controller finds it present and leaves it alone; if the controller was first, that is the same
// object.
func DefaultServiceAccount(t testing.TB, cs kubernetes.Interface, ns string) {
	t.Helper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(Context(t), sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("namespace %s: creating the default ServiceAccount: %v", ns, err)
	}
}

func clientset(t testing.TB, cp *controlplane.ControlPlane) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cp.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	return cs
}
