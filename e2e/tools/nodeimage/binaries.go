package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pullsecret/pullsecret/e2e/tools/nodeimage/internal/hostexec"
	"github.com/pullsecret/pullsecret/internal/testing/buildcache"
)

// Versions of what the node image carries besides Kubernetes itself.
const (
	etcdImageTag    = "3.6.5-0" // kubeadm v1.34's etcd image tag; tools/upstream/etcd pins etcd v3.6.5
	corednsImageTag = "v1.12.1" // what kubeadm v1.34 deploys; our build (tools/upstream/coredns) is tagged so
	pauseVersion    = "3.10.1"  // kubeadm v1.34's pause image
)

// binaries are the host paths of every executable that goes into the images.
type binaries struct {
	kubeDir    string // kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy, kubelet, kubeadm, kubectl
	etcd       string
	coredns    string
	crictl     string
	runcCapfix string
	pause      string
}

// all lists them for hashing, in a fixed order.
func (b binaries) all() []string {
	out := []string{b.etcd, b.coredns, b.crictl, b.runcCapfix, b.pause}
	for _, c := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy", "kubelet", "kubeadm", "kubectl"} {
		out = append(out, filepath.Join(b.kubeDir, c))
	}
	return out
}

func (b *builder) binaries() (binaries, error) {
	// Kubernetes and etcd are the control-plane harness's build
	// (internal/testing/controlplane, root module), handed in by the caller
	// with -kube-dir and -etcd: one build, one cache, and no call back into
	// the root module from here.
	bins := binaries{kubeDir: b.kubeDir, etcd: b.etcd}
	var err error
	tools := filepath.Join(b.repo, "e2e", "tools")
	corednsModule := filepath.Join(b.repo, "tools", "upstream", "coredns")
	corednsVersion, err := buildcache.RequiredVersion(corednsModule, "github.com/coredns/coredns")
	if err != nil {
		return bins, err
	}
	if bins.coredns, err = goBinary(b.cache, "coredns-"+corednsVersion, corednsModule, ".", "coredns"); err != nil {
		return bins, err
	}
	if bins.crictl, err = goBinary(b.cache, "crictl-e2e", b.self, "./crictl", "crictl"); err != nil {
		return bins, err
	}
	if bins.runcCapfix, err = goBinary(b.cache, "runc-capfix", filepath.Join(tools, "runc-capfix"), ".", "runc-capfix"); err != nil {
		return bins, err
	}
	if bins.pause, err = b.pause(); err != nil {
		return bins, err
	}
	return bins, nil
}

// pause compiles Kubernetes' own pause.c (from the k8s.io/kubernetes module
// tools/upstream/kubernetes already downloaded) statically: the sandbox image needs it
// and no registry can provide it.
func (b *builder) pause() (string, error) {
	modDir, err := hostexec.Output(filepath.Join(b.repo, "tools", "upstream", "kubernetes"), "go", "list", "-m", "-f", "{{.Dir}}", "k8s.io/kubernetes")
	if err != nil {
		return "", err
	}
	src := filepath.Join(modDir, "build", "pause", "linux", "pause.c")
	var key buildcache.Key
	if err := key.File(src); err != nil {
		return "", err
	}
	dir := filepath.Join(b.cache, "build", "pause-"+pauseVersion)
	out := filepath.Join(dir, "pause")
	stamp := filepath.Join(dir, ".stamp")
	if _, err := os.Stat(out); err == nil && buildcache.ReadStamp(stamp) == key.Sum() {
		return out, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := hostexec.Run(dir, "gcc", "-Os", "-static", "-DVERSION=v"+pauseVersion, "-o", out, src); err != nil {
		return "", fmt.Errorf("%w (needs gcc and libc6-dev: run e2e/hostsetup/setup.sh)", err)
	}
	return out, buildcache.WriteStamp(stamp, key.Sum())
}

// goBinary builds (or finds cached) the main package pkg of the module in
// moduleDir as <cache>/build/<name>/<bin>, statically and -trimpath like
// every cached build.
func goBinary(cache, name, moduleDir, pkg, bin string) (string, error) {
	t := buildcache.Target{Name: name, ModuleDir: moduleDir, LDFlags: "-s -w", Outputs: map[string]string{bin: pkg}}
	dir, err := t.Ensure(context.Background(), cache, os.Stderr)
	return filepath.Join(dir, bin), err
}
