package imagearchive

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "tool")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	images := []Image{
		{Tags: []string{"registry.k8s.io/pause:3.10.1", "registry.k8s.io/pause:3.10"}, Entries: []Entry{{Path: "pause", Src: bin}}, Entrypoint: []string{"/pause"}},
		{Tags: []string{"docker.io/kindest/kindnetd:v1"}, Entries: []Entry{
			{Path: "usr/local/bin/tool", Src: bin},
			{Path: "etc/passwd", Data: []byte("root:x:0:0::/:/bin/sh\n")},
			{Path: "bin/sh", Link: "busybox"},
		}},
	}
	var a, b bytes.Buffer
	if err := Write(&a, dir, images...); err != nil {
		t.Fatal(err)
	}
	if err := Write(&b, dir, images...); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two writes of the same images differ")
	}

	files := map[string][]byte{}
	var order []string
	tr := tar.NewReader(&a)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		order = append(order, h.Name)
		files[h.Name], _ = io.ReadAll(tr)
	}
	if order[0] != "repositories" { // kind reads names only from the first metadata file
		t.Fatalf("first entry %q, want repositories", order[0])
	}
	var repos map[string]map[string]string
	if err := json.Unmarshal(files["repositories"], &repos); err != nil {
		t.Fatal(err)
	}
	if len(repos) != 2 || len(repos["registry.k8s.io/pause"]) != 2 || repos["docker.io/kindest/kindnetd"]["v1"] == "" {
		t.Errorf("repositories = %v", repos)
	}
	var manifest []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil {
		t.Fatal(err)
	}
	if len(manifest) != 2 || !slices.Equal(manifest[1].RepoTags, images[1].Tags) {
		t.Fatalf("manifest = %+v", manifest)
	}
	var cfg struct {
		Architecture, OS string
		Config           struct{ Entrypoint []string }
		RootFS           struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	if err := json.Unmarshal(files[manifest[0].Config], &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.OS != "linux" || cfg.Architecture == "" || !slices.Equal(cfg.Config.Entrypoint, []string{"/pause"}) || len(cfg.RootFS.DiffIDs) != 1 {
		t.Errorf("config = %+v", cfg)
	}

	// the layer holds parent directories before their children, root-owned
	var names []string
	modes := map[string]int64{}
	lr := tar.NewReader(bytes.NewReader(files[manifest[1].Layers[0]]))
	for {
		h, err := lr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		modes[h.Name] = h.Mode
		if h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s owned by %d:%d", h.Name, h.Uid, h.Gid)
		}
	}
	want := []string{"bin/", "bin/sh", "etc/", "etc/passwd", "usr/", "usr/local/", "usr/local/bin/", "usr/local/bin/tool"}
	if !slices.Equal(names, want) {
		t.Errorf("layer entries %q, want %q", names, want)
	}
	if modes["usr/local/bin/tool"] != 0o755 || modes["etc/passwd"] != 0o644 {
		t.Errorf("modes %v", modes)
	}
}
