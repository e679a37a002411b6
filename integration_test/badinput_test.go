//go:build integration

package integration_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

// badInput is one wrong thing a user can give. want are substrings of the
// ::error:: annotation: the input's name and what is wrong with it.
type badInput struct {
	name   string
	inputs map[string]string
	want   []string
	// noOIDC runs without the id-token permission.
	noOIDC bool
}

// TestBinaryBadInputsWriteNothing runs the real binary as a docker action
// for every bad input below, against the real API server: each exits
// non-zero with an ::error:: naming the input, writes no outputs, and the
// API server shows nothing written (no secret, no ServiceAccount change,
// no namespace) — including inputs only found bad after connecting
// (context, kubeconfig, missing namespace) or at Google.
func TestBinaryBadInputsWriteNothing(t *testing.T) {
	cp := controlplanetest.Shared(t)
	rc := cp.RESTConfig()
	rc.QPS, rc.Burst = 200, 400 // six lists per case, not rate-limited
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	stack, err := fakestack.Start("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stack.Close)
	bin := binary(t)

	// One namespace every case targets, with a default ServiceAccount that
	// already references someone else's secret.
	ns := "bad-input-" + randHex(4)
	ctx := t.Context()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{
		ObjectMeta:       metav1.ObjectMeta{Name: "builder"},
		ImagePullSecrets: []corev1.LocalObjectReference{{Name: "other-team"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	cases := badInputs(t, stack, cp.Kubeconfig(), ns)
	if len(cases) < 40 {
		t.Fatalf("only %d bad inputs", len(cases))
	}
	t.Logf("%d bad inputs", len(cases))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inputs := stack.EndpointInputs("")
			inputs[config.InKubeconfig] = cp.Kubeconfig()
			inputs[config.InNamespaces] = ns
			inputs[config.InServiceAccounts] = "default,builder"
			maps.Copy(inputs, tc.inputs)
			env := map[string]string{"GITHUB_ACTIONS": "true"}
			if !tc.noOIDC {
				maps.Copy(env, stack.GitHubEnv(""))
			}
			before := snapshot(t, cs)
			r := runAsGitHub(t, bin, inputs, env)
			after := snapshot(t, cs)

			if r.exitCode == 0 {
				t.Fatalf("exit 0 for bad input\n%s", r.stdout)
			}
			if strings.Contains(r.stderr, "panic:") {
				t.Fatalf("panicked:\n%s", r.stderr)
			}
			var errLine string
			for _, l := range strings.Split(r.stdout, "\n") {
				if strings.HasPrefix(l, "::error::") {
					errLine = l
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(errLine, w) {
					t.Errorf("::error:: %q\ndoes not contain %q", errLine, w)
				}
			}
			printed := r.stderr
			for _, l := range strings.Split(r.stdout, "\n") {
				if !strings.HasPrefix(l, "::add-mask::") {
					printed += l + "\n"
				}
			}
			for _, secret := range secretValues(stack) {
				if strings.Contains(printed, secret) {
					t.Errorf("a secret (%d bytes) was printed", len(secret))
				}
			}
			if r.outputs != "" {
				t.Errorf("outputs written: %q", r.outputs)
			}
			for _, d := range after.writtenSince(before) {
				t.Errorf("written at the API server: %s", d)
			}
		})
	}
}

func badInputs(t *testing.T, stack *fakestack.Stack, kubeconfig, ns string) []badInput {
	key := string(stack.Key)
	var keyFields map[string]any
	if err := json.Unmarshal(stack.Key, &keyFields); err != nil {
		t.Fatal(err)
	}
	withKey := func(change func(m map[string]any)) string {
		m := maps.Clone(keyFields)
		change(m)
		b, _ := json.Marshal(m)
		return string(b)
	}
	// A well-formed key Google never issued: detected when minting.
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(rsaKey)
	foreignKey := withKey(func(m map[string]any) {
		m["private_key"] = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	})
	dir := t.TempDir()
	execKC := filepath.Join(dir, "exec.kubeconfig")
	if err := os.WriteFile(execKC, []byte(`apiVersion: v1
kind: Config
clusters: [{name: gke, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: kubelogin, interactiveMode: Never}}}]
contexts: [{name: gke, context: {cluster: gke, user: u}}]
current-context: gke
`), 0o600); err != nil {
		t.Fatal(err)
	}
	unreachableKC := `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: unreachable-cluster-token}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`
	const (
		wif = config.InWorkloadIdentityProvider
		sa  = config.InServiceAccount
	)
	in := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	q := func(name string) string { return `input "` + name + `"` }
	kj := config.InCredentialsJSON
	return []badInput{
		// Keys: malformed, wrong type, wrong fields, wrong issuer.
		{
			name:   "key not json",
			inputs: in(kj, "not a key at all"),
			want:   []string{q(kj), "neither JSON nor base64"},
		},
		{
			name:   "key truncated json",
			inputs: in(kj, key[:len(key)/2]),
			want:   []string{q(kj), "not valid JSON", "syntax error at byte"},
		},
		{
			name:   "key field of wrong type",
			inputs: in(kj, `{"type":"service_account","client_email":42}`),
			want:   []string{q(kj), "not valid JSON (unexpected structure)"},
		},
		{
			name:   "key is a json array",
			inputs: in(kj, `[{"type":"service_account"}]`),
			want:   []string{q(kj), "neither JSON nor base64"},
		},
		{
			name:   "key base64 garbage",
			inputs: in(kj, "eyJ0eXBlIjoi!!!%%%"),
			want:   []string{q(kj), "neither JSON nor base64"},
		},
		{
			name:   "key base64 of text",
			inputs: in(kj, base64.StdEncoding.EncodeToString([]byte("hello, world"))),
			want:   []string{q(kj), "neither JSON nor base64"},
		},
		{
			name:   "user credentials instead of a service account",
			inputs: in(kj, `{"type":"authorized_user","client_id":"x.apps.googleusercontent.com","client_secret":"d-FL95Q19q7MQmFpd7hHD0Ty","refresh_token":"1//0gFAKErefreshTOKEN"}`),
			want:   []string{q(kj), `has type "authorized_user"`},
		},
		{
			name:   "external_account as key",
			inputs: in(kj, `{"type":"external_account","audience":"//iam.googleapis.com/x"}`),
			want:   []string{q(kj), `has type "external_account"`},
		},
		{
			name:   "key without private_key",
			inputs: in(kj, withKey(func(m map[string]any) { delete(m, "private_key") })),
			want:   []string{q(kj), "is missing private_key"},
		},
		{
			name:   "key without client_email",
			inputs: in(kj, withKey(func(m map[string]any) { delete(m, "client_email") })),
			want:   []string{q(kj), "is missing client_email"},
		},
		{
			name:   "key with foreign token_uri",
			inputs: in(kj, withKey(func(m map[string]any) { m["token_uri"] = "https://evil.example/token" })),
			want:   []string{q(kj), `token_uri "https://evil.example/token" is not a Google token endpoint`, config.InOAuthTokenEndpoint},
		},
		{
			name:   "key Google never issued",
			inputs: in(kj, foreignKey),
			want:   []string{"failed to mint a token with the key of " + fakestack.KeySA},
		},
		{
			name:   "json_key mode without key",
			inputs: in(config.InCredentialMode, "json_key"),
			want:   []string{q(config.InCredentialMode), "json_key needs"},
		},
		{
			name:   "unknown credential mode",
			inputs: in(config.InCredentialMode, "password"),
			want:   []string{q(config.InCredentialMode), `"password" is not one of`},
		},
		// Conflicting credentials.
		{
			name:   "key and access token",
			inputs: in(kj, key, config.InAccessToken, "ya29.bad-input-token"),
			want:   []string{`"credentials_json", "access_token" conflict`},
		},
		{
			name:   "provider and key",
			inputs: in(wif, fakestack.Provider, kj, key),
			want:   []string{`"workload_identity_provider", "credentials_json" conflict`},
		},
		// Access tokens.
		{
			name:   "access token with Bearer prefix",
			inputs: in(config.InAccessToken, "Bearer ya29.bad-input-token"),
			want:   []string{q(config.InAccessToken), "contains whitespace"},
		},
		{
			name:   "access token Google never issued",
			inputs: in(config.InAccessToken, "ya29.never-issued-by-google-0123456789"),
			want:   []string{q(config.InAccessToken), "Google rejected the token"},
		},
		// Federation.
		{
			name:   "provider not a resource name",
			inputs: in(wif, "projects/abc/providers/x"),
			want:   []string{q(wif), "is not a provider resource name"},
		},
		{
			name:   "provider with upper-case pool",
			inputs: in(wif, "projects/1/locations/global/workloadIdentityPools/GH/providers/gh"),
			want:   []string{q(wif), "is not a provider resource name"},
		},
		{
			name:   "provider unknown to Google",
			inputs: in(wif, "projects/999/locations/global/workloadIdentityPools/none/providers/none", sa, fakestack.ImpersonatedSA),
			want:   []string{"failed to exchange the GitHub OIDC token", "projects/999/"},
		},
		{
			name:   "service account not an email",
			inputs: in(wif, fakestack.Provider, sa, "puller"),
			want:   []string{q(sa), "is not a service-account email"},
		},
		{
			name:   "service account without provider",
			inputs: in(sa, fakestack.ImpersonatedSA),
			want:   []string{q(sa), "is only used with"},
		},
		{
			name:   "audience without provider",
			inputs: in(config.InAudience, "https://iam.googleapis.com/x"),
			want:   []string{q(config.InAudience), "is only used with"},
		},
		{
			name:   "no id-token permission",
			inputs: in(wif, fakestack.Provider, sa, fakestack.ImpersonatedSA),
			noOIDC: true,
			want:   []string{"id-token: write"},
		},
		// Lifetimes, scopes.
		{
			name:   "lifetime not a duration",
			inputs: in(config.InTokenLifetime, "forever"),
			want:   []string{q(config.InTokenLifetime), "is not a duration"},
		},
		{
			name:   "lifetime without unit",
			inputs: in(config.InTokenLifetime, "1.5"),
			want:   []string{q(config.InTokenLifetime), "is not a duration"},
		},
		{
			name:   "lifetime above 12h",
			inputs: in(config.InTokenLifetime, "13h"),
			want:   []string{q(config.InTokenLifetime), "out of range"},
		},
		{
			name:   "lifetime below a minute",
			inputs: in(config.InTokenLifetime, "10s"),
			want:   []string{q(config.InTokenLifetime), "out of range"},
		},
		{
			name:   "lifetime negative",
			inputs: in(config.InTokenLifetime, "-1h"),
			want:   []string{q(config.InTokenLifetime), "out of range"},
		},
		{
			name:   "scopes empty",
			inputs: in(config.InScopes, ",,"),
			want:   []string{q(config.InScopes), "is empty"},
		},
		// Endpoints.
		{
			name:   "sts endpoint not http",
			inputs: in(config.InSTSEndpoint, "ftp://sts.example/v1/token"),
			want:   []string{q(config.InSTSEndpoint), "is not an https URL"},
		},
		{
			name:   "sts endpoint plain http",
			inputs: in(config.InSTSEndpoint, "http://sts.googleapis.com/v1/token"),
			want:   []string{q(config.InSTSEndpoint), "must use https"},
		},
		{
			name:   "oauth endpoint plain http",
			inputs: in(config.InOAuthTokenEndpoint, "http://10.0.0.1/token"),
			want:   []string{q(config.InOAuthTokenEndpoint), "must use https"},
		},
		{
			name:   "iam endpoint with credentials",
			inputs: in(config.InIAMCredentialsEndpoint, "https://user:pw@iamcredentials.googleapis.com"),
			want:   []string{q(config.InIAMCredentialsEndpoint), "must not carry credentials"},
		},
		// Namespaces, globs, selectors.
		{
			name:   "namespace not a DNS label",
			inputs: in(config.InNamespaces, "Not_Valid"),
			want:   []string{q(config.InNamespaces), `"Not_Valid" is not a valid namespace name`},
		},
		{
			name:   "namespace too long",
			inputs: in(config.InNamespaces, strings.Repeat("n", 64)),
			want:   []string{q(config.InNamespaces), "is not a valid namespace name"},
		},
		{
			name:   "namespace glob malformed",
			inputs: in(config.InNamespaces, "pre[view"),
			want:   []string{q(config.InNamespaces), `"pre[view" is not a valid glob`},
		},
		{
			name:   "namespace does not exist",
			inputs: in(config.InNamespaces, ns+",absent-"+ns),
			want:   []string{q(config.InNamespaces), `"absent-` + ns + `" do not exist`},
		},
		{
			name:   "create namespaces with a glob",
			inputs: in(config.InNamespaces, "preview-*", config.InCreateNamespaces, "true"),
			want:   []string{q(config.InCreateNamespaces), "cannot create namespaces matching the glob"},
		},
		{
			name:   "exclude glob malformed",
			inputs: in(config.InExcludeNamespaces, "kube-["),
			want:   []string{q(config.InExcludeNamespaces), "is not a valid glob"},
		},
		{
			name:   "selector unbalanced",
			inputs: in(config.InNamespaceSelector, "team=(web"),
			want:   []string{q(config.InNamespaceSelector), "is not a label selector"},
		},
		{
			name:   "selector set without parentheses",
			inputs: in(config.InNamespaceSelector, "env in prod"),
			want:   []string{q(config.InNamespaceSelector), "is not a label selector"},
		},
		{
			name:   "selector bad value",
			inputs: in(config.InNamespaceSelector, "team=web!"),
			want:   []string{q(config.InNamespaceSelector), "is not a label selector"},
		},
		// Secret, ServiceAccounts, labels, annotations.
		{
			name:   "secret name invalid",
			inputs: in(config.InSecretName, "Bad_Name"),
			want:   []string{q(config.InSecretName), "is not a valid secret name"},
		},
		{
			name:   "secret name too long",
			inputs: in(config.InSecretName, strings.Repeat("s", 254)),
			want:   []string{q(config.InSecretName), "is not a valid secret name"},
		},
		{
			name:   "service account name invalid",
			inputs: in(config.InServiceAccounts, "default,Bad SA"),
			want:   []string{q(config.InServiceAccounts), `"Bad SA" is not a valid ServiceAccount name`},
		},
		{
			name:   "label without value",
			inputs: in(config.InSecretLabels, "team"),
			want:   []string{q(config.InSecretLabels), `"team" is not key=value`},
		},
		{
			name:   "label value with space",
			inputs: in(config.InSecretLabels, "team=web dev"),
			want:   []string{q(config.InSecretLabels), "team=web dev"},
		},
		{
			name:   "label key invalid",
			inputs: in(config.InSecretLabels, "-team=web"),
			want:   []string{q(config.InSecretLabels), "-team=web"},
		},
		{
			name:   "label value too long",
			inputs: in(config.InSecretLabels, "team="+strings.Repeat("v", 64)),
			want:   []string{q(config.InSecretLabels), "must be no more than 63"},
		},
		{
			name:   "annotation key invalid",
			inputs: in(config.InSecretAnnotations, "-x=1"),
			want:   []string{q(config.InSecretAnnotations), `"-x"`},
		},
		{
			name:   "annotation not key=value",
			inputs: in(config.InSecretAnnotations, "justakey"),
			want:   []string{q(config.InSecretAnnotations), "is not key=value"},
		},
		// Registries.
		{
			name:   "registry wildcard everything",
			inputs: in(config.InRegistries, "gcr.io,*"),
			want:   []string{q(config.InRegistries), `"*" matches any host`},
		},
		{
			name:   "registry wildcard tld",
			inputs: in(config.InRegistries, "*.io"),
			want:   []string{q(config.InRegistries), `"*.io" matches every domain under "io", a public suffix`},
		},
		{
			name:   "registry wildcard over a private public suffix",
			inputs: in(config.InRegistries, "gcr.io,*.github.io"),
			want:   []string{q(config.InRegistries), `"*.github.io" matches every domain under "github.io", a public suffix`},
		},
		{
			name:   "registry with scheme",
			inputs: in(config.InRegistries, "https://gcr.io"),
			want:   []string{q(config.InRegistries), "must be a bare host"},
		},
		{
			name:   "registry with path",
			inputs: in(config.InRegistries, "gcr.io/my-project"),
			want:   []string{q(config.InRegistries), "must be a bare host"},
		},
		{
			name:   "registry not a host",
			inputs: in(config.InRegistries, "bad_host!.io"),
			want:   []string{q(config.InRegistries), "is not a host name"},
		},
		{
			name:   "registries empty",
			inputs: in(config.InRegistries, ",,"),
			want:   []string{q(config.InRegistries), "is empty"},
		},
		// Modes, switches, numbers.
		{
			name:   "mode unknown",
			inputs: in(config.InMode, "upsert"),
			want:   []string{q(config.InMode), `"upsert" is not one of apply, delete`},
		},
		{
			name:   "dry_run not a boolean",
			inputs: in(config.InDryRun, "maybe"),
			want:   []string{q(config.InDryRun), "is not a boolean"},
		},
		{
			name:   "force not a boolean",
			inputs: in(config.InForce, "sure"),
			want:   []string{q(config.InForce), "is not a boolean"},
		},
		{
			name:   "create_namespaces not a boolean",
			inputs: in(config.InCreateNamespaces, "2"),
			want:   []string{q(config.InCreateNamespaces), "is not a boolean"},
		},
		{
			name:   "concurrency zero",
			inputs: in(config.InConcurrency, "0"),
			want:   []string{q(config.InConcurrency), "out of range"},
		},
		{
			name:   "concurrency too high",
			inputs: in(config.InConcurrency, "1000"),
			want:   []string{q(config.InConcurrency), "out of range"},
		},
		{
			name:   "concurrency not a number",
			inputs: in(config.InConcurrency, "many"),
			want:   []string{q(config.InConcurrency), "is not a whole number"},
		},
		{
			name:   "wait_timeout not a duration",
			inputs: in(config.InWaitTimeout, "1y"),
			want:   []string{q(config.InWaitTimeout), "is not a duration"},
		},
		{
			name:   "wait_timeout too long",
			inputs: in(config.InWaitTimeout, "11m"),
			want:   []string{q(config.InWaitTimeout), "out of range"},
		},
		// Kubeconfigs and contexts: found bad only when connecting.
		{
			name:   "kubeconfig path missing",
			inputs: in(config.InKubeconfig, "/does/not/exist.kubeconfig"),
			want:   []string{q(config.InKubeconfig), `"/does/not/exist.kubeconfig" cannot be read`},
		},
		{
			name:   "kubeconfig inline garbage",
			inputs: in(config.InKubeconfig, "{not: yaml: ["),
			want:   []string{q(config.InKubeconfig), "inline content is not a valid kubeconfig"},
		},
		{
			name:   "kubeconfig inline without clusters",
			inputs: in(config.InKubeconfig, "apiVersion: v1\nkind: Config\n"),
			want:   []string{"failed to load kubeconfig from inline kubeconfig"},
		},
		{
			name:   "kubeconfig with credential plugin",
			inputs: in(config.InKubeconfig, execKC),
			want:   []string{q(config.InKubeconfig), `exec credential plugin "kubelogin"`},
		},
		{
			name:   "kubeconfig server unreachable",
			inputs: in(config.InKubeconfig, unreachableKC),
			want:   []string{"127.0.0.1:1", "connection refused"},
		},
		{
			name:   "context not found",
			inputs: in(config.InContext, "no-such-context"),
			want:   []string{`context "no-such-context"`},
		},
	}
}

// secretValues are the credentials the cases pass: none may be printed.
func secretValues(stack *fakestack.Stack) []string {
	out := []string{"d-FL95Q19q7MQmFpd7hHD0Ty", "1//0gFAKErefreshTOKEN", "ya29.bad-input-token", "ya29.never-issued-by-google-0123456789", "unreachable-cluster-token"}
	var k struct {
		PrivateKey string `json:"private_key"`
	}
	_ = json.Unmarshal(stack.Key, &k)
	for _, l := range strings.Split(k.PrivateKey, "\n") {
		if len(l) > 20 {
			out = append(out, l)
		}
	}
	return out
}

// clusterState is what a run could have written: every secret and
// ServiceAccount (by resourceVersion) and every namespace.
type clusterState struct {
	secrets, serviceAccounts map[string]string
	namespaces               map[string]bool
}

func snapshot(t *testing.T, cs kubernetes.Interface) clusterState {
	t.Helper()
	ctx := controlplanetest.Context(t) // a hang guard, not a time budget
	s := clusterState{secrets: map[string]string{}, serviceAccounts: map[string]string{}, namespaces: map[string]bool{}}
	secrets, err := cs.CoreV1().Secrets("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range secrets.Items {
		s.secrets[x.Namespace+"/"+x.Name] = x.ResourceVersion
	}
	sas, err := cs.CoreV1().ServiceAccounts("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range sas.Items {
		s.serviceAccounts[x.Namespace+"/"+x.Name] = fmt.Sprintf("%s %v", x.ResourceVersion, x.ImagePullSecrets)
	}
	nss, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range nss.Items {
		s.namespaces[x.Name] = true
	}
	return s
}

// writtenSince lists what appeared or changed. Disappearing objects are
// ignored: namespaces earlier tests deleted finish terminating meanwhile.
// A ServiceAccount the controller adds to a new namespace without pull
// secrets is not a write of ours.
func (s clusterState) writtenSince(before clusterState) []string {
	var out []string
	for k, rv := range s.secrets {
		if before.secrets[k] != rv {
			out = append(out, "secret "+k)
		}
	}
	for k, v := range s.serviceAccounts {
		old, ok := before.serviceAccounts[k]
		if (ok && old != v) || (!ok && !strings.HasSuffix(v, " []")) {
			out = append(out, "serviceaccount "+k+" "+v)
		}
	}
	for n := range s.namespaces {
		if !before.namespaces[n] {
			out = append(out, "namespace "+n)
		}
	}
	return out
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
