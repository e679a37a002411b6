//go:build integration

package runner

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/labels"
	"github.com/pullsecret/pullsecret/internal/refresher"
	"github.com/pullsecret/pullsecret/internal/testing/check"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

// TestStatus: secrets written by the product (a CI run, then the
// refresher's run, then a CI run in one namespace again) and an installed
// refresher, read back by ReadStatus: each secret's writer and expiry,
// which chosen ServiceAccounts reference it, the refresher covering it,
// and the refresher's coverage, identity, mode and last success.
func TestStatus(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	refreshNS := freshName("ps-status")
	provider, _ := trustCluster(t, cp, refreshNS)
	prefix := freshName("st")
	ciNS, refreshedNS := prefix+"-ci", prefix+"-refreshed"
	for _, ns := range []string{ciNS, refreshedNS} {
		if _, err := cs.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
		ensureDefaultSA(t, cs, ns)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), refreshNS, metav1.DeleteOptions{}) })
	// A ServiceAccount that exists but was never chosen by a run.
	createSA(t, cs, refreshedNS, "builder")

	inputs := withCreds(t, fakestack.WIF, map[string]string{
		config.InNamespaces: prefix + "-*", config.InRefresh: "true", config.InRefreshImage: refresherImage,
		config.InRefreshWorkloadIdentityProvider: provider, config.InRefreshNamespace: refreshNS,
	})
	if r := runWith(t, cp.Kubeconfig(), inputs); r.err != nil {
		t.Fatalf("install run: %v\n%s", r.err, r.log)
	}
	if log, err := refresherRun(t, cp, refreshNS, kubeletToken(t, cs, refreshNS, t.TempDir())); err != nil {
		t.Fatalf("refresher run: %v\n%s", err, log)
	}
	if r := runWith(t, cp.Kubeconfig(), withCreds(t, fakestack.WIF, map[string]string{config.InNamespaces: ciNS})); r.err != nil {
		t.Fatalf("CI run: %v\n%s", r.err, r.log)
	}

	var requests atomic.Int64
	st, err := ReadStatus(controlplanetest.Context(t), StatusInput{
		Kubeconfig: cp.Kubeconfig(), SecretName: config.DefaultSecretName,
		ServiceAccounts: []string{"default", "builder"}, RefreshNamespace: refreshNS,
	}, Deps{Getenv: check.Getenv(nil), WrapTransport: func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) { requests.Add(1); return rt.RoundTrip(r) })
	}})
	if err != nil {
		t.Fatal(err)
	}
	// Lists only, whatever the number of namespaces: the refreshers'
	// ConfigMaps, CronJobs and Deployments, the secrets, and one per
	// chosen ServiceAccount name.
	if got := requests.Load(); got != 6 {
		t.Errorf("status sent %d requests, want 6 lists", got)
	}
	// The shared control plane holds other tests' secrets: keep ours.
	var ours []SecretStatus
	for _, s := range st.Namespaces {
		if strings.HasPrefix(s.Namespace, prefix+"-") {
			ours = append(ours, s)
		}
	}
	env := fakes(t).GitHubEnv("")
	refresherID := refreshNS + "/" + pullerRefresher
	wantNS := []SecretStatus{
		{Namespace: ciNS, WrittenBy: "ci:" + env["GITHUB_REPOSITORY"] + "#" + env["GITHUB_RUN_ID"],
			ServiceAccounts: []ServiceAccountStatus{{Name: "builder", Missing: true}, {Name: "default", References: true}},
			CoveredBy:       []string{refresherID}},
		{Namespace: refreshedNS, WrittenBy: RefresherWriter(refreshNS, pullerRefresher),
			ServiceAccounts: []ServiceAccountStatus{{Name: "builder"}, {Name: "default", References: true}},
			CoveredBy:       []string{refresherID}},
	}
	ignoreTimes := cmpopts.IgnoreFields(SecretStatus{}, "ExpiresAt")
	if diff := cmp.Diff(wantNS, ours, ignoreTimes); diff != "" {
		t.Errorf("namespaces (-want +got):\n%s", diff)
	}
	for _, s := range ours {
		// Tokens the fakes mint live an hour by default.
		if d := time.Until(s.ExpiresAt); d <= 0 || d > time.Hour {
			t.Errorf("%s: expiry %s is not within the next hour", s.Namespace, s.ExpiresAt)
		}
		secret := getSecret(t, cs, s.Namespace, config.DefaultSecretName)
		if got := secret.Annotations[labels.ExpiresAt]; got != s.ExpiresAt.UTC().Format(time.RFC3339) {
			t.Errorf("%s: status expiry %s, secret says %s", s.Namespace, s.ExpiresAt, got)
		}
	}

	wantRefreshers := []RefresherStatus{{
		Namespace: refreshNS, Name: pullerRefresher, Mode: ModeCron,
		ServiceAccount: fakestack.ImpersonatedSA, Provider: provider, SecretName: config.DefaultSecretName,
		Coverage: refresher.Coverage{Namespaces: []string{prefix + "-*"}, Excludes: config.SplitList(config.DefaultExcludeNamespaces),
			ServiceAccounts: []string{"default"}},
	}}
	ignore := cmpopts.IgnoreFields(RefresherStatus{}, "Schedule", "LastSuccess", "ExpiresAt", "LastResult")
	if diff := cmp.Diff(wantRefreshers, st.Refreshers, ignore, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("refreshers (-want +got):\n%s", diff)
	}
	if len(st.Refreshers) == 1 {
		r := st.Refreshers[0]
		if r.Schedule == "" || r.LastSuccess.IsZero() || r.ExpiresAt.IsZero() || !strings.HasPrefix(r.LastResult, "refreshed 2 namespace(s)") {
			t.Errorf("refresher status: schedule %q, last success %s, expires %s, last result %q", r.Schedule, r.LastSuccess, r.ExpiresAt, r.LastResult)
		}
	}

	// Switched to watch mode by a later run: its Deployment is the mode.
	inputs[config.InRefreshMode] = config.RefreshWatch
	if r := runWith(t, cp.Kubeconfig(), inputs); r.err != nil {
		t.Fatalf("switch to watch mode: %v\n%s", r.err, r.log)
	}
	watching, err := ReadStatus(controlplanetest.Context(t), StatusInput{Kubeconfig: cp.Kubeconfig(), SecretName: config.DefaultSecretName,
		ServiceAccounts: []string{"default"}, RefreshNamespace: refreshNS}, Deps{Getenv: check.Getenv(nil)})
	if err != nil {
		t.Fatal(err)
	}
	wantRefreshers[0].Mode = ModeWatch
	if diff := cmp.Diff(wantRefreshers, watching.Refreshers, ignore, cmpopts.EquateEmpty()); diff != "" || len(watching.Refreshers) == 1 && watching.Refreshers[0].Schedule != "" {
		t.Errorf("refreshers in watch mode (-want +got):\n%s", diff)
	}

	// Nothing secret in what status read.
	text := fmt.Sprintf("%+v", st)
	for _, tok := range fakes(t).Google.Issued() {
		if strings.Contains(text, tok.Token) {
			t.Errorf("status holds a %s token", tok.Kind)
		}
	}
}

// TestStatusForbidden: an identity that may not list across namespaces
// gets an error of the forbidden kind naming what it could not read.
func TestStatusForbidden(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	kubeconfig, err := cp.KubeconfigFor("status-nobody", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ReadStatus(controlplanetest.Context(t), StatusInput{Kubeconfig: kubeconfig, SecretName: config.DefaultSecretName, ServiceAccounts: []string{"default"}},
		Deps{Getenv: check.Getenv(nil)})
	if err == nil || !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "pullsecret status cannot read the cluster") ||
		!strings.Contains(err.Error(), "pullsecret status needs to list, across namespaces") {
		t.Fatalf("err = %v, want a forbidden error saying what status needs to read", err)
	}
}
