//go:build integration

package controlplane_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/pullsecret/pullsecret/internal/testing/check"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
)

func TestMain(m *testing.M) { os.Exit(controlplanetest.Run(m)) }

func clientset(t *testing.T, cfg *rest.Config) *kubernetes.Clientset {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// eventually retries f until it succeeds; controllers and the RBAC authorizer's cache act
// asynchronously. Its bound is the test binary's deadline (controlplanetest.Context), not a budget:
// a busy machine slows a controller down, which is no failure of the control plane.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	ctx := controlplanetest.Context(t)
	for {
		err := f()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not before the test deadline: %v", what, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func TestAdminKubeconfigFileReachesRealAPIServer(t *testing.T) {
	cp := controlplanetest.Shared(t)
	cfg, err := clientcmd.BuildConfigFromFlags("", cp.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	v, err := clientset(t, cfg).Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	bins, err := controlplane.EnsureBinaries(t.Context(), controlplane.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v.GitVersion != bins.KubernetesVersion {
		t.Fatalf("server version %s, want %s (version ldflags not applied?)", v.GitVersion, bins.KubernetesVersion)
	}
}

func TestControllerCreatesDefaultServiceAccount(t *testing.T) {
	cp := controlplanetest.Shared(t)
	cs := clientset(t, cp.RESTConfig())
	ns := controlplanetest.BareNamespace(t, cp)
	eventually(t, "default ServiceAccount in "+ns, func() error {
		_, err := cs.CoreV1().ServiceAccounts(ns).Get(t.Context(), "default", metav1.GetOptions{})
		return err
	})
}

func TestRBACIsEnforcedForCertificateUsers(t *testing.T) {
	cp := controlplanetest.Shared(t)
	ctx := t.Context()
	admin := clientset(t, cp.RESTConfig())
	ns, other := controlplanetest.Namespace(t, cp), controlplanetest.Namespace(t, cp)

	path, err := cp.KubeconfigFor("alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	alice := clientset(t, cfg)

	if _, err := alice.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("unbound user listing secrets: want Forbidden, got %v", err)
	}

	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "secret-reader"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"list"}}},
	}
	if _, err := admin.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "alice-reads-secrets"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "alice"}},
	}
	if _, err := admin.RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "alice lists secrets after the RoleBinding", func() error {
		_, err := alice.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
		return err
	})

	// The grant is exactly what the Role says: no other verb, no other namespace.
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s"}}
	if _, err := alice.CoreV1().Secrets(ns).Create(ctx, secret, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("creating a secret with a list-only Role: want Forbidden, got %v", err)
	}
	if _, err := alice.CoreV1().Secrets(other).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("listing secrets in another namespace: want Forbidden, got %v", err)
	}
}

func TestRBACGroupsFromClientCertificate(t *testing.T) {
	cp := controlplanetest.Shared(t)
	ctx := t.Context()
	ns := controlplanetest.Namespace(t, cp)
	cfg, err := cp.RESTConfigFor("bob", []string{"pullsecret-viewers"})
	if err != nil {
		t.Fatal(err)
	}
	bob := clientset(t, cfg)
	if _, err := bob.CoreV1().ServiceAccounts(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("before binding: want Forbidden, got %v", err)
	}
	admin := clientset(t, cp.RESTConfig())
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "sa-reader"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: []string{"list"}}},
	}
	if _, err := admin.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "viewers"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "pullsecret-viewers"}},
	}
	if _, err := admin.RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "group member lists ServiceAccounts", func() error {
		_, err := bob.CoreV1().ServiceAccounts(ns).List(ctx, metav1.ListOptions{})
		return err
	})
}

func TestNamespaceDeletionIsFinalized(t *testing.T) {
	cp := controlplanetest.Shared(t)
	ctx := t.Context()
	cs := clientset(t, cp.RESTConfig())
	ns, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "doomed-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "content"}, StringData: map[string]string{"k": "v"}}
	if _, err := cs.CoreV1().Secrets(ns.Name).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cs.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "namespace "+ns.Name+" removed by the namespace controller", func() error {
		_, err := cs.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still present (err=%v)", err)
	})
}

