//go:build integration

package integration_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
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
	"github.com/pullsecret/pullsecret/internal/testing/actionbin"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

func TestMain(m *testing.M) {
	code := controlplanetest.Run(m)
	actionbin.Cleanup()
	os.Exit(code)
}

// binary is the real pullsecret binary, built once for every test here.
func binary(t *testing.T) string {
	t.Helper()
	bin, err := actionbin.Build()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

type ghRun struct {
	exitCode                 int
	cli                      bool // a terminal run: no GitHub masking protocol
	stdout, stderr           string
	outputs, summary         string
	outputsFile, summaryFile string
}

// runAsGitHub runs the binary the way the runner runs a docker action: every
// input as INPUT_* with action.yml defaults filled in, the workflow context,
// file commands and (optionally) the OIDC request variables.
func runAsGitHub(t *testing.T, bin string, inputs, extraEnv map[string]string) ghRun {
	t.Helper()
	return runAsGitHubArgs(t, bin, nil, inputs, extraEnv)
}

// runAsGitHubArgs is runAsGitHub with the action's args (a release's
// action.yml passes some).
func runAsGitHubArgs(t *testing.T, bin string, args []string, inputs, extraEnv map[string]string) ghRun {
	t.Helper()
	ctx := controlplanetest.Context(t) // a hang guard, not a time budget
	cmd, files := actionbin.Command(ctx, bin, t.TempDir(), inputs, extraEnv)
	cmd.Args = append(cmd.Args, args...)
	r := ghRun{outputsFile: files.Outputs, summaryFile: files.Summary}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		r.exitCode = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	r.stdout, r.stderr = stdout.String(), stderr.String()
	o, _ := os.ReadFile(r.outputsFile)
	s, _ := os.ReadFile(r.summaryFile)
	r.outputs, r.summary = string(o), string(s)
	return r
}

// output parses one name<<DELIM ... DELIM block of GITHUB_OUTPUT.
func (r ghRun) output(name string) string {
	lines := strings.Split(r.outputs, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, name+"<<") && i+1 < len(lines) {
			return lines[i+1]
		}
	}
	return ""
}

func TestBinaryAsDockerActionWithWIF(t *testing.T) {
	cp, cs, stack, bin := binaryRig(t)
	ns := "preview-pr-" + strings.ToLower(strings.ReplaceAll(time.Now().Format("150405.000"), ".", ""))
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })

	inputs, _ := stack.Inputs(fakestack.WIF, "")
	inputs[config.InNamespaces] = ns
	inputs[config.InCreateNamespaces] = "true"
	inputs[config.InKubeconfig] = cp.Kubeconfig()
	// With debug logging (RUNNER_DEBUG=1), so the secret scan below
	// covers every request line too.
	env := stack.GitHubEnv("")
	env["RUNNER_DEBUG"] = "1"
	r := runAsGitHub(t, bin, inputs, env)
	if r.exitCode != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.exitCode, withoutMaskCommands(r.stdout), withoutMaskCommands(r.stderr))
	}

	// Outputs are the contract.
	if got := r.output("secret_name"); got != config.DefaultSecretName {
		t.Errorf("secret_name = %q", got)
	}
	var nss []string
	if err := json.Unmarshal([]byte(r.output("namespaces")), &nss); err != nil || len(nss) != 1 || nss[0] != ns {
		t.Errorf("namespaces = %q (%v)", r.output("namespaces"), err)
	}
	exp, err := time.Parse(time.RFC3339, r.output("expires_at"))
	if err != nil || time.Until(exp) < 50*time.Minute || time.Until(exp) > 61*time.Minute {
		t.Errorf("expires_at = %q (%v), want about an hour from now", r.output("expires_at"), err)
	}
	var regs []string
	if err := json.Unmarshal([]byte(r.output("registries")), &regs); err != nil || len(regs) != 4 {
		t.Errorf("registries = %q", r.output("registries"))
	}
	if !strings.Contains(r.summary, "| `"+ns+"` | created (namespace created) | default |") {
		t.Errorf("step summary:\n%s", r.summary)
	}
	for _, want := range []string{"::debug::HTTP POST 127.0.0.1:", "/v1/token 200 (", ":generateAccessToken 200 (", "::debug::HTTP PATCH " + strings.TrimPrefix(cp.Server(), "https://") + "/api/v1/namespaces/" + ns + "/secrets/gcr-pull-secret"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("no debug line containing %q:\n%s", want, withoutMaskCommands(r.stdout))
		}
	}
	if !strings.Contains(r.stdout, "::group::") {
		t.Errorf("no log groups:\n%s", withoutMaskCommands(r.stdout))
	}

	// The cluster holds what the fake minted.
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
	if _, ok := stack.Google.Lookup(dc.Auths["us-docker.pkg.dev"].Password); ok {
		t.Error("a concrete host was written instead of the wildcard keys")
	}
	if _, ok := stack.Google.Lookup(dc.Auths["*-docker.pkg.dev"].Password); !ok {
		t.Error("secret does not hold a token the fake issued")
	}

	// Nothing the binary printed or wrote carries a secret.
	scanForSecrets(t, stack, r, s.Data[corev1.DockerConfigJsonKey])
}

