package main

import (
	"bufio"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pullsecret/pullsecret/e2e/tools/nodeimage/internal/hostexec"
	"github.com/pullsecret/pullsecret/internal/testing/buildcache"
)

//go:embed files
var files embed.FS

// debianPackages is what the node needs on top of debootstrap's minbase:
// systemd as init, containerd 1.6 + runc + CNI plugins as the runtime, and the
// tools kubeadm, kubelet and kind's scripts call.
var debianPackages = []string{
	"systemd", "systemd-sysv", "dbus", "conntrack", "iptables", "nftables", "iproute2", "ethtool",
	"util-linux", "mount", "kmod", "libseccomp2", "pigz", "fuse-overlayfs", "bash", "ca-certificates",
	"curl", "jq", "procps", "containerd", "runc", "containernetworking-plugins", "socat", "ebtables",
	"less", "findutils",
}

const debianSuite = "bookworm"

// debianMirror is the mirror apt on this machine uses (the only one reachable
// here), unless PULLSECRET_DEBIAN_MIRROR says otherwise.
func debianMirror() string {
	if m := os.Getenv("PULLSECRET_DEBIAN_MIRROR"); m != "" {
		return m
	}
	for _, f := range []string{"/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"} {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) >= 2 && fields[0] == "URIs:" {
				fh.Close()
				return fields[1]
			}
			if len(fields) >= 3 && fields[0] == "deb" && !strings.HasPrefix(fields[1], "[") {
				fh.Close()
				return fields[1]
			}
		}
		fh.Close()
	}
	return "http://deb.debian.org/debian"
}

// debootstrap returns a pristine Debian rootfs (cached; ~1 min to make) and the key it was made with.
func (b *builder) debootstrap() (dir, key string, err error) {
	var k buildcache.Key
	mirror := debianMirror()
	k.Add("suite", debianSuite)
	k.Add("mirror", mirror)
	k.Add("variant", "minbase")
	k.Add("packages", strings.Join(debianPackages, ","))
	dir = filepath.Join(b.kind, "debootstrap-"+debianSuite)
	stamp := filepath.Join(b.kind, "debootstrap-"+debianSuite+".stamp")
	if _, err := os.Stat(dir); err == nil && buildcache.ReadStamp(stamp) == k.Sum() {
		return dir, k.Sum(), nil
	}
	if os.Geteuid() != 0 {
		return "", "", hostexec.ErrNotRoot
	}
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return "", "", err
	}
	start := time.Now()
	fmt.Fprintf(os.Stderr, "debootstrap %s from %s (about a minute)\n", debianSuite, mirror)
	if err := hostexec.Run("", "debootstrap", "--variant=minbase", "--include="+strings.Join(debianPackages, ","), debianSuite, tmp, mirror); err != nil {
		return "", "", err
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", "", err
	}
	fmt.Fprintf(os.Stderr, "debootstrap done in %s\n", time.Since(start).Round(time.Second))
	return dir, k.Sum(), buildcache.WriteStamp(stamp, k.Sum())
}

