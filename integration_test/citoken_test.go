//go:build integration

package integration_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/refresher"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
	"github.com/pullsecret/pullsecret/internal/testing/fakeci"
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
			ctx := controlplanetest.Context(t) // a hang guard, not a time budget
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

// Keyless from GitLab, CircleCI and Buildkite: each CI's token shape
// (fakeci) against the provider `--print-wif-setup --ci` prints, given to
// the fake STS with the very mapping and condition text. The binary runs as
// that CI runs a script (no GITHUB_* variables): token from a file or an
// environment variable, impersonation or direct federation; an expired
// token, a wrong audience and another project's token fail with nothing
// written; no token byte reaches any output.
func TestBinaryCIOIDCTokenPerCI(t *testing.T) {
	cp, cs, stack, bin := binaryRig(t)
	for _, shape := range fakeci.Shapes {
		t.Run(string(shape), func(t *testing.T) {
			iss, err := fakeci.New(fakeci.Config{Shape: shape})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(iss.Handler())
			t.Cleanup(srv.Close)
			provider := "projects/123456/locations/global/workloadIdentityPools/" + string(shape) + "/providers/" + string(shape)
			ci, err := refresher.NewCI(string(shape), fakeci.DefaultProject(shape), "", provider)
			if err != nil {
				t.Fatal(err)
			}
			p, err := iss.Provider(provider, srv.URL+iss.JWKSPath(), ci.Audience, ci.Mapping, ci.Condition)
			if err != nil {
				t.Fatal(err)
			}
			set := fakegoogle.AttributePrincipalSet(provider, ci.ProjectAttribute, ci.ProjectValue)
			if err := stack.Google.AddProvider(p); err != nil {
				t.Fatal(err)
			}
			if err := stack.Google.Grant(fakestack.ImpersonatedSA, set); err != nil {
				t.Fatal(err)
			}
			if err := stack.Google.GrantRole(fakegoogle.ProjectResource(fakestack.Project), fakegoogle.RoleArtifactRegistryReader, set); err != nil {
				t.Fatal(err)
			}
			sign := func(edit func(map[string]any)) string {
				c := iss.ClaimSet(ci.Audience)
				if edit != nil {
					edit(c)
				}
				tok, err := iss.Sign(c)
				if err != nil {
					t.Fatal(err)
				}
				return tok
			}
			good := sign(nil)
			expired := sign(func(c map[string]any) {
				c["iat"], c["nbf"], c["exp"] = time.Now().Add(-2*time.Hour).Unix(), time.Now().Add(-2*time.Hour).Unix(), time.Now().Add(-time.Hour).Unix()
			})
			wrongAud := sign(func(c map[string]any) { c["aud"] = "https://example.com/not-google" })
			otherProject := sign(func(c map[string]any) { c[ciProjectClaim[shape]] = "someone-else" })
			hints := map[fakeci.Shape]string{fakeci.GitLab: "id_tokens:", fakeci.CircleCI: "CIRCLE_OIDC_TOKEN_V2", fakeci.Buildkite: "buildkite-agent oidc request-token"}
			hint := hints[shape]
			for _, tc := range []struct {
				name, token, sa, via string
				wantKind             fakegoogle.TokenKind
				wantErr              string
			}{
				{"file-impersonated", good, fakestack.ImpersonatedSA, "file", fakegoogle.KindImpersonated, ""},
				{"env-impersonated", good, fakestack.ImpersonatedSA, "env", fakegoogle.KindImpersonated, ""},
				{"file-direct", good, "", "file", fakegoogle.KindFederated, ""},
				{"env-direct", good, "", "env", fakegoogle.KindFederated, ""},
				{"expired", expired, fakestack.ImpersonatedSA, "env", "", hint},
				{"wrong-audience", wrongAud, fakestack.ImpersonatedSA, "file", "", "audience"},
				{"other-project", otherProject, fakestack.ImpersonatedSA, "env", "", "attribute condition"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					ns := string(shape) + "-" + tc.name + "-" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
					t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
					args := []string{"--workload-identity-provider", provider, "--kubeconfig", cp.Kubeconfig(), "--namespaces", ns, "--create-namespaces"}
					if tc.sa != "" {
						args = append(args, "--service-account", tc.sa)
					}
					for name, v := range stack.EndpointInputs("") {
						args = append(args, "--"+config.Input{Name: name}.Flag(), v)
					}
					env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
					if tc.via == "file" {
						f := filepath.Join(t.TempDir(), "oidc-token")
						if err := os.WriteFile(f, []byte(tc.token), 0o600); err != nil {
							t.Fatal(err)
						}
						args = append(args, "--oidc-token-file", f)
					} else {
						args = append(args, "--oidc-token-env", "CI_JOB_OIDC")
						env = append(env, "CI_JOB_OIDC="+tc.token)
					}
					ctx := controlplanetest.Context(t) // a hang guard, not a time budget
					cmd := exec.CommandContext(ctx, bin, args...)
					cmd.Env = env
					out, err := cmd.CombinedOutput()
					for _, part := range strings.Split(tc.token, ".") {
						if strings.Contains(string(out), part) {
							t.Fatalf("a part of the CI's token reached the output:\n%s", out)
						}
					}
					if tc.wantErr != "" {
						if err == nil || !strings.Contains(string(out), tc.wantErr) {
							t.Fatalf("err %v, want a failure mentioning %q:\n%s", err, tc.wantErr, out)
						}
						for other, h := range hints {
							if tc.name == "expired" && other != shape && strings.Contains(string(out), h) {
								t.Errorf("the expired %s token's error points at %s's way (%q)", shape, other, h)
							}
						}
						if _, err := cs.CoreV1().Secrets(ns).Get(t.Context(), config.DefaultSecretName, metav1.GetOptions{}); err == nil {
							t.Error("a secret was written for a refused token")
						}
						return
					}
					if err != nil {
						t.Fatalf("%v\n%s", err, out)
					}
					info := secretToken(t, cs, stack, ns)
					if info.Kind != tc.wantKind || (tc.sa != "" && info.Email != tc.sa) || (tc.sa == "" && info.Provider != provider) {
						t.Errorf("secret holds a %q token of %q/%q, want %q", info.Kind, info.Email, info.Provider, tc.wantKind)
					}
				})
			}
		})
	}
}

// ciProjectClaim is the claim each CI's condition pins.
var ciProjectClaim = map[fakeci.Shape]string{
	fakeci.GitLab:    "project_path",
	fakeci.CircleCI:  "oidc.circleci.com/project-id",
	fakeci.Buildkite: "pipeline_slug",
}

// secretToken is what the fake Google knows of the password the
// namespace's pull secret holds.
func secretToken(t *testing.T, cs kubernetes.Interface, stack *fakestack.Stack, ns string) fakegoogle.IssuedToken {
	t.Helper()
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
	if !ok {
		t.Fatal("the secret's password is no token the fake Google issued")
	}
	return info
}
