package main

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/kind/pkg/build/nodeimage"
	kindcmd "sigs.k8s.io/kind/pkg/cmd"

	"github.com/pullsecret/pullsecret/e2e/tools/nodeimage/internal/hostexec"
	"github.com/pullsecret/pullsecret/e2e/tools/nodeimage/internal/imagearchive"
	"github.com/pullsecret/pullsecret/internal/testing/buildcache"
)

// Images kind v0.30's node-image build insists on having (it pulls any it
// does not find in the tarball, which fails offline). Neither runs in our
// clusters in a useful way: kindnetd is never deployed (disableDefaultCNI),
// and local-path-provisioner is a placeholder, so PVCs stay Pending.
const (
	kindnetdImage        = "docker.io/kindest/kindnetd:v20250512-df8de77b"
	localPathImage       = "docker.io/kindest/local-path-provisioner:v20250214-acbabc1a"
	localPathHelperImage = "docker.io/kindest/local-path-helper:v20241212-8ac705d0"
)

func (b *builder) nodeImage(image, baseImage, baseID, rootfs string, bins binaries) error {
	var k buildcache.Key
	k.Add("base", baseID)
	k.Add("nodeimage source", b.source)
	for _, f := range bins.all() {
		if err := k.File(f); err != nil {
			return err
		}
	}
	if err := k.File("/bin/busybox"); err != nil {
		return fmt.Errorf("%w (install busybox-static: run e2e/hostsetup/setup.sh)", err)
	}
	stampPath := filepath.Join(b.kind, "node-image-"+b.kubeVersion+".stamp")
	id := hostexec.ImageID(image)
	if !b.force && id != "" && buildcache.ReadStamp(stampPath) == k.Sum()+" "+id {
		fmt.Fprintf(os.Stderr, "%s is up to date\n", image)
		return nil
	}

	if os.Geteuid() != 0 {
		return hostexec.ErrNotRoot // chroot into the rootfs for ldd
	}
	work := filepath.Join(b.kind, "node-work")
	if err := os.RemoveAll(work); err != nil {
		return err
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(work)
	start := time.Now()
	tarball := filepath.Join(work, "kubernetes-server-linux-amd64.tar.gz")
	if err := b.writeKubernetesTarball(tarball, work, rootfs, bins); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "kubernetes tarball ready in %s; kind build node-image (it tries to pull the base image first: ~10 s of retries offline)\n", time.Since(start).Round(time.Second))
	// kind extracts the tarball into a temporary directory it never removes
	// (650 MB a build): point it into our scratch directory, removed below.
	if err := os.Setenv("TMPDIR", work); err != nil {
		return err
	}
	defer os.Unsetenv("TMPDIR")
	if err := nodeimage.Build(
		nodeimage.WithImage(image),
		nodeimage.WithBaseImage(baseImage),
		nodeimage.WithKubeParam(tarball),
		nodeimage.WithBuildType("file"),
		nodeimage.WithLogger(kindcmd.NewLogger()),
	); err != nil {
		return fmt.Errorf("kind build node-image: %w", err)
	}
	newID := hostexec.ImageID(image)
	if newID == "" {
		return fmt.Errorf("%s missing after build", image)
	}
	hostexec.PruneSuperseded() // the previous node and base images
	fmt.Fprintf(os.Stderr, "%s built in %s\n", image, time.Since(start).Round(time.Second))
	return buildcache.WriteStamp(stampPath, k.Sum()+" "+newID)
}