// baseImage makes the kind base image from the Debian rootfs: what kind's
// images/base Dockerfile does, with Debian's packages instead of kind's own
// builds, plus the fixes this machine needs. Returns the image ID.
func (b *builder) baseImage(image, rootfs, rootfsKey string, bins binaries) (string, error) {
	kindFiles, err := hostexec.Output(b.self, "go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/kind")
	if err != nil {
		return "", err
	}
	kindFiles = filepath.Join(kindFiles, "images", "base", "files")
	var k buildcache.Key
	k.Add("rootfs", rootfsKey)
	// this file's recipe and the embedded files shape the base; the rest of
	// the builder only affects the node image
	if err := k.File(filepath.Join(b.self, "base.go")); err != nil {
		return "", err
	}
	if err := k.Tree(filepath.Join(b.self, "files"), nil); err != nil {
		return "", err
	}
	for _, f := range []string{bins.runcCapfix, bins.crictl} {
		if err := k.File(f); err != nil {
			return "", err
		}
	}
	if err := k.Tree(kindFiles, nil); err != nil {
		return "", err
	}
	stampPath := filepath.Join(b.kind, "base-image.stamp")
	stamp := buildcache.ReadStamp(stampPath)
	id := hostexec.ImageID(image)
	if !b.force && id != "" && stamp == k.Sum()+" "+id {
		return id, nil
	}

	if os.Geteuid() != 0 {
		return "", hostexec.ErrNotRoot
	}
	work := filepath.Join(b.kind, "base-rootfs")
	if err := os.RemoveAll(work); err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	start := time.Now()
	fmt.Fprintf(os.Stderr, "building %s\n", image)
	if err := hostexec.Run("", "cp", "-a", rootfs, work); err != nil {
		return "", err
	}
	if err := customizeBase(work, kindFiles, bins); err != nil {
		return "", err
	}
	// docker import keeps xattrs (file capabilities) and device nodes that a
	// Go-written layer would have to special-case; STOPSIGNAL cannot be set by
	// import, hence the one-line docker build on top.
	imported := image + "-rootfs"
	if err := hostexec.Run("", "sh", "-c", `tar --numeric-owner --xattrs -C "$1" -c . | docker import --change 'ENV container=docker' --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' - "$2" >/dev/null`, "sh", work, imported); err != nil {
		return "", err
	}
	build := hostexec.Cmd("", "docker", "build", "-q", "-t", image, "-")
	// SIGRTMIN+3 is systemd's clean-shutdown signal; the label marks the base
	// and, through docker commit, the node image as ours (see PruneSuperseded).
	build.Stdin = strings.NewReader("FROM " + imported + "\nSTOPSIGNAL SIGRTMIN+3\nLABEL " + hostexec.ImageLabel + "=kind-node\n")
	build.Stdout = nil
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("docker build %s: %w", image, err)
	}
	_, _ = hostexec.Output("", "docker", "rmi", imported) // only an intermediate tag; the layer stays, used by image
	newID := hostexec.ImageID(image)
	if newID == "" {
		return "", fmt.Errorf("%s missing after build", image)
	}
	// The previous base, now untagged, is pruned with the node image built on it.
	fmt.Fprintf(os.Stderr, "%s built in %s\n", image, time.Since(start).Round(time.Second))
	return newID, buildcache.WriteStamp(stampPath, k.Sum()+" "+newID)
}

