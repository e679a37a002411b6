// Command coredns is CoreDNS built from the Go module proxy with its default
// plugin set, for the offline kind node image (kubeadm deploys it as the
// cluster DNS; no registry is reachable to pull the real image).
package main

import (
	_ "github.com/coredns/coredns/core/plugin" // registers the default plugins
	"github.com/coredns/coredns/coremain"
)

func main() {
	coremain.Run()
}
