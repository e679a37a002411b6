//go:build tools

// Package kubernetes pins the Kubernetes commands pullsecret builds from source. The control-plane
// harness (internal/testing/controlplane) needs kube-apiserver, kube-controller-manager and kubectl; the
// rest are here so the e2e kind node image is built from the very same module graph.
package kubernetes

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubeadm"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