// writeKubernetesTarball writes what `kind build node-image --type file` reads:
// a gzipped kubernetes/version, kubernetes/server/bin/{kubeadm,kubelet,kubectl}
// and four image archives named after kube-apiserver, kube-controller-manager,
// kube-scheduler and kube-proxy. Those four are the only archives kind loads,
// so every other image the node needs rides along in kube-proxy.tar.
func (b *builder) writeKubernetesTarball(out, work, rootfs string, bins binaries) error {
	images, err := b.componentImages(rootfs, bins)
	if err != nil {
		return err
	}
	if err := b.checkKubeadmImages(bins, images); err != nil {
		return err
	}
	var archives []string
	for _, c := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy"} {
		var set []imagearchive.Image
		for _, img := range images {
			if strings.HasPrefix(img.Tags[0], "registry.k8s.io/"+c+":") || (c == "kube-proxy" && !isControlPlane(img.Tags[0])) {
				set = append(set, img)
			}
		}
		path := filepath.Join(work, c+".tar")
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		err = imagearchive.Write(f, work, set...)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		archives = append(archives, path)
	}

	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	// kind insists on gzip but unpacks it right away: store, don't compress (saves ~20 s)
	zw, _ := gzip.NewWriterLevel(f, gzip.NoCompression)
	tw := tar.NewWriter(zw)
	add := func(name, src string, data []byte) error {
		h := &tar.Header{Name: "kubernetes/" + name, Mode: 0o755, ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg, Size: int64(len(data))}
		if src != "" {
			fi, err := os.Stat(src)
			if err != nil {
				return err
			}
			h.Size = fi.Size()
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if src == "" {
			_, err := tw.Write(data)
			return err
		}
		sf, err := os.Open(src)
		if err != nil {
			return err
		}
		defer sf.Close()
		_, err = io.Copy(tw, sf)
		return err
	}
	if err := add("version", "", []byte(b.kubeVersion+"\n")); err != nil {
		return err
	}
	for _, c := range []string{"kubeadm", "kubelet", "kubectl"} {
		if err := add("server/bin/"+c, filepath.Join(bins.kubeDir, c), nil); err != nil {
			return err
		}
	}
	for _, a := range archives {
		if err := add("server/bin/"+filepath.Base(a), a, nil); err != nil {
			return err
		}
		_ = os.Remove(a)
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}

func isControlPlane(tag string) bool {
	for _, c := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler"} {
		if strings.HasPrefix(tag, "registry.k8s.io/"+c+":") {
			return true
		}
	}
	return false
}

// checkKubeadmImages fails early, with a clear message, if kubeadm wants an
// image we do not provide (kind would try to pull it and fail obscurely).
func (b *builder) checkKubeadmImages(bins binaries, images []imagearchive.Image) error {
	out, err := hostexec.Output("", filepath.Join(bins.kubeDir, "kubeadm"), "config", "images", "list", "--kubernetes-version", b.kubeVersion)
	if err != nil {
		return err
	}
	var have []string
	for _, img := range images {
		have = append(have, img.Tags...)
	}
	for _, want := range strings.Fields(out) {
		if !slices.Contains(have, want) {
			return fmt.Errorf("kubeadm %s needs image %s, which the node-image builder does not make (update node.go)", b.kubeVersion, want)
		}
	}
	return nil
}

// componentImages describes every image the node carries. Each is a
// minimal root (passwd, group, tmp, CA bundle) plus its binary.
func (b *builder) componentImages(rootfs string, bins binaries) ([]imagearchive.Image, error) {
	k := func(c string) string { return filepath.Join(bins.kubeDir, c) }
	skeleton := []imagearchive.Entry{
		{Path: "etc/passwd", Data: []byte("root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n")},
		{Path: "etc/group", Data: []byte("root:x:0:\nnobody:x:65534:\n")},
		{Path: "etc/nsswitch.conf", Data: []byte("hosts: files dns\n")},
		{Path: "tmp", Dir: true, Mode: 0o1777},
		{Path: "var/run", Dir: true},
		{Path: "etc/ssl/certs/ca-certificates.crt", Src: filepath.Join(rootfs, "etc/ssl/certs/ca-certificates.crt")},
	}
	with := func(extra ...imagearchive.Entry) []imagearchive.Entry {
		return append(slices.Clone(skeleton), extra...)
	}
	busybox := func(applets ...string) []imagearchive.Entry {
		es := []imagearchive.Entry{{Path: "bin/busybox", Src: "/bin/busybox", Mode: 0o755}}
		for _, a := range applets {
			es = append(es, imagearchive.Entry{Path: "bin/" + a, Link: "busybox"})
		}
		return es
	}
	iptables, err := iptablesEntries(rootfs)
	if err != nil {
		return nil, err
	}
	kubeProxy := with(imagearchive.Entry{Path: "usr/local/bin/kube-proxy", Src: k("kube-proxy")})
	kubeProxy = append(kubeProxy, iptables...)
	kubeProxy = append(kubeProxy, busybox("sh", "grep", "cat", "echo", "basename")...) // for the iptables wrapper

	placeholder := func(what string) []byte {
		return []byte("#!/bin/sh\necho '" + what + " is a placeholder in the offline e2e node image (not built)'\nexec sleep 2147483647\n")
	}
	return []imagearchive.Image{
		{Tags: []string{"registry.k8s.io/kube-apiserver:" + b.kubeVersion}, Entries: with(imagearchive.Entry{Path: "usr/local/bin/kube-apiserver", Src: k("kube-apiserver")})},
		{Tags: []string{"registry.k8s.io/kube-controller-manager:" + b.kubeVersion}, Entries: with(imagearchive.Entry{Path: "usr/local/bin/kube-controller-manager", Src: k("kube-controller-manager")})},
		{Tags: []string{"registry.k8s.io/kube-scheduler:" + b.kubeVersion}, Entries: with(imagearchive.Entry{Path: "usr/local/bin/kube-scheduler", Src: k("kube-scheduler")})},
		{Tags: []string{"registry.k8s.io/kube-proxy:" + b.kubeVersion}, Entries: kubeProxy},
		{Tags: []string{"registry.k8s.io/etcd:" + etcdImageTag}, Entries: with(
			imagearchive.Entry{Path: "usr/local/bin/etcd", Src: bins.etcd},
			imagearchive.Entry{Path: "var/lib/etcd", Dir: true, Mode: 0o700})},
		{Tags: []string{"registry.k8s.io/coredns/coredns:" + corednsImageTag}, Entries: with(imagearchive.Entry{Path: "coredns", Src: bins.coredns}), Entrypoint: []string{"/coredns"}},
		// kind's containerd config names pause:3.10; kubeadm 1.34 lists 3.10.1: one image, both tags.
		{Tags: []string{"registry.k8s.io/pause:" + pauseVersion, "registry.k8s.io/pause:3.10"}, Entries: with(imagearchive.Entry{Path: "pause", Src: bins.pause, Mode: 0o755}), Entrypoint: []string{"/pause"}},
		{Tags: []string{kindnetdImage}, Entries: with(append(busybox("sh", "sleep", "echo"),
			imagearchive.Entry{Path: "bin/kindnetd", Data: placeholder("kindnetd"), Mode: 0o755})...), Cmd: []string{"/bin/kindnetd"}},
		{Tags: []string{localPathImage}, Entries: with(append(busybox("sh", "sleep", "echo"),
			imagearchive.Entry{Path: "usr/local/bin/local-path-provisioner", Data: placeholder("local-path-provisioner"), Mode: 0o755})...),
			Entrypoint: []string{"/usr/local/bin/local-path-provisioner"}},
		{Tags: []string{localPathHelperImage}, Entries: with(busybox("sh", "sleep", "echo", "mkdir", "rm", "ls", "cat")...)},
	}, nil
}

