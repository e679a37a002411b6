//go:build integration

package integration_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pullsecret/pullsecret/internal/cli"
	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/refresher"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

// `pullsecret status` through the real binary: after the action wrote the
// secret and installed a refresher, the JSON names the namespace, its
// writer (this GitHub run), its expiry and the ServiceAccount's
// reference, and the refresher with its coverage, identity and mode; the
// text says the same; nothing printed is secret; an unreachable cluster
// exits 4.
func TestBinaryStatus(t *testing.T) {
	cp, cs, stack, bin := binaryRig(t)
	ns := controlplanetest.Namespace(t, cp)
	refreshNS := "ps-status-" + randHex(4)
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), refreshNS, metav1.DeleteOptions{}) })
	const provider = "projects/123456/locations/global/workloadIdentityPools/k8s/providers/status"

	inputs, _ := stack.Inputs(fakestack.WIF, "")
	inputs[config.InNamespaces] = ns
	inputs[config.InKubeconfig] = cp.Kubeconfig()
	inputs[config.InRefresh] = "true"
	inputs[config.InRefreshImage] = "ghcr.io/pullsecret/pullsecret@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	inputs[config.InRefreshWorkloadIdentityProvider] = provider
	inputs[config.InRefreshNamespace] = refreshNS
	env := stack.GitHubEnv("")
	if r := runAsGitHub(t, bin, inputs, env); r.exitCode != 0 {
		t.Fatalf("action run: exit %d\n%s\n%s", r.exitCode, withoutMaskCommands(r.stdout), withoutMaskCommands(r.stderr))
	}
	secret, err := cs.CoreV1().Secrets(ns).Get(t.Context(), config.DefaultSecretName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}

	r := runCLI(t, cli.StatusCommand, "--kubeconfig", cp.Kubeconfig(), "--refresh-namespace", refreshNS, "--output", "json")
	if r.exitCode != 0 {
		t.Fatalf("status: exit %d\n%s", r.exitCode, r.stderr)
	}
	scanForSecrets(t, stack, r, secret.Data[corev1.DockerConfigJsonKey])
	var got map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("status --output json is not one JSON object: %v\n%s", err, r.stdout)
	}
	// The shared control plane holds other tests' secrets: keep ours; the
	// times vary, so they are checked apart.
	var ours []any
	for _, n := range got["namespaces"].([]any) {
		if n.(map[string]any)["namespace"] == ns {
			ours = append(ours, n)
		}
	}
	got["namespaces"] = ours
	if len(ours) == 1 {
		n := ours[0].(map[string]any)
		exp, err := time.Parse(time.RFC3339, n["expiresAt"].(string))
		if err != nil || exp.Format(time.RFC3339) != secret.Annotations["pullsecret.dev/expires-at"] || time.Until(exp) <= 0 {
			t.Errorf("expiresAt %q, the secret says %q", n["expiresAt"], secret.Annotations["pullsecret.dev/expires-at"])
		}
		n["expiresAt"] = "<time>"
	}
	name := refresher.ObjectName(fakestack.ImpersonatedSA, config.DefaultSecretName)
	refresherID := refreshNS + "/" + name
	want := map[string]any{
		"secretName": config.DefaultSecretName,
		"namespaces": []any{map[string]any{
			"namespace": ns, "expiresAt": "<time>", "expired": false,
			"writtenBy":       "ci:" + env["GITHUB_REPOSITORY"] + "#" + env["GITHUB_RUN_ID"],
			"serviceAccounts": []any{map[string]any{"name": "default", "exists": true, "references": true}},
			"refreshedBy":     []any{refresherID},
		}},
		"refreshers": []any{map[string]any{
			"namespace": refreshNS, "name": name, "mode": "cron", "schedule": "*/30 * * * *",
			"serviceAccount": fakestack.ImpersonatedSA, "provider": provider, "secretName": config.DefaultSecretName,
			"coverage": map[string]any{"namespaces": []any{ns}, "namespaceSelector": "",
				"excludeNamespaces": []any{"kube-system", "kube-public", "kube-node-lease"}, "serviceAccounts": []any{"default"}},
			// No refresher run yet.
			"lastSuccess": "", "expiresAt": "", "lastResult": "",
		}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("status --output json (-want +got):\n%s", diff)
	}

	text := runCLI(t, cli.StatusCommand, "--kubeconfig", cp.Kubeconfig(), "--refresh-namespace", refreshNS)
	scanForSecrets(t, stack, text, secret.Data[corev1.DockerConfigJsonKey])
	for _, want := range []string{
		"NAMESPACE ", "\n" + ns + " ", " ci:" + env["GITHUB_REPOSITORY"] + "#" + env["GITHUB_RUN_ID"] + " ",
		"\nRefreshers: 1\n", "\n" + refresherID + "\n", "  mode:          cron (*/30 * * * *)\n",
		"  identity:      " + fakestack.ImpersonatedSA + " via " + provider + ", secret \"" + config.DefaultSecretName + "\"\n",
		"  coverage:      namespaces " + ns + "; except kube-system, kube-public, kube-node-lease; ServiceAccounts default\n",
	} {
		if text.exitCode != 0 || !strings.Contains(text.stdout, want) {
			t.Errorf("status text (exit %d) lacks %q:\n%s%s", text.exitCode, want, text.stdout, text.stderr)
		}
	}

	down := runCLI(t, cli.StatusCommand, "--kubeconfig", kubeconfigWithServer(t, cp.Kubeconfig(), "https://127.0.0.1:1"))
	if down.exitCode != cli.ExitClusterUnreachable || down.stdout != "" || !strings.Contains(down.stderr, "error: pullsecret status cannot read the cluster at https://") {
		t.Errorf("unreachable cluster: exit %d (want %d), stdout %q, stderr %q", down.exitCode, cli.ExitClusterUnreachable, down.stdout, down.stderr)
	}
}
