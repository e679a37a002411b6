//go:build integration

package integration_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/testing/fakegoogle"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

// Keyless from another CI: the binary run as a CI runs a script (no
// GITHUB_* or ACTIONS_* variables) federates with the CI's OIDC token from
// a file or an environment variable; the secret holds the impersonated
// token and the CI's token appears in no output.
func TestBinaryCIOIDCToken(t *testing.T) {
	cp, cs, stack, bin := binaryRig(t)
	ciToken, err := stack.GitHub.Mint("https://iam.googleapis.com/" + fakestack.Provider)
	if err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(t.TempDir(), "oidc-token")
	if err := os.WriteFile(tokenFile, []byte(ciToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		env  []string
	}{
		{"file", []string{"--oidc-token-file", tokenFile}, nil},
		{"env", []string{"--oidc-token-env", "CI_OIDC_TOKEN"}, []string{"CI_OIDC_TOKEN=" + ciToken}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := "citoken-" + tc.name + "-" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
			t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
			args := append([]string{"--workload-identity-provider", fakestack.Provider, "--service-account", fakestack.ImpersonatedSA,
				"--kubeconfig", cp.Kubeconfig(), "--namespaces", ns, "--create-namespaces"}, tc.args...)
			for name, v := range stack.EndpointInputs("") {
				args = append(args, "--"+config.Input{Name: name}.Flag(), v)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, args...)
			cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, tc.env...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if strings.Contains(string(out), ciToken) {
				t.Error("the CI's OIDC token reached the output")
			}
			s, err := cs.CoreV1().Secrets(ns).Get(t.Context(), config.DefaultSecretName, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var dc struct {
				Auths map[string]struct{ Password string } `json:"auths"`
			}
			if err := json.Unmarshal(s.Data[corev1.DockerConfigJsonKey], &dc); err != nil {
				t.Fatal(err)
			}
			info, ok := stack.Google.Lookup(dc.Auths["*-docker.pkg.dev"].Password)
			if !ok || info.Kind != fakegoogle.KindImpersonated || info.Email != fakestack.ImpersonatedSA {
				t.Errorf("secret holds kind %q of %q, want an impersonated token of %s", info.Kind, info.Email, fakestack.ImpersonatedSA)
			}
		})
	}
}
