//go:build integration

package integration_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/pullsecret/pullsecret/internal/cli"
	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
)

// runCLI runs the binary as a terminal user would: flags, no GitHub
// environment, stdout and stderr apart.
func runCLI(t *testing.T, args ...string) ghRun {
	t.Helper()
	ctx := controlplanetest.Context(t) // a hang guard, not a time budget
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := ghRun{stdout: stdout.String(), stderr: stderr.String(), cli: true}
	if ee, ok := err.(*exec.ExitError); ok {
		r.exitCode = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

// jsonRun is the part of --output json the tests read.
type jsonRun struct {
	SecretName string   `json:"secretName"`
	ExpiresAt  string   `json:"expiresAt"`
	Registries []string `json:"registries"`
	Namespaces []struct {
		Name                   string   `json:"name"`
		Result                 string   `json:"result"`
		Secret                 string   `json:"secret"`
		ServiceAccountsChanged []string `json:"serviceAccountsChanged"`
		Error                  string   `json:"error"`
	} `json:"namespaces"`
	Error string `json:"error"`
}

// Every exit code of the table, through the real binary against the real
// API server: stdout is exactly one JSON object, the error is on stderr,
// and (with --debug on) nothing printed carries a secret.
func TestBinaryExitCodes(t *testing.T) {
	cp, cs, stack, _ := binaryRig(t)
	keyFile := writeKeyFile(t, stack)
	var endpoints []string
	for name, v := range stack.EndpointInputs("") {
		endpoints = append(endpoints, "--"+config.Input{Name: name}.Flag(), v)
	}

	// Two namespaces; only "withsa" has the ServiceAccount "builder".
	withSA, withoutSA := controlplanetest.Namespace(t, cp), controlplanetest.Namespace(t, cp)
	if _, err := cs.CoreV1().ServiceAccounts(withSA).Create(t.Context(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "builder"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	nobody, err := cp.KubeconfigFor("nobody", nil)
	if err != nil {
		t.Fatal(err)
	}
	unreachable := kubeconfigWithServer(t, cp.Kubeconfig(), "https://127.0.0.1:1")

	cases := []struct {
		name       string
		args       []string
		want       int
		wantStderr string
		check      func(t *testing.T, j jsonRun)
	}{
		{
			name: "0 success",
			args: []string{"--credentials-json-file", keyFile, "--kubeconfig", cp.Kubeconfig(), "--namespaces", withSA, "--service-accounts", "builder"},
			want: cli.ExitOK,
			check: func(t *testing.T, j jsonRun) {
				if len(j.Namespaces) != 1 || j.Namespaces[0].Result != "ok" || j.Namespaces[0].Secret != "created" || !cmp.Equal(j.Namespaces[0].ServiceAccountsChanged, []string{"builder"}) || j.Error != "" {
					t.Errorf("result %+v", j)
				}
				if _, err := time.Parse(time.RFC3339, j.ExpiresAt); err != nil || j.SecretName != config.DefaultSecretName || len(j.Registries) != 4 {
					t.Errorf("secretName %q, expiresAt %q, registries %q", j.SecretName, j.ExpiresAt, j.Registries)
				}
			},
		},
		{
			name:       "1 partial failure",
			args:       []string{"--credentials-json-file", keyFile, "--kubeconfig", cp.Kubeconfig(), "--namespaces", withSA + "," + withoutSA, "--service-accounts", "builder"},
			want:       cli.ExitFailed,
			wantStderr: "1 of 2 namespace(s) failed",
			check: func(t *testing.T, j jsonRun) {
				got := map[string]string{}
				for _, n := range j.Namespaces {
					got[n.Name] = n.Result
				}
				if diff := cmp.Diff(map[string]string{withSA: "ok", withoutSA: "failed"}, got); diff != "" {
					t.Errorf("results (-want +got):\n%s", diff)
				}
			},
		},
		{
			name:       "2 bad input",
			args:       []string{"--credentials-json-file", keyFile, "--kubeconfig", cp.Kubeconfig(), "--token-lifetime", "forever"},
			want:       cli.ExitBadInput,
			wantStderr: `input "token_lifetime"`,
		},
		{
			name:       "2 namespace missing",
			args:       []string{"--credentials-json-file", keyFile, "--kubeconfig", cp.Kubeconfig(), "--namespaces", "does-not-exist"},
			want:       cli.ExitBadInput,
			wantStderr: `"does-not-exist"`,
		},
		{
			name:       "3 credentials refused",
			args:       []string{"--access-token", "ya29.never-issued-by-the-fake", "--kubeconfig", cp.Kubeconfig(), "--namespaces", withSA},
			want:       cli.ExitCredentials,
			wantStderr: "failed to get Google credentials",
		},
		{
			name: "4 cluster unreachable",
			args: []string{"--credentials-json-file", keyFile, "--kubeconfig", unreachable, "--namespaces", withSA},
			want: cli.ExitClusterUnreachable,
		},
		{
			name:       "5 forbidden",
			args:       []string{"--credentials-json-file", keyFile, "--kubeconfig", nobody, "--namespaces", withSA},
			want:       cli.ExitForbidden,
			wantStderr: "forbidden",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"--output", "json", "--debug"}, tc.args...), endpoints...)
			r := runCLI(t, args...)
			if r.exitCode != tc.want {
				t.Errorf("exit %d, want %d\nstderr:\n%s", r.exitCode, tc.want, r.stderr)
			}
			var j jsonRun
			dec := json.NewDecoder(strings.NewReader(r.stdout))
			if err := dec.Decode(&j); err != nil || dec.More() {
				t.Fatalf("stdout is not one JSON object (%v):\n%s", err, r.stdout)
			}
			if tc.want != cli.ExitOK && (j.Error == "" || !strings.Contains(r.stderr, "error: ")) {
				t.Errorf("error not reported: json %q, stderr:\n%s", j.Error, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.wantStderr) {
				t.Errorf("stderr does not contain %q:\n%s", tc.wantStderr, r.stderr)
			}
			if tc.want != cli.ExitBadInput && !strings.Contains(r.stderr, "debug: HTTP ") {
				t.Errorf("--debug logged no request:\n%s", r.stderr)
			}
			if tc.check != nil {
				tc.check(t, j)
			}
			var payload []byte
			if s, err := cs.CoreV1().Secrets(withSA).Get(t.Context(), config.DefaultSecretName, metav1.GetOptions{}); err == nil {
				payload = s.Data[corev1.DockerConfigJsonKey]
			}
			scanForSecrets(t, stack, r, payload)
		})
	}
}

// Text mode: logs (and each namespace as it completes, counted) on
// stderr; the summary and name=value results on stdout.
func TestBinaryTextStreams(t *testing.T) {
	cp, cs, stack, _ := binaryRig(t)
	keyFile := writeKeyFile(t, stack)
	a, b := controlplanetest.Namespace(t, cp), controlplanetest.Namespace(t, cp)
	for _, ns := range []string{a, b} {
		if _, err := cs.CoreV1().ServiceAccounts(ns).Create(t.Context(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "builder"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"--credentials-json-file", keyFile, "--kubeconfig", cp.Kubeconfig(), "--namespaces", a + "," + b, "--service-accounts", "builder"}
	for name, v := range stack.EndpointInputs("") {
		args = append(args, "--"+config.Input{Name: name}.Flag(), v)
	}
	r := runCLI(t, args...)
	if r.exitCode != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", r.exitCode, r.stderr)
	}
	for _, want := range []string{"Cluster: ", "Token expires at", "[1/2] ", "[2/2] ", ": secret created; ServiceAccounts changed: builder"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	for _, want := range []string{"| `" + a + "` | created |", "secret_name=" + config.DefaultSecretName + "\n", "namespaces=[\""} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, log := range []string{"Cluster: ", "[1/2]", "Token expires at"} {
		if strings.Contains(r.stdout, log) {
			t.Errorf("log line %q on stdout:\n%s", log, r.stdout)
		}
	}
	s, err := cs.CoreV1().Secrets(a).Get(t.Context(), config.DefaultSecretName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	scanForSecrets(t, stack, r, s.Data[corev1.DockerConfigJsonKey])
}

// kubeconfigWithServer writes a copy of the kubeconfig at path whose
// clusters all point at server.
func kubeconfigWithServer(t *testing.T, path, server string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cfg.Clusters {
		c.Server = server
	}
	out := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, out); err != nil {
		t.Fatal(err)
	}
	return out
}