// customizeBase applies kind's base-image steps to the rootfs at r.
func customizeBase(r, kindFiles string, bins binaries) error {
	// kind's base files (entrypoint, kubelet units, sysctls, scripts) with the
	// modes kind's Dockerfile gives them; its containerd config is replaced below.
	err := filepath.WalkDir(kindFiles, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(kindFiles, p)
		dst := filepath.Join(r, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		if rel == filepath.Join("etc", "containerd", "config.toml") {
			return nil
		}
		mode := os.FileMode(0o644)
		if strings.HasPrefix(rel, "usr/local/bin/") || strings.HasPrefix(rel, "kind/bin/") {
			mode = 0o755
		}
		return copyFile(p, dst, mode)
	})
	if err != nil {
		return fmt.Errorf("kind base files: %w", err)
	}
	// Debian installs containerd in /usr/bin; kind's unit expects /usr/local/bin.
	unit := filepath.Join(r, "etc/systemd/system/containerd.service")
	if err := editFile(unit, func(s string) string {
		return strings.Replace(s, "ExecStart=/usr/local/bin/containerd", "ExecStart=/usr/bin/containerd", 1)
	}); err != nil {
		return err
	}

	// Our own pieces: containerd config, runc wrapper, ctr shim, crictl, CNI.
	for _, f := range []struct {
		embedded, dst string
		mode          os.FileMode
	}{
		{"files/containerd-config.toml", "etc/containerd/config.toml", 0o644},
		{"files/ctr-shim.sh", "usr/local/bin/ctr", 0o755},
		{"files/10-pullsecret-ptp.conflist", "etc/cni/net.d/10-pullsecret-ptp.conflist", 0o644},
	} {
		b, err := files.ReadFile(f.embedded)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(r, f.dst)), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(r, f.dst), b, f.mode); err != nil {
			return err
		}
	}
	// The node's containers hit the same missing CAP_SYS_RESOURCE as the node itself.
	if err := copyFile(bins.runcCapfix, filepath.Join(r, "usr/local/sbin/runc"), 0o755); err != nil {
		return err
	}
	// kind runs `crictl images` / `crictl inspecti`; cri-tools is not on the module proxy.
	if err := copyFile(bins.crictl, filepath.Join(r, "usr/local/bin/crictl"), 0o755); err != nil {
		return err
	}
	// Debian's CNI plugins live in /usr/lib/cni. With no kindnetd offline, the
	// static ptp config above is the pod network (single node only).
	if err := os.RemoveAll(filepath.Join(r, "opt/cni/bin")); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(r, "opt/cni"), 0o755); err != nil {
		return err
	}
	if err := os.Symlink("/usr/lib/cni", filepath.Join(r, "opt/cni/bin")); err != nil {
		return err
	}

	// systemd trimming, as kind's Dockerfile does.
	script := `set -e
cd "$1"
find lib/systemd/system/sysinit.target.wants/ -name systemd-tmpfiles-setup.service -delete
rm -f lib/systemd/system/multi-user.target.wants/* etc/systemd/system/*.wants/* \
      lib/systemd/system/local-fs.target.wants/* lib/systemd/system/sockets.target.wants/*udev* \
      lib/systemd/system/sockets.target.wants/*initctl* lib/systemd/system/basic.target.wants/*
grep -q '^ReadKMsg=no' etc/systemd/journald.conf || echo ReadKMsg=no >> etc/systemd/journald.conf
ln -sf /lib/systemd/systemd sbin/init
chroot . systemctl enable kubelet.service containerd.service undo-mount-hacks.service
chroot . systemctl mask systemd-binfmt.service
mkdir -p etc/kubernetes/manifests
# kind shortens tmpfiles cleanup to a minute after boot
sed -i 's/OnBootSec=15min/OnBootSec=1min/' lib/systemd/system/systemd-tmpfiles-clean.timer
rm -rf var/cache/apt/archives/*.deb var/lib/apt/lists/* var/log/*.log
: > etc/machine-id
`
	if err := hostexec.Run("", "bash", "-c", script, "bash", r); err != nil {
		return err
	}
	return writeCRIBaseSpec(r)
}

// writeCRIBaseSpec writes containerd's base OCI spec the way kind does: the
// default spec, plus a createContainer hook that mounts the product files,
// minus the default rlimits.
func writeCRIBaseSpec(r string) error {
	out, err := hostexec.Output("", "chroot", r, "/usr/bin/ctr", "oci", "spec")
	if err != nil {
		return err
	}
	var spec map[string]any
	if err := json.Unmarshal([]byte(out), &spec); err != nil {
		return fmt.Errorf("ctr oci spec: %w", err)
	}
	hooks, _ := spec["hooks"].(map[string]any)
	if hooks == nil {
		hooks = map[string]any{}
		spec["hooks"] = hooks
	}
	create, _ := hooks["createContainer"].([]any)
	hooks["createContainer"] = append(create, map[string]any{"path": "/kind/bin/mount-product-files.sh"})
	if proc, ok := spec["process"].(map[string]any); ok {
		delete(proc, "rlimits")
	}
	b, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(r, "etc/containerd/cri-base.json"), b, 0o644)
}

func copyFile(src, dst string, mode os.FileMode) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	_ = os.Remove(dst) // replace symlinks instead of writing through them
	if err := os.WriteFile(dst, b, mode); err != nil {
		return err
	}
	return os.Chmod(dst, mode)
}

func editFile(path string, edit func(string) string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return os.WriteFile(path, []byte(edit(string(b))), 0o644)
}
