package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"debug/buildinfo"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

const (
	testCommit = "0123456789abcdef0123456789abcdef01234567"
	testEpoch  = 1767225600 // 2026-01-01T00:00:00Z
)

// fakeModule writes a tiny module with pullsecret's module path, holding a
// copy of the real internal/version package (what the release links into)
// and a main that prints it, so build() runs the real toolchain on every
// platform in seconds and the linked-in values are the real package's.
func fakeModule(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"go.mod": "module github.com/pullsecret/pullsecret\n\ngo 1.26.0\n",
		"main.go": `package main

import (
	"fmt"

	"github.com/pullsecret/pullsecret/internal/version"
)

func main() { fmt.Println(version.Version, version.Commit, version.Date, version.Image) }
`,
	}
	real, err := filepath.Glob(filepath.Join(repoRoot, "internal", "version", "*.go"))
	if err != nil || len(real) == 0 {
		t.Fatalf("no internal/version sources under %s (%v)", repoRoot, err)
	}
	for _, f := range real {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Join("internal", "version", filepath.Base(f))] = string(b)
	}
	for n, c := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, n)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestBuildIsReproducible builds the same source twice, from two different
// directories with different file times, and wants every artifact and the
// image digest byte-identical.
func TestBuildIsReproducible(t *testing.T) {
	t.Parallel()
	var outs []string
	var digests []string
	for i := range 2 {
		src := fakeModule(t)
		// Different mtimes must not leak into the artifacts.
		when := time.Now().Add(time.Duration(i) * time.Hour)
		_ = os.Chtimes(filepath.Join(src, "main.go"), when, when)
		out := filepath.Join(t.TempDir(), "dist")
		a, err := build(buildOptions{Version: "v1.2.3", Commit: testCommit, Epoch: testEpoch, Src: src, Out: out,
			Repo: "ghcr.io/pullsecret/pullsecret", SourceURL: "https://github.com/pullsecret/pullsecret"})
		if err != nil {
			t.Fatal(err)
		}
		outs, digests = append(outs, out), append(digests, a.Digest.String())
	}
	if digests[0] != digests[1] {
		t.Errorf("image digests differ: %s vs %s", digests[0], digests[1])
	}
	a, b := treeHashes(t, outs[0]), treeHashes(t, outs[1])
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("artifacts differ between two builds (-first +second):\n%s", diff)
	}
	var names []string
	for n := range a {
		if !strings.HasPrefix(n, "image/") {
			names = append(names, n)
		}
	}
	want := []string{"SHA256SUMS", "image.digest", "image.ref", "pullsecret.spdx.json",
		"pullsecret_darwin_amd64", "pullsecret_darwin_arm64", "pullsecret_linux_amd64",
		"pullsecret_linux_arm64", "pullsecret_windows_amd64.exe", "pullsecret_windows_arm64.exe"}
	if diff := cmp.Diff(want, sortedCopy(names)); diff != "" {
		t.Errorf("artifacts (-want +got):\n%s", diff)
	}
	// SHA256SUMS is what `sha256sum -c` checks.
	cmd := exec.Command("sha256sum", "-c", "--strict", "SHA256SUMS")
	cmd.Dir = outs[0]
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("sha256sum -c: %v\n%s", err, out)
	}
	// The linked-in values reach the binary; the published CLI carries
	// the release's image by digest, which the image's own binary cannot.
	if isAMD64() {
		got, err := exec.Command(filepath.Join(outs[0], "pullsecret_linux_amd64")).Output()
		if want := "v1.2.3 " + testCommit + " 2026-01-01T00:00:00Z ghcr.io/pullsecret/pullsecret@" + digests[0] + "\n"; err != nil || string(got) != want {
			t.Errorf("binary prints %q (%v), want %q", got, err, want)
		}
	}
}

