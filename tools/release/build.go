package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

type buildOptions struct {
	Version, Commit string
	Epoch           int64
	Src, Out, Repo  string
	SourceURL       string
	// Platforms limits the build to these targets (nil: every one in
	// platforms). Test builds use it; a release builds them all.
	Platforms []platform
	// TestRig builds with testRigTag, which turns on the binary's test-rig
	// switches (plain-http Google endpoints, a verify_image mirror). Only
	// the e2e tier asks for it, for a pre-release version; a release never
	// does, so its binaries ignore those variables.
	TestRig bool
}

// testRigTag is the build tag of pullsecret's internal/testrig package.
const testRigTag = "pullsecret_testrig"

// platform is one CLI build target; image marks the action image's.
type platform struct {
	OS, Arch string
	image    bool
}

var platforms = []platform{
	{"linux", "amd64", true}, {"linux", "arm64", true},
	{"darwin", "amd64", false}, {"darwin", "arm64", false},
	{"windows", "amd64", false}, {"windows", "arm64", false},
}

// parsePlatforms reads -platforms: a comma-separated list of OS/ARCH among
// the release targets, at least one of them a linux target, since the action
// image is made of the linux binaries.
func parsePlatforms(list string) ([]platform, error) {
	if list == "" {
		return nil, nil
	}
	var out []platform
	image := false
	for _, item := range strings.Split(list, ",") {
		i := slices.IndexFunc(platforms, func(p platform) bool { return p.OS+"/"+p.Arch == strings.TrimSpace(item) })
		if i < 0 {
			var known []string
			for _, p := range platforms {
				known = append(known, p.OS+"/"+p.Arch)
			}
			return nil, fmt.Errorf("-platforms: %q is not a release target (known: %s)", item, strings.Join(known, ","))
		}
		if !slices.Contains(out, platforms[i]) {
			out = append(out, platforms[i])
		}
		image = image || platforms[i].image
	}
	if !image {
		return nil, fmt.Errorf("-platforms %q has no linux target: the action image is built from the linux binaries", list)
	}
	return out, nil
}

// binaryName is the release asset name of a platform's CLI; setup/install.sh
// computes the same name from the runner's OS and architecture.
func binaryName(p platform) string {
	n := "pullsecret_" + p.OS + "_" + p.Arch
	if p.OS == "windows" {
		n += ".exe"
	}
	return n
}

