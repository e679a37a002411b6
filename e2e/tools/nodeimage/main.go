// Command nodeimage builds, fully offline, the kind node image the e2e suite
// runs (default local/kind-node:v1.34.4, on top of local/kind-base:bookworm),
// and prints its name on stdout. Run it from anywhere in the checkout after
// e2e/hostsetup/setup.sh (building needs root for debootstrap and chroot;
// finding the image up to date only needs docker):
//
//	go -C e2e/tools/nodeimage run . -kube-dir DIR -etcd PATH
//
// DIR and PATH are the pinned Kubernetes commands and etcd, as
//
//	go run ./internal/testing/controlplane/cmd/controlplane build -components all
//
// builds them and prints their paths (the e2e suite does this in-process).
//
// Everything is cached under ${PULLSECRET_CACHE:-$HOME/.cache/pullsecret}:
// binaries in bin/, the Debian rootfs, stamps and scratch space in kind/.
// Each step is keyed by a hash of its inputs, and a run whose inputs match the
// stamps and whose images still exist in docker does nothing.
//
// Steps (why each exists is explained where it is done):
//  1. binaries: Kubernetes + etcd given by the caller (the control-plane
//     harness's build), CoreDNS, crictl, runc-capfix, pause;
//  2. a Debian bookworm rootfs from debootstrap (containerd 1.6, runc, CNI
//     plugins, systemd), turned into a kind base image;
//  3. component images written as docker archives, packed with kubeadm,
//     kubelet and kubectl into the release tarball layout kind reads;
//  4. kind's own node-image build (sigs.k8s.io/kind/pkg/build/nodeimage).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pullsecret/pullsecret/internal/testing/buildcache"
)

const defaultBaseImage = "local/kind-base:bookworm"

func main() {
	nodeImage := flag.String("image", "", "node image to build (default local/kind-node:<the pinned Kubernetes version>)")
	baseImage := flag.String("base-image", defaultBaseImage, "base image to build it on")
	force := flag.Bool("force", false, "rebuild the base and node images even if the stamps match")
	kubeDir := flag.String("kube-dir", "", "directory of the pinned Kubernetes commands (kube-apiserver … kubeadm), required")
	etcd := flag.String("etcd", "", "the pinned etcd binary, required")
	flag.Parse()
	if *kubeDir == "" || *etcd == "" {
		fmt.Fprintln(os.Stderr, "nodeimage: -kube-dir and -etcd are required (go run ./internal/testing/controlplane/cmd/controlplane build -components all prints them)")
		os.Exit(2)
	}
	image, err := run(*nodeImage, *baseImage, *kubeDir, *etcd, *force)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nodeimage:", err)
		os.Exit(1)
	}
	fmt.Println(image)
}

// builder carries what every step needs.
type builder struct {
	repo  string // checkout root
	cache string // ${PULLSECRET_CACHE}
	kind  string // <cache>/kind: rootfs, stamps, scratch
	self  string // this module's directory
	// kubeDir and etcd are the pinned Kubernetes commands and etcd (-kube-dir, -etcd).
	kubeDir, etcd string
	force         bool
	source        string // hash of this module's sources, part of every image key
	// kubeVersion is the Kubernetes version tools/upstream/kubernetes pins.
	kubeVersion string
}

// run builds the images and returns the node image's name.
func run(nodeImage, baseImage, kubeDir, etcd string, force bool) (string, error) {
	repo, err := buildcache.RepoRoot()
	if err != nil {
		return "", err
	}
	cache, err := buildcache.Dir("")
	if err != nil {
		return "", err
	}
	kubeVersion, err := buildcache.RequiredVersion(filepath.Join(repo, "tools", "upstream", "kubernetes"), "k8s.io/kubernetes")
	if err != nil {
		return "", err
	}
	if nodeImage == "" {
		nodeImage = "local/kind-node:" + kubeVersion
	}
	b := &builder{repo: repo, cache: cache, kind: filepath.Join(cache, "kind"), self: filepath.Join(repo, "e2e", "tools", "nodeimage"), kubeDir: kubeDir, etcd: etcd, force: force, kubeVersion: kubeVersion}
	var key buildcache.Key
	// Documentation and tests do not shape the images.
	if err := key.Tree(b.self, func(rel string) bool {
		return filepath.Ext(rel) != ".md" && !strings.HasSuffix(rel, "_test.go")
	}); err != nil {
		return "", err
	}
	b.source = key.Sum()

	unlock, err := buildcache.Lock(context.Background(), filepath.Join(b.kind, "build.lock"), os.Stderr)
	if err != nil {
		return "", err
	}
	defer unlock()

	start := time.Now()
	// debootstrap waits on the Debian mirror and dpkg, the binaries on the
	// compiler: side by side, a cold build hides the minute of downloads.
	type rootfsResult struct {
		dir, key string
		err      error
	}
	rootfsDone := make(chan rootfsResult, 1)
	go func() {
		dir, key, err := b.debootstrap()
		rootfsDone <- rootfsResult{dir, key, err}
	}()
	bins, err := b.binaries()
	if err == nil {
		fmt.Fprintf(os.Stderr, "binaries ready after %s\n", time.Since(start).Round(time.Second))
	}
	rootfsRes := <-rootfsDone
	if err != nil {
		return "", err
	}
	if rootfsRes.err != nil {
		return "", rootfsRes.err
	}
	rootfs, rootfsKey := rootfsRes.dir, rootfsRes.key
	baseID, err := b.baseImage(baseImage, rootfs, rootfsKey, bins)
	if err != nil {
		return "", err
	}
	if err := b.nodeImage(nodeImage, baseImage, baseID, rootfs, bins); err != nil {
		return "", err
	}
	fmt.Fprintf(os.Stderr, "nodeimage: done in %s\n", time.Since(start).Round(time.Second))
	return nodeImage, nil
}
