// Package dockerconfig builds the `.dockerconfigjson` payload of a
// kubernetes.io/dockerconfigjson secret for Google registries.
package dockerconfig

import (
	"encoding/base64"
	"encoding/json"
	"errors"
)

// Usernames Google's registries accept, each naming what the password is.
const (
	UserAccessToken = "oauth2accesstoken"
	UserJSONKey     = "_json_key"
)

// Entry is one registry's credentials, in the shape kubelet and docker read.
type Entry struct {
	Username string `json:"username"`
	Password string `json:"password"`
	// Auth is base64(username:password); kubelet prefers it when present.
	Auth string `json:"auth"`
}

// Config is a whole `.dockerconfigjson`.
type Config struct {
	Auths map[string]Entry `json:"auths"`
}

// Build returns the `.dockerconfigjson` bytes authenticating username and
// password to every registry key, plus the derived values a caller must mask
// before printing anything (the auth field and the base64 of the payload,
// which is how the payload appears in `kubectl get secret -o yaml`).
func Build(registries []string, username, password string) (payload []byte, derived []string, err error) {
	if len(registries) == 0 {
		return nil, nil, errors.New("no registries to authenticate to")
	}
	if username == "" || password == "" {
		return nil, nil, errors.New("empty registry credentials")
	}
	auth := base64.StdEncoding.EncodeToString([]byte(username + ":" + password))
	cfg := Config{Auths: make(map[string]Entry, len(registries))}
	for _, r := range registries {
		cfg.Auths[r] = Entry{Username: username, Password: password, Auth: auth}
	}
	// encoding/json sorts map keys, so the payload is deterministic and
	// re-running with the same token changes nothing on the server.
	payload, err = json.Marshal(cfg)
	if err != nil {
		return nil, nil, err
	}
	derived = []string{auth, base64.StdEncoding.EncodeToString(payload)}
	return payload, derived, nil
}