var (
	semver    = regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$`)
	commitSHA = regexp.MustCompile(`^[0-9a-f]{40}$`)
)

func (o buildOptions) validate() error {
	if !semver.MatchString(o.Version) {
		return fmt.Errorf("-version %q is not vMAJOR.MINOR.PATCH", o.Version)
	}
	if !commitSHA.MatchString(o.Commit) {
		return fmt.Errorf("-commit %q is not a full 40-hex commit SHA", o.Commit)
	}
	if o.Epoch < 0 {
		return fmt.Errorf("-epoch (or SOURCE_DATE_EPOCH) is required: the commit's timestamp, so every date in the artifacts is reproducible")
	}
	if o.TestRig && !strings.Contains(o.Version, "-") {
		return fmt.Errorf("-test-rig builds a test image, never a release: use a pre-release version (e.g. v0.0.0-e2e), not %s", o.Version)
	}
	return nil
}

// pushTags are the tags the build pushes: vX.Y.Z only. The major tag vX is
// what users follow, so the release workflow moves it (image and git) only
// after the image is signed, its signature verified and an anonymous pull by
// digest succeeded.
func pushTags(version string) []string {
	return []string{version}
}

type artifacts struct {
	Index  v1.ImageIndex
	Digest v1.Hash
}

func build(o buildOptions) (*artifacts, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if entries, err := os.ReadDir(o.Out); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("-out %s is not empty", o.Out)
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	created := time.Unix(o.Epoch, 0).UTC()
	targets := o.Platforms
	if targets == nil {
		targets = platforms
	}

	// The image first, from linux binaries that cannot know its digest;
	// then the published CLI binaries, stamped with it (version.Image), so
	// a released CLI's refresher runs this release's image.
	imageDir, err := os.MkdirTemp("", "pullsecret-image-bin-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(imageDir)
	imageBins := map[string]string{}
	for _, p := range targets {
		if p.image {
			path := filepath.Join(imageDir, binaryName(p))
			if err := goBuild(o, p, created, "", path); err != nil {
				return nil, err
			}
			imageBins[p.Arch] = path
		}
	}
	idx, err := imageIndex(imageBins, imageMeta{Version: o.Version, Commit: o.Commit, Created: created, Source: o.SourceURL})
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	digest, err := idx.Digest()
	if err != nil {
		return nil, err
	}
	ref := ""
	if o.Repo != "" {
		ref = o.Repo + "@" + digest.String()
	}

	var names []string
	for _, p := range targets {
		path := filepath.Join(o.Out, binaryName(p))
		if err := goBuild(o, p, created, ref, path); err != nil {
			return nil, err
		}
		names = append(names, path)
	}
	sbom, err := spdxDocument(names, o, created)
	if err != nil {
		return nil, fmt.Errorf("SBOM: %w", err)
	}
	sbomPath := filepath.Join(o.Out, "pullsecret.spdx.json")
	if err := os.WriteFile(sbomPath, sbom, 0o644); err != nil {
		return nil, err
	}
	if err := writeSums(filepath.Join(o.Out, "SHA256SUMS"), append(names, sbomPath)); err != nil {
		return nil, err
	}

	if _, err := layout.Write(filepath.Join(o.Out, "image"), idx); err != nil {
		return nil, fmt.Errorf("image layout: %w", err)
	}
	if err := os.WriteFile(filepath.Join(o.Out, "image.digest"), []byte(digest.String()+"\n"), 0o644); err != nil {
		return nil, err
	}
	if ref != "" {
		if err := os.WriteFile(filepath.Join(o.Out, "image.ref"), []byte(ref+"\n"), 0o644); err != nil {
			return nil, err
		}
	}
	return &artifacts{Index: idx, Digest: digest}, nil
}

// versionPkg is the one package release builds stamp (-X): version,
// commit and date, what --version prints, and in the published CLI
// binaries the release's image by digest. The binary inside the image
// cannot carry its own digest; the release's action.yml passes it.
const versionPkg = "github.com/pullsecret/pullsecret/internal/version"

// ldflags links the release's facts into the binary. The linker silently
// ignores an -X whose variable does not exist, so
// TestLinkerFlagsNameRealVariables checks every one against the source.
func ldflags(o buildOptions, created time.Time, image string) []string {
	f := []string{
		"-s", "-w",
		"-X", versionPkg + ".Version=" + o.Version,
		"-X", versionPkg + ".Commit=" + o.Commit,
		"-X", versionPkg + ".Date=" + created.Format(time.RFC3339),
	}
	if image != "" {
		f = append(f, "-X", versionPkg+".Image="+image)
	}
	return f
}

// goBuild cross-compiles one static binary. -trimpath and -buildvcs=false
// keep paths and the checkout's state out of it.
func goBuild(o buildOptions, p platform, created time.Time, image, out string) error {
	abs, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	args := []string{"build", "-trimpath", "-buildvcs=false", "-mod=readonly", "-ldflags", strings.Join(ldflags(o, created, image), " "), "-o", abs}
	if o.TestRig {
		args = append(args, "-tags", testRigTag)
	}
	cmd := exec.Command("go", append(args, ".")...)
	cmd.Dir = o.Src
	cmd.Env = append(cleanEnv(os.Environ()), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Arch, "GOFLAGS=", "GOAMD64=v1", "GOARM64=v8.0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s/%s: %w", p.OS, p.Arch, err)
	}
	return nil
}

// cleanEnv drops variables that change what go build produces, so a
// developer's shell cannot make a release differ from CI's.
func cleanEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOOS", "GOARCH", "CGO_ENABLED", "GOFLAGS", "GOAMD64", "GOARM64", "GOEXPERIMENT", "CC", "CGO_CFLAGS", "CGO_LDFLAGS":
			continue
		}
		out = append(out, kv)
	}
	return out
}

// writeSums writes sha256sum(1)'s format: "<hex>  <name>", sorted by name.
func writeSums(path string, files []string) error {
	var lines []string
	for _, f := range files {
		sum, err := sha256File(f)
		if err != nil {
			return err
		}
		lines = append(lines, sum+"  "+filepath.Base(f))
	}
	sort.Slice(lines, func(i, j int) bool { return lines[i][66:] < lines[j][66:] })
	return os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
}

func sha256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
