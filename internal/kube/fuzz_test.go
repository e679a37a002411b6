package kube

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
)

// FuzzInlineKubeconfig: any inline kubeconfig content is loaded without a
// panic, never runs a plugin, and every token and password it holds is
// masked whether loading succeeds or not.
func FuzzInlineKubeconfig(f *testing.F) {
	f.Add(execKubeconfig)
	f.Add("apiVersion: v1\nkind: Config\nusers: [{name: u, user: {token: abcdefgh}}]\n")
	f.Fuzz(func(t *testing.T, content string) {
		if !isInline(content) {
			content = "\n" + content
		}
		var masked []string
		_, _ = Connect(ClientOptions{
			Kubeconfig: content, Concurrency: 1,
			InContainer: func() bool { return true },
			LookPath:    func(string) (string, error) { return "", errors.New("not found") },
			Environ:     func() []string { return nil },
			Mask:        func(s string) { masked = append(masked, s) },
		})
		raw, err := clientcmd.Load([]byte(content))
		if err != nil {
			return
		}
		for name, ai := range raw.AuthInfos {
			for _, secret := range []string{ai.Token, ai.Password} {
				if strings.TrimSpace(secret) != "" && !slices.Contains(masked, secret) {
					t.Fatalf("user %q: a credential was not masked", name)
				}
			}
		}
	})
}
