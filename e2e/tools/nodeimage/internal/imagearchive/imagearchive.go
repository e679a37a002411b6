// Package imagearchive writes single-layer container images as a `docker
// save` archive, straight from a list of files: no base image, no registry
// and no docker daemon needed to build them (load the result with
// `docker load` or `ctr images import`).
//
// The `repositories` entry is written first and lists every image of the
// archive: `kind build node-image` reads image names only from the first of
// repositories/manifest.json it meets, and only manifest[0] of the latter, and
// tries to pull any image it thinks is missing.
package imagearchive

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"sort"
	"strings"
	"time"
)

// Entry is one filesystem object of an image. Exactly one of Src, Data,
// Link or Dir says what it is.
type Entry struct {
	Path string // inside the image, e.g. "usr/local/bin/kube-apiserver"
	Mode int64  // permission bits; 0 means 0755 for directories and executables from Src, 0644 otherwise
	Src  string // copy this host file (symlinks followed)
	Data []byte // literal content
	Link string // symlink target
	Dir  bool
}

// Image is one image of an archive.
type Image struct {
	Tags       []string // fully qualified, e.g. "registry.k8s.io/pause:3.10.1"
	Entries    []Entry
	Env        []string
	Entrypoint []string
	Cmd        []string
	StopSignal string
	Labels     map[string]string
}

var epoch = time.Unix(0, 0)

// Write writes images to out as one archive. Layers are staged in scratchDir
// because their digests must be known before the metadata that comes first.
func Write(out io.Writer, scratchDir string, images ...Image) error {
	type built struct {
		img                 Image
		layerFile, layerHex string
		configHex           string
		configJSON          []byte
		layerSize           int64
	}
	var all []built
	for _, img := range images {
		f, err := os.CreateTemp(scratchDir, "layer-*.tar")
		if err != nil {
			return err
		}
		defer os.Remove(f.Name())
		h := sha256.New()
		cw := &countWriter{w: io.MultiWriter(f, h)}
		if err := writeLayer(cw, img.Entries); err != nil {
			f.Close()
			return fmt.Errorf("image %v: %w", img.Tags, err)
		}
		if err := f.Close(); err != nil {
			return err
		}
		layerHex := hex.EncodeToString(h.Sum(nil))
		cfg, err := configJSON(img, layerHex)
		if err != nil {
			return err
		}
		ch := sha256.Sum256(cfg)
		all = append(all, built{img: img, layerFile: f.Name(), layerHex: layerHex, configHex: hex.EncodeToString(ch[:]), configJSON: cfg, layerSize: cw.n})
	}

	repositories := map[string]map[string]string{}
	var manifest []map[string]any
	for _, b := range all {
		for _, t := range b.img.Tags {
			i := strings.LastIndex(t, ":")
			if i < 0 || strings.Contains(t[i:], "/") {
				return fmt.Errorf("tag %q has no :tag", t)
			}
			if repositories[t[:i]] == nil {
				repositories[t[:i]] = map[string]string{}
			}
			repositories[t[:i]][t[i+1:]] = b.layerHex
		}
		manifest = append(manifest, map[string]any{
			"Config":   b.configHex + ".json",
			"RepoTags": b.img.Tags,
			"Layers":   []string{b.layerHex + "/layer.tar"},
		})
	}
	tw := tar.NewWriter(out)
	writeJSON := func(name string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		return writeBytes(tw, name, b)
	}
	if err := writeJSON("repositories", repositories); err != nil {
		return err
	}
	if err := writeJSON("manifest.json", manifest); err != nil {
		return err
	}
	for _, b := range all {
		if err := writeBytes(tw, b.configHex+".json", b.configJSON); err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: b.layerHex + "/", Mode: 0o755, ModTime: epoch}); err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: b.layerHex + "/layer.tar", Mode: 0o644, Size: b.layerSize, ModTime: epoch}); err != nil {
			return err
		}
		f, err := os.Open(b.layerFile)
		if err != nil {
			return err
		}
		_, err = io.Copy(tw, f)
		f.Close()
		if err != nil {
			return err
		}
	}
	return tw.Close()
}

func writeBytes(tw *tar.Writer, name string, b []byte) error {
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(b)), ModTime: epoch}); err != nil {
		return err
	}
	_, err := tw.Write(b)
	return err
}

func configJSON(img Image, layerHex string) ([]byte, error) {
	env := img.Env
	if env == nil {
		env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	}
	cfg := map[string]any{"Env": env}
	if img.Entrypoint != nil {
		cfg["Entrypoint"] = img.Entrypoint
	}
	if img.Cmd != nil {
		cfg["Cmd"] = img.Cmd
	}
	if img.StopSignal != "" {
		cfg["StopSignal"] = img.StopSignal
	}
	if len(img.Labels) > 0 {
		cfg["Labels"] = img.Labels
	}
	return json.Marshal(map[string]any{
		"architecture": runtime.GOARCH, // containerd refuses images whose config names another platform
		"os":           "linux",
		"created":      epoch.UTC().Format(time.RFC3339),
		"config":       cfg,
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + layerHex}},
	})
}

// writeLayer writes the entries as an uncompressed, reproducible layer tar
// (root-owned, epoch mtimes), adding missing parent directories.
func writeLayer(w io.Writer, entries []Entry) error {
	byPath := map[string]Entry{}
	for _, e := range entries {
		p := strings.Trim(path.Clean("/"+e.Path), "/")
		if p == "" {
			continue
		}
		e.Path = p
		byPath[p] = e
		for d := path.Dir(p); d != "." && d != "/"; d = path.Dir(d) {
			if _, ok := byPath[d]; !ok {
				byPath[d] = Entry{Path: d, Dir: true}
			}
		}
	}
	paths := make([]string, 0, len(byPath))
	for p := range byPath {
		paths = append(paths, p)
	}
	sort.Strings(paths) // parents sort before their children
	tw := tar.NewWriter(w)
	for _, p := range paths {
		e := byPath[p]
		h := &tar.Header{Name: p, Mode: e.Mode, ModTime: epoch, Format: tar.FormatPAX}
		switch {
		case e.Dir:
			h.Typeflag, h.Name = tar.TypeDir, p+"/"
			if h.Mode == 0 {
				h.Mode = 0o755
			}
		case e.Link != "":
			h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, e.Link, 0o777
		case e.Src != "":
			fi, err := os.Stat(e.Src)
			if err != nil {
				return err
			}
			h.Typeflag, h.Size = tar.TypeReg, fi.Size()
			if h.Mode == 0 {
				h.Mode = 0o644
				if fi.Mode()&0o111 != 0 {
					h.Mode = 0o755
				}
			}
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.Data))
			if h.Mode == 0 {
				h.Mode = 0o644
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if e.Src != "" && !e.Dir && e.Link == "" {
			if err := copyFile(tw, e.Src); err != nil {
				return err
			}
		} else if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(e.Data); err != nil {
				return err
			}
		}
	}
	return tw.Close()
}

func copyFile(w io.Writer, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
