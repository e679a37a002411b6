//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/testing/fakegoogle"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

// The scenarios run in order, sharing one cluster: each asserts on cluster
// state and on pod status, not only on the action's exit code.
func TestScenarios(t *testing.T) {
	t.Run("1 control: no pull secret, the pull is refused", controlNoSecret)
	t.Run("2 WIF with impersonation: pod pulls from Artifact Registry", wifPullsFromArtifactRegistry)
	t.Run("3 json_key: pod pulls from gcr.io", jsonKeyPullsFromGCR)
	t.Run("4 revoked token stops pulls until the action runs again", revokedTokenThenRefresh)
	t.Run("5 preview environment: create, pull, tear down", previewEnvironment)
	t.Run("6 several namespaces in one run", severalNamespaces)
	t.Run("7 direct federation: the federated principal pulls once granted reader", wifDirectFederation)
	t.Run("8 kubeconfigs where earlier steps leave them", kubeconfigLocations)
	t.Run("9 verify_image: an unreadable repository fails the step before anything is written", verifyImageBeforeWriting)
	t.Run("10 refresher: installed by the action, a Job from its CronJob rotates every secret keylessly, teardown removes it", refresherOnKind)
	t.Run("11 watching refresher: a new namespace is covered within seconds, a stuck pod recovered, the leader's loss survived", watchingRefresherOnKind)
	t.Run("12 nothing the container printed or wrote holds a secret", noSecretsInTranscripts)
}

func controlNoSecret(t *testing.T) {
	ns := newNamespace(t, "control")
	requireUnauthorized(t, startPod(t, ns, "default", arImage), "no secret")
}

func wifPullsFromArtifactRegistry(t *testing.T) {
	ns := newNamespace(t, "wif")
	r := mustRunAction(t, credentials(t, fakestack.WIF, map[string]string{config.InNamespaces: ns}))
	tok, ok := e.stack.Google.Lookup(tokenIn(t, payload(t, ns, config.DefaultSecretName), "*-docker.pkg.dev"))
	if !ok || tok.Kind != fakegoogle.KindImpersonated || tok.Email != fakestack.ImpersonatedSA {
		t.Fatalf("secret does not hold an impersonated token of %s (found %v, kind %s)", fakestack.ImpersonatedSA, ok, tok.Kind)
	}
	if diff := cmp.Diff([]string{config.DefaultSecretName}, pullSecrets(t, ns, "default")); diff != "" {
		t.Errorf("default SA (-want +got):\n%s", diff)
	}
	var written []string
	if err := json.Unmarshal([]byte(r.outputs["namespaces"]), &written); err != nil || !slices.Equal(written, []string{ns}) {
		t.Errorf("namespaces output %q", r.outputs["namespaces"])
	}
	if _, err := time.Parse(time.RFC3339, r.outputs["expires_at"]); err != nil {
		t.Errorf("expires_at output %q", r.outputs["expires_at"])
	}
	if !strings.Contains(r.stdout, "Loopback API server redirected") {
		t.Errorf("the action did not take the documented loopback route:\n%s", redactForLog(r.stdout))
	}
	requireRunning(t, startPod(t, ns, "default", arImage), "WIF secret, us-docker.pkg.dev")
	requireDenied(t, startPod(t, ns, "default", otherARImage), "WIF secret, another project's repository",
		fakestack.ImpersonatedSA, otherARRepository)
}

func jsonKeyPullsFromGCR(t *testing.T) {
	ns := newNamespace(t, "jsonkey")
	r := mustRunAction(t, credentials(t, fakestack.KeyJSON, map[string]string{config.InNamespaces: ns}))
	if got := tokenIn(t, payload(t, ns, config.DefaultSecretName), "gcr.io"); got != string(e.stack.Key) {
		t.Fatal("gcr.io entry does not hold the service-account key")
	}
	if !strings.Contains(r.stdout, "::warning::") {
		t.Error("json_key mode did not warn")
	}
	requireRunning(t, startPod(t, ns, "default", gcrImage), "json_key secret, gcr.io")
	requireDenied(t, startPod(t, ns, "default", otherGCRImage), "json_key secret, another project on gcr.io",
		fakestack.KeySA, "projects/other-proj/locations/us/repositories/gcr.io")
}

