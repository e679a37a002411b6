// Command k8sbinaries makes sure the pinned Kubernetes and etcd binaries are in
// the cache (building missing ones through internal/testing/controlplane.EnsureBinaries,
// the same cache the control-plane harness uses) and prints where they are as
// JSON: {"kubeDir": …, "etcd": …}. The e2e node-image builder
// (e2e/tools/nodeimage, a separate module) runs it with `go run` so that both
// share one build and one cache layout.
//
//	go run ./e2e/tools/k8sbinaries [-all]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/pullsecret/pullsecret/internal/testing/controlplane"
)

func main() {
	all := flag.Bool("all", false, "also build kube-scheduler, kube-proxy, kubelet and kubeadm (what a kind node image needs)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts := controlplane.BuildOptions{}
	if *all {
		opts.Components = controlplane.AllKubeCommands
	}
	bins, err := controlplane.EnsureBinaries(ctx, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "k8sbinaries:", err)
		os.Exit(1)
	}
	_ = json.NewEncoder(os.Stdout).Encode(map[string]string{
		"kubeDir":           bins.KubeDir,
		"etcd":              bins.Etcd,
		"kubernetesVersion": controlplane.KubernetesVersion,
	})
}
