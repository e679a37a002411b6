//go:build integration

package integration_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/registry"
	"github.com/pullsecret/pullsecret/internal/testing/actionbin"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
	"github.com/pullsecret/pullsecret/internal/testrig"
)

// testRigBinary is the binary built with the test-rig tag, as the e2e
// tier's image is: the control for the tests below, which prove a plain
// build ignores the switches that this build obeys.
func testRigBinary(t *testing.T) string {
	t.Helper()
	bin, err := actionbin.Build(testrig.Tag)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// Attack: PULLSECRET_TEST_ALLOW_HTTP_ENDPOINTS in a production step's
// environment lifted the https rule, so sts_endpoint (which receives the
// GitHub OIDC token) could be a plain-http URL anywhere. A plain build
// refuses the endpoint, naming the input.
func TestPlainBuildIgnoresAllowHTTPSwitch(t *testing.T) {
	_, _, stack, bin := binaryRig(t)
	inputs, err := stack.Inputs(fakestack.WIF, "")
	if err != nil {
		t.Fatal(err)
	}
	inputs[config.InNamespaces] = "default"
	inputs[config.InSTSEndpoint] = "http://sts.attacker.invalid/v1/token"
	env := stack.GitHubEnv("")
	env[config.EnvAllowHTTPEndpoints] = "true"
	r := runAsGitHub(t, bin, inputs, env)
	if r.exitCode != 2 || !strings.Contains(r.stdout+r.stderr, `input "`+config.InSTSEndpoint+`"`) {
		t.Errorf("plain build with %s=true and an http sts_endpoint: exit %d, want 2 naming %q\nstdout:\n%s\nstderr:\n%s",
			config.EnvAllowHTTPEndpoints, r.exitCode, config.InSTSEndpoint, withoutMaskCommands(r.stdout), withoutMaskCommands(r.stderr))
	}
}

// Attack: PULLSECRET_TEST_REGISTRY_MIRROR sent verify_image's requests, the
// token request carrying the minted credential as Basic auth, to any URL.
// A plain build never asks the mirror; the test-rig build, run the same
// way, does (so the plain build's silence is not an accident of the rig).
func TestPlainBuildIgnoresRegistryMirrorSwitch(t *testing.T) {
	cp, _, stack, bin := binaryRig(t)
	ns := controlplanetest.Namespace(t, cp)
	var asked atomic.Int64
	mirror := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		asked.Add(1)
		w.WriteHeader(http.StatusNotFound)
	}))
	t.Cleanup(mirror.Close)

	for _, tc := range []struct {
		name      string
		bin       string
		wantAsked bool
	}{
		{"plain build", bin, false},
		{"test-rig build", testRigBinary(t), true},
	} {
		asked.Store(0)
		inputs, err := stack.Inputs(fakestack.WIF, "")
		if err != nil {
			t.Fatal(err)
		}
		inputs[config.InNamespaces] = ns
		inputs[config.InKubeconfig] = cp.Kubeconfig()
		inputs[config.InVerifyImage] = "us-docker.pkg.dev/project/repo/app:v1"
		env := stack.GitHubEnv("")
		env[registry.EnvTestMirror] = mirror.URL
		// Without the mirror the check goes to the image's registry over
		// https: a closed proxy port makes that fail at once, offline.
		env["HTTPS_PROXY"] = "http://127.0.0.1:9"
		r := runAsGitHub(t, tc.bin, inputs, env)
		if got := asked.Load() > 0; got != tc.wantAsked {
			t.Errorf("%s with %s set: mirror asked = %v, want %v (exit %d)\nstderr:\n%s", tc.name, registry.EnvTestMirror, got, tc.wantAsked, r.exitCode, withoutMaskCommands(r.stderr))
		}
		if r.exitCode == 0 {
			t.Errorf("%s: the check of an unreachable image passed", tc.name)
		}
	}
}

// The switch never reaches the refresher: a plain build's CronJob carries
// no PULLSECRET_TEST_* variable even when the installing step had one.
func TestPlainBuildCronJobCarriesNoTestSwitch(t *testing.T) {
	cp, cs, stack, bin := binaryRig(t)
	ns := controlplanetest.Namespace(t, cp)
	refreshNS := "rf-switch-" + strings.TrimPrefix(ns, "test-")
	inputs, err := stack.Inputs(fakestack.WIF, "")
	if err != nil {
		t.Fatal(err)
	}
	inputs[config.InNamespaces] = ns
	inputs[config.InKubeconfig] = cp.Kubeconfig()
	inputs[config.InRefresh] = "true"
	inputs[config.InRefreshNamespace] = refreshNS
	inputs[config.InRefreshImage] = "registry.example/pullsecret@sha256:" + strings.Repeat("a", 64)
	env := stack.GitHubEnv("")
	env[config.EnvAllowHTTPEndpoints] = "true"
	env[registry.EnvTestMirror] = "http://mirror.invalid"
	// Cluster-scoped leftovers name this test's own namespace; the control
	// plane is the test run's.
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), refreshNS, metav1.DeleteOptions{}) })
	r := runAsGitHub(t, bin, inputs, env)
	if r.exitCode != 0 {
		t.Fatalf("install: exit %d\nstderr:\n%s", r.exitCode, withoutMaskCommands(r.stderr))
	}
	cjs, err := cs.BatchV1().CronJobs(refreshNS).List(t.Context(), metav1.ListOptions{})
	if err != nil || len(cjs.Items) == 0 {
		t.Fatalf("no CronJob in %s: %v", refreshNS, err)
	}
	for _, cj := range cjs.Items {
		for _, c := range cj.Spec.JobTemplate.Spec.Template.Spec.Containers {
			for _, e := range c.Env {
				if strings.HasPrefix(e.Name, "PULLSECRET_TEST_") {
					t.Errorf("CronJob %s container %s carries %s", cj.Name, c.Name, e.Name)
				}
			}
		}
	}
}