// iptablesEntries copies the iptables userland (legacy and nft backends, with
// their shared libraries and extension modules) out of the Debian rootfs, and
// installs the backend-picking wrapper under the iptables command names.
func iptablesEntries(rootfs string) ([]imagearchive.Entry, error) {
	bins := []string{"/usr/sbin/xtables-legacy-multi", "/usr/sbin/xtables-nft-multi", "/usr/sbin/conntrack"}
	exts, err := filepath.Glob(filepath.Join(rootfs, "usr/lib/x86_64-linux-gnu/xtables/*.so"))
	if err != nil {
		return nil, err
	}
	need := map[string]bool{}
	for _, p := range bins {
		need[p] = true
	}
	for _, e := range exts {
		need[strings.TrimPrefix(e, rootfs)] = true
	}
	for p := range snapshot(need) {
		out, err := hostexec.Output("", "chroot", rootfs, "ldd", p)
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			switch {
			case len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "/"):
				need[f[2]] = true
			case len(f) >= 1 && strings.HasPrefix(f[0], "/"): // the dynamic loader
				need[f[0]] = true
			}
		}
	}
	var es []imagearchive.Entry
	for p := range need {
		// Src follows symlinks: libraries are copied under the name the binaries ask for.
		es = append(es, imagearchive.Entry{Path: p, Src: filepath.Join(rootfs, p)})
	}
	for _, f := range []string{"etc/ethertypes", "etc/protocols", "etc/services"} {
		if _, err := os.Stat(filepath.Join(rootfs, f)); err == nil {
			es = append(es, imagearchive.Entry{Path: f, Src: filepath.Join(rootfs, f)})
		}
	}
	wrapper, err := files.ReadFile("files/iptables-wrapper.sh")
	if err != nil {
		return nil, err
	}
	es = append(es, imagearchive.Entry{Path: "usr/sbin/iptables-wrapper", Data: wrapper, Mode: 0o755})
	for _, c := range []string{"iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore"} {
		es = append(es, imagearchive.Entry{Path: "usr/sbin/" + c, Link: "iptables-wrapper"})
	}
	return es, nil
}

// snapshot returns a copy of the keys of m, so m can grow while iterating.
func snapshot(m map[string]bool) map[string]bool {
	c := make(map[string]bool, len(m))
	for k := range m {
		c[k] = true
	}
	return c
}
