//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestClusterDNSIsReady proves the offline node image's CoreDNS, built by
// tools/upstream/coredns with only the plugins kubeadm's Corefile names, runs
// that Corefile: its readiness probe (the ready plugin) passes only after
// every plugin started and the kubernetes plugin synced with the API server.
func TestClusterDNSIsReady(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	for {
		var last string
		d, err := e.client.AppsV1().Deployments("kube-system").Get(ctx, "coredns", metav1GetOptions)
		if err == nil && d.Spec.Replicas != nil {
			last = fmt.Sprintf("%d of %d replicas ready", d.Status.ReadyReplicas, *d.Spec.Replicas)
			if *d.Spec.Replicas > 0 && d.Status.ReadyReplicas == *d.Spec.Replicas {
				t.Logf("coredns: %s", last)
				return
			}
		} else if err != nil {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			pods, _ := docker("exec", e.clusterName+"-control-plane", "crictl", "ps", "-a", "--name", "coredns")
			t.Fatalf("coredns never became ready (last: %s); its containers on the node:\n%s", last, pods)
		case <-time.After(time.Second):
		}
	}
}