// scanForSecrets checks stdout, stderr, outputs and the summary for every
// token the fakes issued, the GitHub OIDC tokens, the secret payload in raw
// and base64 form, and its auth fields. ::add-mask:: lines are GitHub's
// masking protocol (the runner consumes them) and are checked to exist.
func scanForSecrets(t *testing.T, stack *fakestack.Stack, r ghRun, payload []byte) {
	t.Helper()
	var printed []string
	masks := map[string]bool{}
	for _, line := range strings.Split(r.stdout+"\n"+r.stderr, "\n") {
		if v, ok := strings.CutPrefix(line, "::add-mask::"); ok {
			masks[v] = true
			continue
		}
		printed = append(printed, line)
	}
	text := strings.Join(printed, "\n") + r.outputs + r.summary
	var secrets []string
	for _, tok := range stack.Google.Issued() {
		secrets = append(secrets, tok.Token)
	}
	var dc struct {
		Auths map[string]struct{ Auth string } `json:"auths"`
	}
	_ = json.Unmarshal(payload, &dc)
	for _, e := range dc.Auths {
		secrets = append(secrets, e.Auth)
	}
	secrets = append(secrets, string(payload), encodeB64(payload))
	for i, s := range secrets {
		if s == "" {
			t.Errorf("secret #%d is empty: the scan would find it anywhere", i)
			continue
		}
		if strings.Contains(text, s) {
			t.Errorf("secret #%d (%d bytes) leaked into the output", i, len(s))
		}
	}
	if r.cli {
		// Outside GitHub nothing prints ::add-mask:: (that would print
		// the secret); redaction alone keeps it out, checked above.
		return
	}
	// Everything derived must have been masked before it could be printed.
	for _, e := range dc.Auths {
		if !masks[e.Auth] {
			t.Error("auth field was not masked")
		}
	}
	if !masks[encodeB64(payload)] {
		t.Error("base64 .dockerconfigjson was not masked")
	}
}

func TestBinaryBadInputFailsCleanly(t *testing.T) {
	cp := controlplanetest.Shared(t)
	bin := binary(t)
	cases := []struct {
		name   string
		inputs map[string]string
		env    map[string]string
		want   []string
	}{
		{
			name:   "conflicting sources",
			inputs: map[string]string{config.InAccessToken: "ya29.abcdefgh", config.InWorkloadIdentityProvider: fakestack.Provider},
			want:   []string{config.InAccessToken, config.InWorkloadIdentityProvider, "conflict"},
		},
		{
			name:   "bad lifetime",
			inputs: map[string]string{config.InTokenLifetime: "forever"},
			want:   []string{config.InTokenLifetime},
		},
		{
			name:   "no id-token permission",
			inputs: map[string]string{config.InWorkloadIdentityProvider: fakestack.Provider, config.InServiceAccount: fakestack.ImpersonatedSA},
			env:    map[string]string{"GITHUB_ACTIONS": "true"},
			want:   []string{"id-token: write"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.inputs[config.InKubeconfig] = cp.Kubeconfig()
			tc.inputs[config.InNamespaces] = "default"
			env := map[string]string{"GITHUB_ACTIONS": "true"}
			for k, v := range tc.env {
				env[k] = v
			}
			r := runAsGitHub(t, bin, tc.inputs, env)
			if r.exitCode == 0 {
				t.Fatal("exit 0 for bad input")
			}
			errLine := ""
			for _, l := range strings.Split(r.stdout, "\n") {
				if strings.HasPrefix(l, "::error::") {
					errLine = l
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(errLine, w) {
					t.Errorf("::error:: annotation %q does not mention %q", errLine, w)
				}
			}
			if strings.Contains(r.stdout, "ya29.abcdefgh") && !strings.Contains(r.stdout, "::add-mask::ya29.abcdefgh") {
				t.Error("token echoed")
			}
			if r.output("namespaces") != "" {
				t.Errorf("outputs written on a failed configuration: %s", r.outputs)
			}
		})
	}
}

func encodeB64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// withoutMaskCommands hides the values of ::add-mask:: commands before a
// failing test prints the binary's output: they are the secrets themselves.
func withoutMaskCommands(out string) string {
	lines := strings.Split(out, "\n")
	for i, line := range lines {
		if strings.HasPrefix(line, "::add-mask::") {
			lines[i] = "::add-mask::***"
		}
	}
	return strings.Join(lines, "\n")
}

// binaryRig is what a test of the built binary needs: the shared real
// control plane, an admin client, a fresh fake Google/GitHub stack and the
// binary.
func binaryRig(t *testing.T) (*controlplane.ControlPlane, kubernetes.Interface, *fakestack.Stack, string) {
	t.Helper()
	cp := controlplanetest.Shared(t)
	cs, err := kubernetes.NewForConfig(cp.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	stack, err := fakestack.Start("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stack.Close)
	return cp, cs, stack, binary(t)
}

// writeKeyFile puts the fake stack's service-account key in a 0600 file, the
// way the CLI takes a key (--credentials-json-file), never on argv.
func writeKeyFile(t *testing.T, stack *fakestack.Stack) string {
	t.Helper()
	keyFile := filepath.Join(t.TempDir(), "key.json")
	if err := os.WriteFile(keyFile, stack.Key, 0o600); err != nil {
		t.Fatal(err)
	}
	return keyFile
}