// processesMentioning lists live processes whose command line contains s (our work directory
// appears in every component's flags).
func processesMentioning(t *testing.T, s string) []string {
	t.Helper()
	cmdlines, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, f := range cmdlines {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // exited meanwhile
		}
		if cmd := strings.ReplaceAll(string(b), "\x00", " "); strings.Contains(cmd, s) {
			found = append(found, filepath.Base(filepath.Dir(f))+": "+cmd)
		}
	}
	return found
}

func TestStopLeavesNothingBehind(t *testing.T) {
	shared := controlplanetest.Shared(t)
	// A second, private control plane alongside the shared one: also proves they do not collide.
	cp, err := controlplane.Start(t.Context(), controlplane.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cp.Stop() })
	if cp.Server() == shared.Server() {
		t.Fatal("two control planes share a server address")
	}
	work := cp.WorkDir()
	if procs := processesMentioning(t, work); len(procs) != 3 {
		t.Fatalf("want etcd, kube-apiserver and kube-controller-manager running, found %d:\n%s", len(procs), strings.Join(procs, "\n"))
	}

	start := time.Now()
	if err := cp.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("Stop took %s", time.Since(start).Round(time.Millisecond))
	if procs := processesMentioning(t, work); len(procs) != 0 {
		t.Fatalf("processes left after Stop:\n%s", strings.Join(procs, "\n"))
	}
	if _, err := os.Stat(work); !os.IsNotExist(err) {
		t.Fatalf("work dir %s not removed (stat: %v)", work, err)
	}
	select {
	case <-cp.Done():
	default:
		t.Fatal("Done not closed after Stop")
	}
	if cp.Err() != controlplane.ErrStopped {
		t.Fatalf("Err() = %v, want ErrStopped", cp.Err())
	}
	if err := cp.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if _, err := clientset(t, shared.RESTConfig()).Discovery().ServerVersion(); err != nil {
		t.Fatalf("stopping one control plane disturbed the other: %v", err)
	}
}

func TestStartFailureNamesComponentAndLogs(t *testing.T) {
	bins, err := controlplane.EnsureBinaries(t.Context(), controlplane.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bins.KubeAPIServer = "/bin/false" // exits at once, like an API server rejecting its flags
	// The exit is what Start must notice; the deadline only guards against a hang.
	ctx := controlplanetest.Context(t)
	var limit time.Duration // zero: Start's default
	if deadline, ok := ctx.Deadline(); ok {
		limit = time.Until(deadline)
	}
	_, err = controlplane.Start(ctx, controlplane.Options{Binaries: &bins, StartTimeout: limit})
	if err == nil {
		t.Fatal("Start succeeded with a broken kube-apiserver")
	}
	msg := err.Error()
	if d := check.ErrDiff(err, "kube-apiserver exited", "kube-apiserver.log", "logs: "); d != "" {
		t.Error(d)
	}
	// The logs the error points at are kept; the etcd it started is gone.
	logDir := strings.TrimSpace(strings.SplitN(strings.SplitN(msg, "logs: ", 2)[1], "\n", 2)[0])
	t.Cleanup(func() { os.RemoveAll(filepath.Dir(logDir)) })
	if _, err := os.Stat(filepath.Join(logDir, "etcd.log")); err != nil {
		t.Errorf("etcd log not kept: %v", err)
	}
	if procs := processesMentioning(t, filepath.Dir(logDir)); len(procs) != 0 {
		t.Fatalf("processes left after a failed start:\n%s", strings.Join(procs, "\n"))
	}
}

func TestGarbageCollectorFollowsOwnerReferences(t *testing.T) {
	cp := controlplanetest.Shared(t)
	ctx := t.Context()
	cs := clientset(t, cp.RESTConfig())
	ns := controlplanetest.Namespace(t, cp)
	owner, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "owner"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dependent := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{
		Name:            "dependent",
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID}},
	}}
	if _, err := cs.CoreV1().Secrets(ns).Create(ctx, dependent, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cs.CoreV1().ConfigMaps(ns).Delete(ctx, owner.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "dependent Secret collected after its owner's deletion", func() error {
		_, err := cs.CoreV1().Secrets(ns).Get(ctx, dependent.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("still present (err=%v)", err)
	})
}
