package googleauth

import (
	"net"
	"net/url"
	"strings"
)

// githubIDTokenOrigin is the scheme and host of this job's GitHub OIDC
// token endpoint (ACTIONS_ID_TOKEN_REQUEST_URL), or nil when the job has
// none or it may not receive a request token: GitHub serves it over https;
// plain http only reaches a loopback test issuer, or any host when allowHTTP
// (test rigs reaching fakes through a container gateway).
func githubIDTokenOrigin(getenv func(string) string, allowHTTP bool) *url.URL {
	u, err := url.Parse(getenv("ACTIONS_ID_TOKEN_REQUEST_URL"))
	if err != nil || u.Host == "" {
		return nil
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && (allowHTTP || isLoopback(u.Hostname())):
	default:
		return nil
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}
}

// sameOrigin reports whether raw has exactly origin's scheme and host
// (port included).
func sameOrigin(origin *url.URL, raw string) bool {
	if origin == nil {
		return false
	}
	u, err := url.Parse(raw)
	return err == nil && u.Scheme == origin.Scheme && strings.EqualFold(u.Host, origin.Host) && u.User == nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
