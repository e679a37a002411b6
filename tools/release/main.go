// Command release builds pullsecret's release artifacts from one commit,
// reproducibly: the same commit and SOURCE_DATE_EPOCH give byte-identical
// binaries, SBOM and image (hence the same image digest).
//
//	release build -version v1.2.3 -commit SHA -epoch SECONDS -out dist [-repo REGISTRY/REPO] [-push]
//	release pin -image REPO@sha256:... -version v1.2.3 action.yml
//
// build writes, under -out:
//
//	pullsecret_<os>_<arch>[.exe]   CLI binaries (linux, darwin, windows × amd64, arm64)
//	pullsecret.spdx.json           SPDX 2.3 SBOM from the binaries' embedded build info
//	SHA256SUMS                     sha256sum(1) format, over the two above
//	image/                         the multi-arch action image as an OCI image layout
//	image.digest, image.ref        its index digest and REPO@digest (with -repo)
//
// With -push the image index is pushed to -repo and tagged with the version
// and its major version (v1.2.3 and v1). pin rewrites an action.yml's
// `runs:` so the action runs that image by digest (the release commit).
//
// It lives in its own module so the release tooling's dependencies
// (go-containerregistry) never enter the shipped binary's module graph.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: release build|pin [flags]")
	}
	switch args[0] {
	case "build":
		return buildCmd(args[1:])
	case "pin":
		return pinCmd(args[1:])
	default:
		return fmt.Errorf("unknown command %q (build, pin)", args[0])
	}
}

func buildCmd(args []string) error {
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	var o buildOptions
	fs.StringVar(&o.Version, "version", "", "release version, vX.Y.Z")
	fs.StringVar(&o.Commit, "commit", "", "full commit SHA being released")
	fs.Int64Var(&o.Epoch, "epoch", -1, "SOURCE_DATE_EPOCH: the commit's timestamp, used for every date in the artifacts")
	fs.StringVar(&o.Src, "src", ".", "root of the pullsecret module")
	fs.StringVar(&o.Out, "out", "dist", "output directory (must not exist or be empty)")
	fs.StringVar(&o.Repo, "repo", "", "image repository, e.g. ghcr.io/pullsecret/pullsecret or localhost:5000/pullsecret")
	fs.StringVar(&o.SourceURL, "source-url", "https://github.com/pullsecret/pullsecret", "repository URL recorded in the image labels and SBOM")
	plats := fs.String("platforms", "", "comma-separated OS/ARCH targets to build, e.g. linux/amd64 for a test build (default: every release target)")
	push := fs.Bool("push", false, "push the image index to -repo, tagged with the version and its major")
	fs.BoolVar(&o.TestRig, "test-rig", false, "build with the test-rig switches on (the e2e tier's image; pre-release versions only, never a release)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.Epoch < 0 {
		if v := os.Getenv("SOURCE_DATE_EPOCH"); v != "" {
			if _, err := fmt.Sscan(v, &o.Epoch); err != nil {
				return fmt.Errorf("SOURCE_DATE_EPOCH %q: %w", v, err)
			}
		}
	}
	var err error
	if o.Platforms, err = parsePlatforms(*plats); err != nil {
		return err
	}
	if *push && o.Repo == "" {
		return fmt.Errorf("-push needs -repo")
	}
	a, err := build(o)
	if err != nil {
		return err
	}
	if *push {
		if err := pushIndex(a.Index, o.Repo, pushTags(o.Version)); err != nil {
			return err
		}
	}
	if err := printImageSizes(a); err != nil {
		return err
	}
	fmt.Println(a.Digest)
	return nil
}

// printImageSizes reports each platform's pull size (manifest, config and
// compressed layers) on stderr.
func printImageSizes(a *artifacts) error {
	im, err := a.Index.IndexManifest()
	if err != nil {
		return err
	}
	for _, m := range im.Manifests {
		img, err := a.Index.Image(m.Digest)
		if err != nil {
			return err
		}
		mf, err := img.Manifest()
		if err != nil {
			return err
		}
		total := m.Size + mf.Config.Size
		for _, l := range mf.Layers {
			total += l.Size
		}
		fmt.Fprintf(os.Stderr, "image %s: %s, %d bytes to pull\n", m.Platform, m.Digest, total)
	}
	return nil
}

func pinCmd(args []string) error {
	fs := flag.NewFlagSet("pin", flag.ContinueOnError)
	image := fs.String("image", "", "REPO@sha256:DIGEST the release runs")
	version := fs.String("version", "", "release version")
	cronjob := fs.String("cronjob", "", "also pin this deploy/cronjob.yaml to the image")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("pin: want exactly one action.yml path")
	}
	if err := rewrite(fs.Arg(0), func(in []byte) ([]byte, error) { return pinActionYAML(in, *image, *version) }); err != nil {
		return err
	}
	if *cronjob == "" {
		return nil
	}
	return rewrite(*cronjob, func(in []byte) ([]byte, error) { return pinCronJob(in, *image, *version) })
}

func rewrite(path string, edit func([]byte) ([]byte, error)) error {
	in, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, err := edit(in)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, out, 0o644)
}