func revokedTokenThenRefresh(t *testing.T) {
	ns := newNamespace(t, "revoke")
	in := credentials(t, fakestack.KeyToken, map[string]string{config.InNamespaces: ns})
	mustRunAction(t, in)
	requireRunning(t, startPod(t, ns, "default", arImage), "fresh token")
	if !e.stack.Google.RevokeToken(tokenIn(t, payload(t, ns, config.DefaultSecretName), "*-docker.pkg.dev")) {
		t.Fatal("the fake did not know the token in the secret")
	}
	requireUnauthorized(t, startPod(t, ns, "default", arImage), "revoked token")
	mustRunAction(t, in)
	requireRunning(t, startPod(t, ns, "default", arImage), "refreshed token")
}

func previewEnvironment(t *testing.T) {
	ns := "preview-pr-" + randomSuffix()
	t.Cleanup(func() { deleteNamespace(ns) })
	mustRunAction(t, credentials(t, fakestack.WIF, map[string]string{config.InNamespaces: ns, config.InCreateNamespaces: "true"}))
	requireRunning(t, startPod(t, ns, "default", arImage), "preview namespace")

	// Another team's pull secret on the same ServiceAccount must survive teardown.
	ctx := context.Background()
	sa, err := e.client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sa.ImagePullSecrets = append([]corev1.LocalObjectReference{{Name: "team-registry"}}, sa.ImagePullSecrets...)
	if _, err := e.client.CoreV1().ServiceAccounts(ns).Update(ctx, sa, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	mustRunAction(t, map[string]string{config.InNamespaces: ns, config.InMode: "delete"})
	if _, err := e.client.CoreV1().Secrets(ns).Get(ctx, config.DefaultSecretName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("secret still there after delete (err %v)", err)
	}
	if diff := cmp.Diff([]string{"team-registry"}, pullSecrets(t, ns, "default")); diff != "" {
		t.Errorf("after teardown (-want +got):\n%s", diff)
	}
}

func severalNamespaces(t *testing.T) {
	a, b := newNamespace(t, "multi-a"), newNamespace(t, "multi-b")
	createSA(t, a, "builder")
	createSA(t, b, "builder", "other-team", "legacy")
	r := mustRunAction(t, credentials(t, fakestack.WIF, map[string]string{
		config.InNamespaces: a + "\n" + b, config.InServiceAccounts: "default,builder",
	}))
	var written []string
	if err := json.Unmarshal([]byte(r.outputs["namespaces"]), &written); err != nil {
		t.Fatalf("namespaces output %q is not a JSON list: %v", r.outputs["namespaces"], err)
	}
	if diff := cmp.Diff([]string{a, b}, written, cmpopts.SortSlices(func(x, y string) bool { return x < y })); diff != "" {
		t.Errorf("namespaces output (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"other-team", "legacy", config.DefaultSecretName}, pullSecrets(t, b, "builder")); diff != "" {
		t.Errorf("builder in %s (-want +got):\n%s", b, diff)
	}
	if tokenIn(t, payload(t, a, config.DefaultSecretName), "gcr.io") != tokenIn(t, payload(t, b, config.DefaultSecretName), "gcr.io") {
		t.Error("two namespaces got different tokens: more than one mint per run")
	}
	for _, ns := range []string{a, b} {
		requireRunning(t, startPod(t, ns, "builder", arImage), ns+" builder")
		requireRunning(t, startPod(t, ns, "default", gcrImage), ns+" default")
	}
}

// Direct federation (no service_account): the secret holds the STS token
// itself, which acts as the federated principal. The service accounts'
// grants do not extend to it: the pull is refused until the repository's
// identities (principalSet … attribute.repository/octo-org/octo-repo) are
// granted roles/artifactregistry.reader on the project, as Google's guide
// for direct resource access has it.
func wifDirectFederation(t *testing.T) {
	ns := newNamespace(t, "wif-direct")
	mustRunAction(t, credentials(t, fakestack.WIFDirect, map[string]string{config.InNamespaces: ns}))
	p := payload(t, ns, config.DefaultSecretName)
	tok, ok := e.stack.Google.Lookup(tokenIn(t, p, "*-docker.pkg.dev"))
	if !ok || tok.Kind != fakegoogle.KindFederated || tok.Email != "" {
		t.Fatalf("secret does not hold a federated STS token (found %v, kind %s)", ok, tok.Kind)
	}
	if got := tokenIn(t, p, "gcr.io"); got != tok.Token {
		t.Error("gcr.io entry holds another token than *-docker.pkg.dev")
	}
	federated := "oauth2accesstoken(principal://iam.googleapis.com/projects/123456/locations/global/workloadIdentityPools/gh/subject/"
	requireDenied(t, startPod(t, ns, "default", arImage), "direct federation, no grant for the federated principal",
		federated, "projects/e2e-proj/locations/us/repositories/private")

	member := fakegoogle.AttributePrincipalSet(fakestack.Provider, "repository", fakestack.Repository)
	if err := e.stack.Google.GrantRole(fakegoogle.ProjectResource(fakestack.Project), fakegoogle.RoleArtifactRegistryReader, member); err != nil {
		t.Fatal(err)
	}
	requireRunning(t, startPod(t, ns, "default", arImage), "direct federation, principalSet granted reader")
	requireRunning(t, startPod(t, ns, "default", gcrImage), "direct federation, gcr.io")
	requireDenied(t, startPod(t, ns, "default", otherARImage), "direct federation, another project's repository",
		federated, otherARRepository)
}

// verify_image against the fake registry, which authorises per repository
// as Artifact Registry does: the impersonated account may read e2e-proj's
// repositories, not other-proj's. The check goes, as containerd's pull
// does, to the registry mirror with ?ns=HOST.
func verifyImageBeforeWriting(t *testing.T) {
	ns := newNamespace(t, "verify")
	r := runAction(t, credentials(t, fakestack.WIF, map[string]string{
		config.InNamespaces: ns, config.InVerifyImage: arImage + "\n" + otherARImage,
	}))
	if r.exitCode == 0 {
		t.Fatalf("verify_image of an unreadable repository passed:\n%s", redactForLog(r.stdout))
	}
	out := redactForLog(r.stdout) + r.stderr
	for _, want := range []string{
		`input "verify_image"`, otherARImage + ": access denied (403 Forbidden): " + fakestack.ImpersonatedSA + " lacks roles/artifactregistry.reader on repository " + otherARRepository,
		`Permission "artifactregistry.repositories.downloadArtifacts" denied on resource "` + otherARRepository + `"`,
		"nothing was written",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the failed step does not say %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "verify_image\": "+arImage) {
		t.Errorf("the readable image was reported as failing:\n%s", out)
	}
	if _, err := e.client.CoreV1().Secrets(ns).Get(context.Background(), config.DefaultSecretName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a secret was written although verify_image failed (err %v)", err)
	}
	if got := pullSecrets(t, ns, "default"); len(got) != 0 {
		t.Errorf("default ServiceAccount changed although verify_image failed: %v", got)
	}
	for _, want := range []string{"| `" + arImage + "` | ✅ ok |", "| `" + otherARImage + "` | ❌ failed"} {
		if !strings.Contains(r.summary, want) {
			t.Errorf("step summary lacks %q:\n%s", want, r.summary)
		}
	}

	r = mustRunAction(t, credentials(t, fakestack.WIF, map[string]string{
		config.InNamespaces: ns, config.InVerifyImage: arImage + "," + gcrImage,
	}))
	for _, img := range []string{arImage, gcrImage} {
		if !strings.Contains(r.summary, "| `"+img+"` | ✅ ok |") {
			t.Errorf("step summary lacks the passed check of %s:\n%s", img, r.summary)
		}
	}
	requireRunning(t, startPod(t, ns, "default", arImage), "after verify_image passed")
}

// Scenario 12: every line printed (except the ::add-mask:: commands, which
// GitHub's runner consumes — they ARE the masking), every output and every
// summary of every run above, searched for every token the fake Google
// issued, the key and its lines, each secret payload, its base64 and its
// auth fields.
func noSecretsInTranscripts(t *testing.T) {
	if len(transcripts) < 6 {
		t.Fatalf("only %d action runs recorded; the scenarios above must run first", len(transcripts))
	}
	secrets := secretValues(t, payloads)
	if len(secrets) < 10 {
		t.Fatalf("only %d secret values to look for", len(secrets))
	}
	hits := 0
	for i, r := range transcripts {
		var b strings.Builder
		b.WriteString(redactForLog(r.stdout))
		b.WriteString(redactForLog(r.stderr))
		b.WriteString(r.summary)
		for k, v := range r.outputs {
			b.WriteString(k + "=" + v + "\n")
		}
		text := b.String()
		for _, s := range secrets {
			if strings.Contains(text, s) {
				hits++
				t.Errorf("run %d leaked a secret value (%d bytes)", i, len(s))
			}
		}
	}
	t.Logf("scanned %d runs for %d secret values: %d hits", len(transcripts), len(secrets), hits)
}

// kubeconfigLocations runs the action with the kubeconfig where the steps
// users already run put it, with the mounts the runner makes: the workspace
// (get-gke-credentials, kind written there: every other scenario), inline
// from a secret, under $RUNNER_TEMP (azure/k8s-set-context) on newer and
// older runners, and the runner's own ~/.kube/config (helm/kind-action).
func kubeconfigLocations(t *testing.T) {
	kc, err := os.ReadFile(e.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("inline from a secret", func(t *testing.T) {
		ns := newNamespace(t, "kc-inline")
		mustRunAction(t, credentials(t, fakestack.KeyToken, map[string]string{config.InNamespaces: ns, config.InKubeconfig: string(kc)}))
		payload(t, ns, config.DefaultSecretName)
	})
	t.Run("RUNNER_TEMP mounted by a newer runner", func(t *testing.T) {
		ns := newNamespace(t, "kc-temp")
		// Only the translated path exists in the container: success is the proof.
		mustRunAction(t, credentials(t, fakestack.KeyToken, map[string]string{config.InNamespaces: ns}), kubeconfigInRunnerTemp(true))
		payload(t, ns, config.DefaultSecretName)
	})
	notVisible := []struct {
		name string
		opt  runnerOption
		why  string
	}{
		{"RUNNER_TEMP on an older runner", kubeconfigInRunnerTemp(false), "it is under $RUNNER_TEMP, which this runner does not mount"},
		{"the runner's ~/.kube/config", kubeconfigInRunnerHome, "in the runner's home directory"},
	}
	for _, tc := range notVisible {
		t.Run(tc.name+" fails first, saying why", func(t *testing.T) {
			issued := len(e.stack.Google.Issued())
			r := runAction(t, credentials(t, fakestack.KeyToken, map[string]string{config.InNamespaces: "default"}), tc.opt)
			if r.exitCode == 0 {
				t.Fatal("the action succeeded without a visible kubeconfig")
			}
			for _, want := range []string{"::error", "not visible inside this docker action's container", tc.why, "Ways out"} {
				if !strings.Contains(r.stdout+r.stderr, want) {
					t.Errorf("output lacks %q:\n%s\n%s", want, redactForLog(r.stdout), redactForLog(r.stderr))
				}
			}
			if n := len(e.stack.Google.Issued()); n != issued {
				t.Errorf("%d Google token(s) minted before failing; the check must come first", n-issued)
			}
		})
	}
}
