package main

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// seedPage is what the seed image serves on :8080, so a test can tell the pod
// runs the image it pulled.
const seedPage = "pullsecret e2e app\n"

// pushSeedImage builds a one-layer busybox image and pushes it as
// <inner>/<repoTag>. The image runs `httpd -f -p 8080` serving seedPage, so a
// pod from it stays Running with no network or volumes.
func pushSeedImage(ctx context.Context, inner, repoTag, busyboxPath string) (string, error) {
	img, err := seedImage(busyboxPath)
	if err != nil {
		return "", err
	}
	ref, err := name.ParseReference(inner+"/"+repoTag, name.Insecure)
	if err != nil {
		return "", err
	}
	if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
		return "", err
	}
	d, err := img.Digest()
	return d.String(), err
}

func seedImage(busyboxPath string) (v1.Image, error) {
	bb, err := os.ReadFile(busyboxPath)
	if err != nil {
		return nil, fmt.Errorf("seed image needs a static busybox: %w", err)
	}
	type entry struct {
		typ  byte
		name string
		mode int64
		body string // file content, or symlink target
	}
	entries := []entry{
		{tar.TypeDir, "bin/", 0o755, ""},
		{tar.TypeReg, "bin/busybox", 0o755, string(bb)},
		{tar.TypeDir, "etc/", 0o755, ""},
		{tar.TypeReg, "etc/passwd", 0o644, "root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"},
		{tar.TypeReg, "etc/group", 0o644, "root:x:0:\nnobody:x:65534:\n"},
		{tar.TypeDir, "tmp/", 0o1777, ""},
		{tar.TypeDir, "www/", 0o755, ""},
		{tar.TypeReg, "www/index.html", 0o644, seedPage},
	}
	for _, applet := range []string{"sh", "sleep", "httpd", "cat", "ls", "echo", "wget", "env"} {
		entries = append(entries, entry{tar.TypeSymlink, "bin/" + applet, 0o777, "busybox"})
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Typeflag: e.typ, Name: e.name, Mode: e.mode, ModTime: time.Unix(0, 0)}
		switch e.typ {
		case tar.TypeReg:
			h.Size = int64(len(e.body))
		case tar.TypeSymlink:
			h.Linkname = e.body
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if e.typ == tar.TypeReg {
			if _, err := io.WriteString(tw, e.body); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layerBytes := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerBytes)), nil
	})
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	// containerd only takes a single-platform manifest whose config names its platform.
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config.Env = []string{"PATH=/bin"}
	cf.Config.Cmd = []string{"/bin/httpd", "-f", "-v", "-p", "8080", "-h", "/www"}
	cf.Config.ExposedPorts = map[string]struct{}{"8080/tcp": {}}
	return mutate.ConfigFile(img, cf)
}
