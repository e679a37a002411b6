package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pullsecret/pullsecret/e2e/tools/nodeimage/internal/buildcache"
)

// Versions of what the node image carries besides Kubernetes itself.
const (
	etcdImageTag    = "3.6.5-0" // kubeadm v1.34's etcd image tag; tools/etcdbin pins etcd v3.6.5
	corednsVersion  = "v1.14.3" // the oldest CoreDNS on the module proxy
	corednsImageTag = "v1.12.1" // what kubeadm v1.34 deploys; our v1.14.3 build is tagged so
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
	var bins binaries
	// Kubernetes and etcd come from internal/testing/controlplane.EnsureBinaries (a
	// root-module package, hence `go run` there): one cache, one set of flags.
	// The environment is the caller's (not GoEnv's static one): this small
	// command then compiles from the packages the integration tier already
	// built, instead of client-go again; EnsureBinaries builds the Kubernetes
	// binaries static whatever the environment.
	c := buildcache.Cmd(b.repo, "go", "run", "./e2e/tools/k8sbinaries", "-all")
	c.Env = append(os.Environ(), "GOTOOLCHAIN=local", "GOWORK=off")
	c.Stdout = nil
	out, err := c.Output()
	if err != nil {
		return bins, fmt.Errorf("go run ./e2e/tools/k8sbinaries -all: %w", err)
	}
	var k8s struct {
		KubeDir, Etcd, KubernetesVersion string
	}
	if err := json.Unmarshal(out, &k8s); err != nil {
		return bins, fmt.Errorf("k8sbinaries printed %q: %w", out, err)
	}
	if k8s.KubernetesVersion != kubernetesVersion {
		return bins, fmt.Errorf("internal/testing/controlplane pins Kubernetes %s, the node image expects %s", k8s.KubernetesVersion, kubernetesVersion)
	}
	bins.kubeDir, bins.etcd = k8s.KubeDir, k8s.Etcd

	tools := filepath.Join(b.repo, "e2e", "tools")
	if bins.coredns, err = buildcache.GoBinary(b.cache, "coredns-"+corednsVersion, filepath.Join(tools, "corednsbin"), ".", "coredns", "-s -w"); err != nil {
		return bins, err
	}
	if bins.crictl, err = buildcache.GoBinary(b.cache, "crictl-e2e", b.self, "./crictl", "crictl", "-s -w"); err != nil {
		return bins, err
	}
	if bins.runcCapfix, err = buildcache.GoBinary(b.cache, "runc-capfix", filepath.Join(tools, "runc-capfix"), ".", "runc-capfix", "-s -w"); err != nil {
		return bins, err
	}
	if bins.pause, err = b.pause(); err != nil {
		return bins, err
	}
	return bins, nil
}

// pause compiles Kubernetes' own pause.c (from the k8s.io/kubernetes module
// tools/kubebins already downloaded) statically: the sandbox image needs it
// and no registry can provide it.
func (b *builder) pause() (string, error) {
	modDir, err := buildcache.Output(filepath.Join(b.repo, "tools", "kubebins"), "go", "list", "-m", "-f", "{{.Dir}}", "k8s.io/kubernetes")
	if err != nil {
		return "", err
	}
	src := filepath.Join(modDir, "build", "pause", "linux", "pause.c")
	var key buildcache.Key
	if err := key.File(src); err != nil {
		return "", err
	}
	dir := filepath.Join(b.cache, "bin", "pause-"+pauseVersion)
	out := filepath.Join(dir, "pause")
	stamp := filepath.Join(dir, ".source")
	if _, err := os.Stat(out); err == nil && buildcache.ReadStamp(stamp) == key.Sum() {
		return out, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := buildcache.Run(dir, "gcc", "-Os", "-static", "-DVERSION=v"+pauseVersion, "-o", out, src); err != nil {
		return "", fmt.Errorf("%w (needs gcc and libc6-dev: run e2e/hostsetup/setup.sh)", err)
	}
	return out, buildcache.WriteStamp(stamp, key.Sum())
}
