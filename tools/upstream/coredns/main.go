// Command coredns is CoreDNS built from the Go module proxy for the offline
// kind node image (kubeadm deploys it as the cluster DNS; no registry is
// reachable to pull the real image).
//
// It registers only the plugins kubeadm's default Corefile uses (plus log):
// CoreDNS's full default set links the AWS, Azure and Google Cloud SDKs and
// a tracer, which took more than half of a cold e2e tier's compile time and
// that no kind cluster uses.
package main

import (
	"github.com/coredns/coredns/coremain"

	// The directives of kubeadm's Corefile (cmd/kubeadm/app/phases/addons/dns).
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/metrics" // the "prometheus" directive
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
)

func main() {
	coremain.Run()
}
