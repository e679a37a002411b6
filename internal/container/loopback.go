package container

import (
	"fmt"
	"net"
	"net/url"

	"k8s.io/client-go/rest"
)

// RedirectLoopback handles the commonest docker-action trap: kind in the
// same job writes a kubeconfig for https://127.0.0.1:PORT, which inside the
// action's container is the container itself. We dial the host instead and
// keep verifying the certificate against the original name. setting is the
// api_server_host input: "auto", "off" or a host to dial instead of
// loopback. It returns what it changed ("" for nothing).
func RedirectLoopback(rc *rest.Config, setting string, h Host) (string, error) {
	u, err := url.Parse(rc.Host)
	if err != nil || !isLoopback(u.Hostname()) {
		return "", nil
	}
	if setting == "off" || (setting == "auto" && (h.InContainer == nil || !h.InContainer())) {
		return "", nil
	}
	// In a container that shares the API server's network (a CI job
	// container running the control plane itself), loopback is right: only
	// redirect when nothing answers there.
	if setting == "auto" && h.Reachable != nil && h.Reachable(u.Host) {
		return "", nil
	}
	target := setting
	if target == "auto" {
		gw, err := h.DefaultGateway()
		if err != nil {
			return "", fmt.Errorf("the kubeconfig server %s is a loopback address (inside this container, the container itself) and the host could not be found (%v): set input \"api_server_host\" (see docs/TROUBLESHOOTING.md#loopback-api-server)", rc.Host, err)
		}
		target = gw.String()
	}
	if rc.TLSClientConfig.ServerName == "" {
		rc.TLSClientConfig.ServerName = u.Hostname()
		if ip := net.ParseIP(u.Hostname()); ip != nil && ip.IsUnspecified() {
			// kind writes 0.0.0.0 when told to listen everywhere; its
			// certificate names localhost, not 0.0.0.0.
			rc.TLSClientConfig.ServerName = "localhost"
		}
	}
	orig := rc.Host
	u.Host = net.JoinHostPort(target, u.Port())
	rc.Host = u.String()
	return fmt.Sprintf("%s -> %s (TLS name %s)", orig, rc.Host, rc.TLSClientConfig.ServerName), nil
}

// KeptLoopback returns server when it is a loopback address that
// RedirectLoopback left alone inside a container because setting is "off":
// there it is the container itself, which an error should say when nothing
// answers. Otherwise it returns "".
func KeptLoopback(server, setting string, h Host) string {
	u, err := url.Parse(server)
	if err != nil || setting != "off" || !isLoopback(u.Hostname()) || h.InContainer == nil || !h.InContainer() {
		return ""
	}
	return server
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	// 0.0.0.0 dials the local host, which in a container is the container.
	ip := net.ParseIP(host)
	return ip != nil && (ip.IsLoopback() || ip.IsUnspecified())
}
