package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

type imageMeta struct {
	Version, Commit, Source string
	Created                 time.Time
}

// imageIndex assembles the action image, one manifest per architecture,
// without a base image: a static Go binary with Go's embedded CA roots
// (golang.org/x/crypto/x509roots/fallback, used when the system has none)
// needs nothing else. Every byte is a function of the binaries and meta:
// tar headers carry fixed owners, modes and times, gzip output is
// deterministic for a given Go release, and config timestamps are
// meta.Created (SOURCE_DATE_EPOCH).
func imageIndex(binaries map[string]string, meta imageMeta) (v1.ImageIndex, error) {
	archs := make([]string, 0, len(binaries))
	for a := range binaries {
		archs = append(archs, a)
	}
	sort.Strings(archs)
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, arch := range archs {
		img, err := archImage(binaries[arch], arch, meta)
		if err != nil {
			return nil, fmt.Errorf("linux/%s: %w", arch, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}},
		})
	}
	return idx, nil
}

func archImage(binary, arch string, meta imageMeta) (v1.Image, error) {
	bin, err := os.ReadFile(binary)
	if err != nil {
		return nil, err
	}
	layerTar, err := rootfsTar(bin, meta.Created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   v1.Time{Time: meta.Created},
			CreatedBy: "pullsecret tools/release: /pullsecret " + meta.Version,
			Comment:   "static binary, no base image",
		},
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Created = v1.Time{Time: meta.Created}
	cf.Config = v1.Config{
		// Root on purpose: GitHub mounts the workspace and file-command
		// files owned by the runner user, and docker actions must write them.
		User: "0:0",
		// Absolute: the runner starts docker actions with --entrypoint
		// overrides only when action.yml says so; otherwise this runs.
		Entrypoint: []string{"/pullsecret"},
		Env:        []string{"PATH=/"},
		WorkingDir: "/",
		Labels: map[string]string{
			"org.opencontainers.image.source":      meta.Source,
			"org.opencontainers.image.version":     meta.Version,
			"org.opencontainers.image.revision":    meta.Commit,
			"org.opencontainers.image.created":     meta.Created.Format(time.RFC3339),
			"org.opencontainers.image.licenses":    "Apache-2.0",
			"org.opencontainers.image.title":       "pullsecret",
			"org.opencontainers.image.description": "Writes a short-lived Google registry pull secret into Kubernetes namespaces",
		},
	}
	return mutate.ConfigFile(img, cf)
}

// rootfsTar is the image's only layer: /pullsecret and an empty /tmp.
func rootfsTar(bin []byte, mtime time.Time) ([]byte, error) {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	entries := []struct {
		hdr  tar.Header
		body []byte
	}{
		{tar.Header{Name: "pullsecret", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bin))}, bin},
		{tar.Header{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777}, nil},
	}
	for _, e := range entries {
		h := e.hdr
		h.ModTime, h.Uid, h.Gid, h.Uname, h.Gname, h.Format = mtime, 0, 0, "root", "root", tar.FormatPAX
		if err := tw.WriteHeader(&h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// pushIndex pushes the index by digest and then each tag. Credentials come
// from the docker config (docker login / cosign login), as for any client.
func pushIndex(idx v1.ImageIndex, repo string, tags []string) error {
	digest, err := idx.Digest()
	if err != nil {
		return err
	}
	ref, err := name.NewDigest(repo + "@" + digest.String())
	if err != nil {
		return fmt.Errorf("-repo %q: %w", repo, err)
	}
	opts := []remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain)}
	if err := remote.WriteIndex(ref, idx, opts...); err != nil {
		return fmt.Errorf("push %s: %w", ref, err)
	}
	for _, t := range tags {
		tag, err := name.NewTag(repo + ":" + t)
		if err != nil {
			return err
		}
		if err := remote.Tag(tag, idx, opts...); err != nil {
			return fmt.Errorf("tag %s: %w", tag, err)
		}
	}
	return nil
}
