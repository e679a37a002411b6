package kube

import (
	"encoding/base64"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"k8s.io/client-go/rest"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// maskKubeconfig registers every credential a kubeconfig holds, for every
// user in it (not only the selected one): the values are secrets whichever
// way the file arrives. client-certificate-data is public; the key is not.
func maskKubeconfig(cfg *clientcmdapi.Config, mask func(string)) {
	for _, ai := range cfg.AuthInfos {
		if ai == nil {
			continue
		}
		mask(ai.Token)
		mask(ai.Password)
		maskPEM(ai.ClientKeyData, mask)
		if ai.AuthProvider != nil {
			for k, v := range ai.AuthProvider.Config {
				if secretAuthProviderKey(k) {
					mask(v)
				}
			}
		}
	}
}

// maskRESTConfig covers what did not come from a kubeconfig's text: the
// in-cluster ServiceAccount token, and values a token file supplied.
func maskRESTConfig(rc *rest.Config, mask func(string)) {
	mask(rc.BearerToken)
	mask(rc.Password)
	maskPEM(rc.KeyData, mask)
}

// maskPEM masks a PEM key as a whole, as the base64 a kubeconfig carries,
// and line by line (GitHub masks per line).
func maskPEM(key []byte, mask func(string)) {
	if len(key) == 0 {
		return
	}
	mask(string(key))
	mask(base64.StdEncoding.EncodeToString(key))
	for _, l := range strings.Split(string(key), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "-----") {
			mask(l)
		}
	}
}

func secretAuthProviderKey(k string) bool {
	k = strings.ToLower(k)
	return strings.Contains(k, "token") || strings.Contains(k, "secret") || strings.Contains(k, "password")
}

// credentialLine finds `token: value`-shaped credentials in kubeconfig text
// (YAML or JSON) that does not parse, so a parse error can never be the
// place where one is printed.
var credentialLine = regexp.MustCompile(`(?m)["']?(token|password|client-key-data|id-token|refresh-token|access-token|client-secret)["']?\s*:\s*["']?([^"'\s,}]+)`)

// maskCredentialFiles does maskCredentialLines for kubeconfig files; one
// that cannot be read is reported by the loader, not here.
func maskCredentialFiles(paths []string, mask func(string)) {
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			maskCredentialLines(string(b), mask)
		}
	}
}

func maskCredentialLines(text string, mask func(string)) {
	for _, m := range credentialLine.FindAllStringSubmatch(text, -1) {
		mask(m[2])
	}
}

// secretEnvPrefixes are variables an exec credential plugin must not see:
// every INPUT_* (the secret inputs among them), the GitHub OIDC request
// credentials (enough to mint our Google token), the runner's runtime
// token, and pullsecret's own variables.
var secretEnvPrefixes = []string{"INPUT_", "ACTIONS_ID_TOKEN_REQUEST_", "ACTIONS_RUNTIME_TOKEN", "PULLSECRET_"}

// scrubExecEnv overrides, with empty values, every secret variable of
// environ in the plugin's environment. client-go runs the plugin with
// os.Environ() followed by the config's env entries, and a later entry of
// the same name wins, so this is the only way to take them away.
func scrubExecEnv(ep *clientcmdapi.ExecConfig, environ []string) {
	var names []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		for _, p := range secretEnvPrefixes {
			if strings.HasPrefix(name, p) {
				names = append(names, name)
				break
			}
		}
	}
	slices.Sort(names)
	for _, n := range slices.Compact(names) {
		ep.Env = append(ep.Env, clientcmdapi.ExecEnvVar{Name: n, Value: ""})
	}
}

// checkExecPlugin fails early when the kubeconfig's credential plugin
// cannot run: inside the action's container there is no aws, kubelogin or
// gke-gcloud-auth-plugin, and finding out at the first API call would come
// after a token was minted.
func checkExecPlugin(ep *clientcmdapi.ExecConfig, o ClientOptions) error {
	if _, err := o.LookPath(ep.Command); err == nil {
		return nil
	}
	if o.InContainer != nil && o.InContainer() {
		return fmt.Errorf("input \"kubeconfig\": the exec credential plugin %q cannot run inside pullsecret's container: give a kubeconfig with a token, or run pullsecret in a `run:` step (see docs/TROUBLESHOOTING.md#exec-plugins)", ep.Command)
	}
	return fmt.Errorf("input \"kubeconfig\": the user authenticates with the exec credential plugin %q, which is not on PATH: install it (or give a kubeconfig with a token)", ep.Command)
}
