package controlplane

import (
	"fmt"
	"path/filepath"
	"regexp"

	"k8s.io/client-go/rest"
)

// unsafeFileChars keeps user names (e.g. system:serviceaccount:ns:name) out of path syntax.
var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// KubeconfigFor writes a kubeconfig authenticating as user with groups (by client certificate)
// and returns its path. The identity gets only what RBAC grants it, so tests can prove a minimal
// Role is enough and that anything else is Forbidden.
func (c *ControlPlane) KubeconfigFor(user string, groups []string) (string, error) {
	path, _, err := c.userConfig(user, groups)
	return path, err
}

// RESTConfigFor is KubeconfigFor for Go clients.
func (c *ControlPlane) RESTConfigFor(user string, groups []string) (*rest.Config, error) {
	_, cfg, err := c.userConfig(user, groups)
	return cfg, err
}

func (c *ControlPlane) userConfig(user string, groups []string) (string, *rest.Config, error) {
	if user == "" {
		return "", nil, fmt.Errorf("KubeconfigFor: empty user name")
	}
	cert, err := clientCert(c.ca, user, groups)
	if err != nil {
		return "", nil, err
	}
	c.mu.Lock()
	c.users++
	n := c.users
	c.mu.Unlock()
	// The sequence number keeps files for the same user with different groups apart.
	path := filepath.Join(c.workDir, "users", fmt.Sprintf("%03d-%s.kubeconfig", n, unsafeFileChars.ReplaceAllString(user, "_")))
	cfg, err := writeKubeconfig(path, c.server, c.ca, cert, user)
	if err != nil {
		return "", nil, err
	}
	return path, cfg, nil
}
