//go:build integration

package integration_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

// In the CLI an exec credential plugin really runs. It must not inherit
// pullsecret's secret inputs or the GitHub OIDC request credentials: the
// plugin here dumps its whole environment, then answers with the admin
// client certificate so the run goes through against the real API server.
func TestBinaryExecPluginSeesNoSecrets(t *testing.T) {
	cp, cs, stack, bin := binaryRig(t)
	admin := cp.RESTConfig()
	dir := t.TempDir()

	cred, _ := json.Marshal(map[string]any{
		"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
		"status": map[string]string{"clientCertificateData": string(admin.CertData), "clientKeyData": string(admin.KeyData)},
	})
	dump := filepath.Join(dir, "plugin-env")
	plugin := filepath.Join(dir, "credential-plugin")
	script := "#!/bin/sh\nenv > '" + dump + "'\ncat <<'EOF'\n" + string(cred) + "\nEOF\n"
	if err := os.WriteFile(plugin, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["cp"] = &clientcmdapi.Cluster{Server: admin.Host, CertificateAuthorityData: admin.CAData}
	kc.AuthInfos["plugin"] = &clientcmdapi.AuthInfo{Exec: &clientcmdapi.ExecConfig{
		APIVersion: "client.authentication.k8s.io/v1", Command: plugin, InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
		Env: []clientcmdapi.ExecEnvVar{{Name: "FROM_KUBECONFIG", Value: "kept"}},
	}}
	kc.Contexts["cp"] = &clientcmdapi.Context{Cluster: "cp", AuthInfo: "plugin"}
	kc.CurrentContext = "cp"
	kcPath := filepath.Join(dir, "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, kcPath); err != nil {
		t.Fatal(err)
	}

	ns := "exec-" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	inputs, _ := stack.Inputs(fakestack.KeyToken, "")
	inputs[config.InNamespaces] = ns
	inputs[config.InCreateNamespaces] = "true"
	inputs[config.InKubeconfig] = kcPath
	env := stack.GitHubEnv("")
	env["PULLSECRET_PROBE"] = "pullsecret-probe-value"
	r := runAsGitHub(t, bin, inputs, env)
	if r.exitCode != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.exitCode, r.stdout, r.stderr)
	}
	b, err := os.ReadFile(dump)
	if err != nil {
		t.Fatalf("the plugin never ran: %v", err)
	}
	pluginEnv := string(b)
	if !strings.Contains(pluginEnv, "FROM_KUBECONFIG=kept") || !strings.Contains(pluginEnv, "PATH=") {
		t.Errorf("the plugin lost its own environment:\n%s", pluginEnv)
	}
	secrets := map[string]string{
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"],
		"ACTIONS_ID_TOKEN_REQUEST_URL":   env["ACTIONS_ID_TOKEN_REQUEST_URL"],
		"PULLSECRET_PROBE":               env["PULLSECRET_PROBE"],
	}
	var key struct {
		PrivateKey string `json:"private_key"`
	}
	if err := json.Unmarshal(stack.Key, &key); err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(key.PrivateKey, "\n") {
		if len(l) > 20 {
			secrets[fmt.Sprintf("credentials_json line %d", i)] = l
		}
	}
	for name, v := range secrets {
		if v == "" {
			t.Fatalf("test setup: %s is empty", name)
		}
		if strings.Contains(pluginEnv, v) {
			t.Errorf("the credential plugin received %s", name)
		}
	}
}