func isAMD64() bool {
	out, _ := exec.Command("go", "env", "GOHOSTARCH").Output()
	return strings.TrimSpace(string(out)) == "amd64"
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func treeHashes(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		sum, err := sha256File(p)
		out[filepath.ToSlash(rel)] = sum
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestImageShape checks what the runner relies on: both platforms, root,
// an absolute entrypoint, and a layer holding only the binary and /tmp with
// fixed owners and times.
func TestImageShape(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bins := map[string]string{}
	for _, arch := range []string{"arm64", "amd64"} {
		p := filepath.Join(dir, arch)
		if err := os.WriteFile(p, []byte("binary for "+arch), 0o700); err != nil {
			t.Fatal(err)
		}
		bins[arch] = p
	}
	created := time.Unix(testEpoch, 0).UTC()
	idx, err := imageIndex(bins, imageMeta{Version: "v1.2.3", Commit: testCommit, Created: created, Source: "https://example.test/x"})
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var plats []string
	for _, m := range im.Manifests {
		plats = append(plats, m.Platform.String())
		img, err := idx.Image(m.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.Config.User != "0:0" || !cmp.Equal(cf.Config.Entrypoint, []string{"/pullsecret"}) || cf.Architecture != m.Platform.Architecture {
			t.Errorf("%s: user %q entrypoint %q arch %q", m.Platform, cf.Config.User, cf.Config.Entrypoint, cf.Architecture)
		}
		if !cf.Created.Time.Equal(created) {
			t.Errorf("%s: created %s, want %s", m.Platform, cf.Created.Time, created)
		}
		layers, err := img.Layers()
		if err != nil || len(layers) != 1 {
			t.Fatalf("%s: %d layers (%v), want 1", m.Platform, len(layers), err)
		}
		rc, err := layers[0].Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		var entries []string
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(tr)
			entries = append(entries, h.Name)
			if h.Uid != 0 || h.Gid != 0 || !h.ModTime.Equal(created) {
				t.Errorf("%s: %s owned %d:%d mtime %s", m.Platform, h.Name, h.Uid, h.Gid, h.ModTime)
			}
			if h.Name == "pullsecret" && (h.Mode != 0o755 || string(body) != "binary for "+m.Platform.Architecture) {
				t.Errorf("%s: /pullsecret mode %o body %q", m.Platform, h.Mode, body)
			}
		}
		rc.Close()
		if diff := cmp.Diff([]string{"pullsecret", "tmp/"}, entries); diff != "" {
			t.Errorf("%s layer (-want +got):\n%s", m.Platform, diff)
		}
	}
	if diff := cmp.Diff([]string{"linux/amd64", "linux/arm64"}, plats); diff != "" {
		t.Errorf("platforms (-want +got):\n%s", diff)
	}
}

// TestPushAndPullByDigest pushes to a registry (go-containerregistry's
// in-memory implementation of the distribution API) and reads the index
// back by digest and through its version tag.
func TestPushAndPullByDigest(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	dir := t.TempDir()
	bins := map[string]string{}
	for _, arch := range []string{"amd64", "arm64"} {
		bins[arch] = filepath.Join(dir, arch)
		_ = os.WriteFile(bins[arch], []byte(arch), 0o755)
	}
	idx, err := imageIndex(bins, imageMeta{Version: "v2.0.1", Commit: testCommit, Created: time.Unix(testEpoch, 0)})
	if err != nil {
		t.Fatal(err)
	}
	repo := host + "/pullsecret/pullsecret"
	if err := pushIndex(idx, repo, pushTags("v2.0.1")); err != nil {
		t.Fatal(err)
	}
	want, _ := idx.Digest()
	for _, r := range []string{repo + "@" + want.String(), repo + ":v2.0.1"} {
		ref, err := name.ParseReference(r, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		desc, err := remote.Head(ref)
		if err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		if desc.Digest != want {
			t.Errorf("%s resolves to %s, want %s", r, desc.Digest, want)
		}
	}
	// The major tag moves in the release workflow, only after the image is
	// signed and pulled anonymously: the tool never pushes it.
	major, err := name.ParseReference(repo+":v2", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Head(major); err == nil {
		t.Errorf("%s was pushed by the release tool; the workflow moves it after verification", major)
	}
}

func TestPushTags(t *testing.T) {
	t.Parallel()
	for in, want := range map[string][]string{
		// v1 moves in the workflow, after signing and an anonymous pull.
		"v1.2.3":      {"v1.2.3"},
		"v0.4.0":      {"v0.4.0"},
		"v2.0.0-rc.1": {"v2.0.0-rc.1"},
	} {
		if diff := cmp.Diff(want, pushTags(in)); diff != "" {
			t.Errorf("pushTags(%q) (-want +got):\n%s", in, diff)
		}
	}
}

func TestBuildRefusesBadOptions(t *testing.T) {
	t.Parallel()
	good := buildOptions{Version: "v1.0.0", Commit: testCommit, Epoch: testEpoch}
	for name, mut := range map[string]func(*buildOptions){
		"version without v": func(o *buildOptions) { o.Version = "1.0.0" },
		"short commit":      func(o *buildOptions) { o.Commit = "0123456" },
		"no epoch":          func(o *buildOptions) { o.Epoch = -1 },
		"test rig release":  func(o *buildOptions) { o.TestRig = true },
	} {
		o := good
		mut(&o)
		if err := o.validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := good.validate(); err != nil {
		t.Errorf("good options refused: %v", err)
	}
}

// TestPinActionYAML pins the repository's own action.yml, as scripts/release
// does for the release commit.
func TestPinActionYAML(t *testing.T) {
	t.Parallel()
	in, err := os.ReadFile(filepath.Join("..", "..", "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	image := "ghcr.io/pullsecret/pullsecret@sha256:" + strings.Repeat("ab", 32)
	out, err := pinActionYAML(in, image, "v1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(out, in[:bytes.Index(in, []byte("\nruns:\n"))]) {
		t.Error("pinning changed more than the runs: block")
	}
	var runs []string
	sc := bufio.NewScanner(bytes.NewReader(out[bytes.Index(out, []byte("\nruns:\n")):]))
	for sc.Scan() {
		if l := sc.Text(); l != "" && !strings.HasPrefix(strings.TrimSpace(l), "#") {
			runs = append(runs, l)
		}
	}
	want := []string{"runs:", "  using: docker", "  image: docker://" + image, "  args:", "    - --release-image=" + image}
	if diff := cmp.Diff(want, runs); diff != "" {
		t.Errorf("runs (-want +got):\n%s", diff)
	}
	if _, err := pinActionYAML(out, image, "v1.2.3"); err == nil {
		t.Error("pinning an already pinned action.yml succeeded")
	}
	for _, bad := range []string{"ghcr.io/pullsecret/pullsecret:v1", "ghcr.io/pullsecret/pullsecret@sha256:abc"} {
		if _, err := pinActionYAML(in, bad, "v1.2.3"); err == nil {
			t.Errorf("image %q accepted", bad)
		}
	}
}

// The release commit's deploy/cronjob.yaml runs the release image by
// digest: main's file follows a tag, which could be re-pointed at an
// unsigned image; only the image line changes.
func TestPinCronJob(t *testing.T) {
	t.Parallel()
	in, err := os.ReadFile(filepath.Join("..", "..", "deploy", "cronjob.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	image := "ghcr.io/pullsecret/pullsecret@sha256:" + strings.Repeat("cd", 32)
	out, err := pinCronJob(in, image, "v1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	inLines, outLines := strings.Split(string(in), "\n"), strings.Split(string(out), "\n")
	if len(inLines) != len(outLines) {
		t.Fatalf("pinning changed the number of lines: %d -> %d", len(inLines), len(outLines))
	}
	changed := 0
	for i := range inLines {
		if inLines[i] == outLines[i] {
			continue
		}
		changed++
		if got := strings.TrimSpace(outLines[i]); got != "image: "+image+" # release v1.2.3, by digest" {
			t.Errorf("line %d pinned as %q", i+1, got)
		}
	}
	if changed != 1 {
		t.Errorf("%d lines changed, want the image line only", changed)
	}
	if _, err := pinCronJob(in, "ghcr.io/pullsecret/pullsecret:v1", "v1.2.3"); err == nil {
		t.Error("a tag was accepted as the pinned image")
	}
	if _, err := pinCronJob([]byte("kind: CronJob\n"), image, "v1.2.3"); err == nil {
		t.Error("a file without an image line was accepted")
	}
}

// The SBOM is valid JSON naming the main module, the binaries and stdlib.
func TestSBOM(t *testing.T) {
	t.Parallel()
	src := fakeModule(t)
	bin := filepath.Join(t.TempDir(), "pullsecret_linux_amd64")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, ".")
	cmd.Dir = src
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	doc, err := spdxDocument([]string{bin}, buildOptions{Version: "v1.2.3", Commit: testCommit, SourceURL: "https://github.com/pullsecret/pullsecret"}, time.Unix(testEpoch, 0).UTC())
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		SPDXVersion string `json:"spdxVersion"`
		Packages    []struct {
			Name    string `json:"name"`
			Version string `json:"versionInfo"`
		} `json:"packages"`
		CreationInfo struct{ Created string } `json:"creationInfo"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range d.Packages {
		names = append(names, p.Name+"@"+p.Version)
	}
	goVersion, _ := exec.Command("go", "env", "GOVERSION").Output()
	want := []string{"github.com/pullsecret/pullsecret@v1.2.3", "pullsecret_linux_amd64@v1.2.3", "stdlib@" + strings.TrimPrefix(strings.TrimSpace(string(goVersion)), "go")}
	if diff := cmp.Diff(want, names); diff != "" || d.SPDXVersion != "SPDX-2.3" || d.CreationInfo.Created != "2026-01-01T00:00:00Z" {
		t.Errorf("SBOM %s created %s, packages (-want +got):\n%s", d.SPDXVersion, d.CreationInfo.Created, diff)
	}
}

func TestParsePlatforms(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		want     []platform
		wantErr  string
	}{
		{name: "default is every target", in: "", want: nil},
		{name: "host only", in: "linux/amd64", want: []platform{{"linux", "amd64", true}}},
		{name: "order kept, duplicates dropped", in: "darwin/arm64,linux/arm64,darwin/arm64",
			want: []platform{{"darwin", "arm64", false}, {"linux", "arm64", true}}},
		{name: "unknown target", in: "linux/s390x", wantErr: `"linux/s390x" is not a release target`},
		{name: "no linux target for the image", in: "darwin/amd64", wantErr: "no linux target"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := parsePlatforms(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parsePlatforms(%q) error = %v, want one containing %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(platform{})); diff != "" {
				t.Errorf("parsePlatforms(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

// TestBuildSomePlatforms is the e2e suite's test build: only the named
// targets are built, summed and put in the image.
func TestBuildSomePlatforms(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "dist")
	a, err := build(buildOptions{Version: "v1.2.3", Commit: testCommit, Epoch: testEpoch, Src: fakeModule(t), Out: out,
		Platforms: []platform{{"linux", "amd64", true}}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range treeHashes(t, out) {
		if !strings.HasPrefix(n, "image/") {
			names = append(names, n)
		}
	}
	want := []string{"SHA256SUMS", "image.digest", "pullsecret.spdx.json", "pullsecret_linux_amd64"}
	if diff := cmp.Diff(want, sortedCopy(names)); diff != "" {
		t.Errorf("artifacts (-want +got):\n%s", diff)
	}
	m, err := a.Index.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var plats []string
	for _, d := range m.Manifests {
		plats = append(plats, d.Platform.String())
	}
	if diff := cmp.Diff([]string{"linux/amd64"}, plats); diff != "" {
		t.Errorf("image platforms (-want +got):\n%s", diff)
	}
}

// A release build leaves the test-rig switches out: no build tag, so a
// file behind it is not compiled in; -test-rig (the e2e tier's image)
// compiles it.
func TestTestRigOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	if !isAMD64() {
		t.Skip("runs the linux/amd64 binary")
	}
	for _, rig := range []bool{false, true} {
		src := fakeModule(t)
		if err := os.WriteFile(filepath.Join(src, "rig.go"), []byte("//go:build "+testRigTag+"\n\npackage main\n\nfunc init() { println(\"test rig\") }\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "dist")
		if _, err := build(buildOptions{Version: "v1.2.3-rc.1", Commit: testCommit, Epoch: testEpoch, Src: src, Out: out,
			Platforms: []platform{{"linux", "amd64", true}}, TestRig: rig}); err != nil {
			t.Fatal(err)
		}
		bin := filepath.Join(out, "pullsecret_linux_amd64")
		got, err := exec.Command(bin).CombinedOutput()
		if err != nil {
			t.Fatalf("%v\n%s", err, got)
		}
		if strings.Contains(string(got), "test rig") != rig {
			t.Errorf("TestRig=%v: the binary printed %q", rig, got)
		}
		info, err := buildinfo.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		tags := ""
		for _, s := range info.Settings {
			if s.Key == "-tags" {
				tags = s.Value
			}
		}
		if want := map[bool]string{false: "", true: testRigTag}[rig]; tags != want {
			t.Errorf("TestRig=%v: build tags %q, want %q", rig, tags, want)
		}
	}
}
