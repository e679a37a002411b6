package kube

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/pullsecret/pullsecret/internal/testing/check"
)

// clientCertPair is a throwaway client certificate and key, PEM.
func clientCertPair(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "u"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

// credentialKubeconfig has one user of each credential kind, the selected
// one and others: every value is a secret however the file arrives.
func credentialKubeconfig(certPEM, keyPEM []byte) string {
	keyData := base64.StdEncoding.EncodeToString(keyPEM)
	return `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://c.example:6443"}
users:
- name: token-user
  user: {token: "kubeconfig-bearer-token-0001"}
- name: basic-user
  user: {username: admin, password: "kubeconfig-password-0002"}
- name: cert-user
  user:
    client-certificate-data: ` + base64.StdEncoding.EncodeToString(certPEM) + `
    client-key-data: ` + keyData + `
- name: oidc-user
  user:
    auth-provider:
      name: oidc
      config: {id-token: "kubeconfig-id-token-0003", refresh-token: "kubeconfig-refresh-0004", client-secret: "kubeconfig-client-secret-0005", client-id: public-client}
contexts:
- name: token
  context: {cluster: c, user: token-user}
- name: basic
  context: {cluster: c, user: basic-user}
- name: cert
  context: {cluster: c, user: cert-user}
current-context: cert
`
}

func TestConnectMasksKubeconfigCredentials(t *testing.T) {
	t.Parallel()
	certPEM, keyPEM := clientCertPair(t)
	kc := credentialKubeconfig(certPEM, keyPEM)
	file := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(file, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	secrets := []string{
		"kubeconfig-bearer-token-0001", "kubeconfig-password-0002",
		"kubeconfig-id-token-0003", "kubeconfig-refresh-0004", "kubeconfig-client-secret-0005",
		base64.StdEncoding.EncodeToString(keyPEM),
	}
	// GitHub masks line by line: each line of the PEM body is a secret.
	for _, l := range strings.Split(string(keyPEM), "\n") {
		if l != "" && !strings.HasPrefix(l, "-----") {
			secrets = append(secrets, l)
		}
	}
	for _, tc := range []struct{ name, kubeconfig, context string }{
		{
			name:       "inline",
			kubeconfig: kc,
		},
		{
			name:       "inline other context",
			kubeconfig: kc,
			context:    "token",
		},
		{
			name:       "file",
			kubeconfig: file,
			context:    "basic",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var masked []string
			_, err := Connect(ClientOptions{
				Kubeconfig: tc.kubeconfig, Context: tc.context, Concurrency: 1,
				InContainer: func() bool { return false },
				Mask:        func(s string) { masked = append(masked, s) },
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range secrets {
				if !slices.Contains(masked, s) {
					t.Errorf("%.12s… was not masked", s)
				}
			}
			if slices.Contains(masked, "public-client") || slices.Contains(masked, "admin") || slices.Contains(masked, base64.StdEncoding.EncodeToString(certPEM)) {
				t.Errorf("masked a non-secret value: %q", masked)
			}
		})
	}
}

// A kubeconfig that does not even parse must not have its credentials
// printed in the error either.
func TestBrokenInlineKubeconfigMasksCredentialLines(t *testing.T) {
	t.Parallel()
	kc := "apiVersion: v1\nusers:\n- name: u\n  user:\n    token: broken-file-token-0006\n  : : [\n"
	file := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(file, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{kc, file} {
		var masked []string
		_, err := Connect(ClientOptions{Kubeconfig: in, Concurrency: 1, Mask: func(s string) { masked = append(masked, s) }})
		if err == nil {
			t.Fatal("broken kubeconfig accepted")
		}
		if !slices.Contains(masked, "broken-file-token-0006") {
			t.Errorf("token of an unparsable kubeconfig not masked: %q", masked)
		}
	}
}

const execKubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: gke
  cluster: {server: "https://34.1.2.3"}
users:
- name: gke-user
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: gke-gcloud-auth-plugin
      provideClusterInfo: true
      interactiveMode: Never
      env:
      - {name: CLOUDSDK_CORE_PROJECT, value: my-project}
contexts:
- name: gke
  context: {cluster: gke, user: gke-user}
current-context: gke
`

// Inside the action's container no credential plugin exists: fail at
// connect, before any token is minted, naming the plugin and the way out.
func TestExecPluginInContainerFailsEarly(t *testing.T) {
	t.Parallel()
	_, err := Connect(ClientOptions{
		Kubeconfig: execKubeconfig, Concurrency: 1,
		InContainer: func() bool { return true },
		LookPath:    func(string) (string, error) { return "", errors.New("executable file not found in $PATH") },
	})
	if err == nil {
		t.Fatal("a kubeconfig needing gke-gcloud-auth-plugin was accepted inside the container")
	}
	if d := check.ErrDiff(err, `"kubeconfig"`, `"gke-gcloud-auth-plugin"`, "token", "run:"); d != "" {
		t.Error(d)
	}
}

// In the CLI the plugin inherits pullsecret's environment (client-go
// appends the config's env to os.Environ()): every secret input and the
// OIDC request credentials are overridden with empty values.
func TestExecPluginEnvironmentHoldsNoSecrets(t *testing.T) {
	t.Parallel()
	environ := []string{
		"PATH=/usr/bin", "HOME=/home/me", "AWS_PROFILE=prod",
		"INPUT_CREDENTIALS_JSON={\"type\":\"service_account\"}", "INPUT_ACCESS_TOKEN=ya29.secret",
		"INPUT_NAMESPACES=a", "ACTIONS_ID_TOKEN_REQUEST_TOKEN=oidc-bearer", "ACTIONS_ID_TOKEN_REQUEST_URL=https://x",
		"ACTIONS_RUNTIME_TOKEN=runtime", "PULLSECRET_CREDENTIALS_JSON=x",
	}
	conn, err := Connect(ClientOptions{
		Kubeconfig: execKubeconfig, Concurrency: 1,
		InContainer: func() bool { return false },
		LookPath:    func(p string) (string, error) { return "/usr/bin/" + p, nil },
		Environ:     func() []string { return environ },
	})
	if err != nil {
		t.Fatal(err)
	}
	got := conn.Config.ExecProvider.Env
	want := []clientcmdapi.ExecEnvVar{
		{Name: "CLOUDSDK_CORE_PROJECT", Value: "my-project"},
		{Name: "ACTIONS_ID_TOKEN_REQUEST_TOKEN"}, {Name: "ACTIONS_ID_TOKEN_REQUEST_URL"},
		{Name: "ACTIONS_RUNTIME_TOKEN"},
		{Name: "INPUT_ACCESS_TOKEN"}, {Name: "INPUT_CREDENTIALS_JSON"}, {Name: "INPUT_NAMESPACES"},
		{Name: "PULLSECRET_CREDENTIALS_JSON"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("exec env (-want +got):\n%s", diff)
	}
}
