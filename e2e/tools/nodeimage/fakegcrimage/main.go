// Command fakegcrimage packages e2e/tools/fakegcr as a docker image (default
// local/pullsecret-fakegcr:dev) and prints its name. No base image can be
// pulled here, so the image is written from scratch: the static fakegcr
// binary, a static busybox (the seed image is made of it; also handy for
// `docker exec`), passwd/group and /tmp. Cached by a hash of the fakegcr
// sources and this builder: a second run only checks.
//
//	go -C e2e/tools/nodeimage run ./fakegcrimage
//
// The image listens on :5000 and seeds e2e-proj/private/app:v1 and
// e2e-proj/app:v1; it needs FAKEGCR_GOOGLE (the fake Google base URL):
//
//	docker run -d --network kind --name fakegcr -e FAKEGCR_GOOGLE=http://172.18.0.1:PORT local/pullsecret-fakegcr:dev
package main

import (
	"context"
	"debug/elf"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pullsecret/pullsecret/e2e/tools/nodeimage/internal/hostexec"
	"github.com/pullsecret/pullsecret/e2e/tools/nodeimage/internal/imagearchive"
	"github.com/pullsecret/pullsecret/internal/testing/buildcache"
)

const busyboxPath = "/bin/busybox"

func main() {
	image := flag.String("image", "local/pullsecret-fakegcr:dev", "image to build")
	flag.Parse()
	if err := build(*image); err != nil {
		fmt.Fprintln(os.Stderr, "fakegcrimage:", err)
		os.Exit(1)
	}
	fmt.Println(*image)
}

func build(image string) error {
	repo, err := buildcache.RepoRoot()
	if err != nil {
		return err
	}
	cache, err := buildcache.Dir("")
	if err != nil {
		return err
	}
	unlock, err := buildcache.Lock(context.Background(), filepath.Join(cache, "images", "fakegcr.lock"), os.Stderr)
	if err != nil {
		return err
	}
	defer unlock()

	bin, err := goBinary(cache, "fakegcr", filepath.Join(repo, "e2e", "tools", "fakegcr"), ".", "fakegcr")
	if err != nil {
		return err
	}
	if err := requireStatic(busyboxPath); err != nil {
		return err
	}
	var k buildcache.Key
	for _, f := range []string{bin, busyboxPath} {
		if err := k.File(f); err != nil {
			return err
		}
	}
	// this builder and the archive writer shape the image too
	self := filepath.Join(repo, "e2e", "tools", "nodeimage")
	for _, f := range []string{"fakegcrimage/main.go", "internal/imagearchive/imagearchive.go"} {
		if err := k.File(filepath.Join(self, f)); err != nil {
			return err
		}
	}
	stampPath := filepath.Join(cache, "images", "fakegcr.stamp")
	id := hostexec.ImageID(image)
	if id != "" && buildcache.ReadStamp(stampPath) == k.Sum()+" "+id {
		return nil
	}

	img := imagearchive.Image{
		Tags: []string{image},
		Entries: []imagearchive.Entry{
			{Path: "fakegcr", Src: bin, Mode: 0o755},
			{Path: "bin/busybox", Src: busyboxPath, Mode: 0o755},
			{Path: "bin/sh", Link: "busybox"},
			{Path: "bin/wget", Link: "busybox"},
			{Path: "etc/passwd", Data: []byte("root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")},
			{Path: "etc/group", Data: []byte("root:x:0:\nnobody:x:65534:\n")},
			{Path: "tmp", Dir: true, Mode: 0o1777},
		},
		Env:        []string{"PATH=/bin"},
		Labels:     map[string]string{hostexec.ImageLabel: "fakegcr"},
		Entrypoint: []string{"/fakegcr"},
		Cmd:        []string{"-addr", ":5000", "-seed", "e2e-proj/private/app:v1,e2e-proj/app:v1"},
	}
	scratch, err := os.MkdirTemp(filepath.Join(cache, "images"), "fakegcr-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	archive := filepath.Join(scratch, "image.tar")
	f, err := os.Create(archive)
	if err != nil {
		return err
	}
	err = imagearchive.Write(f, scratch, img)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	load := hostexec.Cmd("", "docker", "load", "-q", "-i", archive)
	load.Stdout = nil
	if err := load.Run(); err != nil {
		return fmt.Errorf("docker load: %w", err)
	}
	newID := hostexec.ImageID(image)
	if newID == "" {
		return fmt.Errorf("%s missing after docker load", image)
	}
	hostexec.PruneSuperseded() // the previous build
	return buildcache.WriteStamp(stampPath, k.Sum()+" "+newID)
}

// requireStatic makes sure the busybox we copy runs in an image without libc.
func requireStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %w (install busybox-static: run e2e/hostsetup/setup.sh)", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked; install busybox-static (e2e/hostsetup/setup.sh)", path)
		}
	}
	return nil
}

// goBinary builds (or finds cached) the main package pkg of the module in
// moduleDir as <cache>/build/<name>/<bin>.
func goBinary(cache, name, moduleDir, pkg, bin string) (string, error) {
	t := buildcache.Target{Name: name, ModuleDir: moduleDir, LDFlags: "-s -w", Outputs: map[string]string{bin: pkg}}
	dir, err := t.Ensure(context.Background(), cache, os.Stderr)
	return filepath.Join(dir, bin), err
}
