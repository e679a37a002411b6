package main

import (
	"bytes"
	"fmt"
	"regexp"
)

var imageDigestRef = regexp.MustCompile(`^[a-z0-9.:-]+(/[a-z0-9._-]+)+@sha256:[0-9a-f]{64}$`)

// pinActionYAML rewrites the `runs:` block of main's action.yml (which
// builds the Dockerfile, so `uses: ./` tests the code under review) into the
// release commit's: the prebuilt image by digest, which users of @vX pull
// instead of building. The hidden flag --release-image in args tells the
// running binary which image it is (the refresher Job defaults to running
// the same image); the digest cannot be baked into the binary inside that
// very image. Not runs.env: a workflow's env: and $GITHUB_ENV override it,
// and an earlier step must not choose the image the refresher runs.
func pinActionYAML(in []byte, image, version string) ([]byte, error) {
	if !imageDigestRef.MatchString(image) {
		return nil, fmt.Errorf("-image %q is not REPOSITORY@sha256:<64 hex>", image)
	}
	if !semver.MatchString(version) {
		return nil, fmt.Errorf("-version %q is not vMAJOR.MINOR.PATCH", version)
	}
	i := bytes.Index(in, []byte("\nruns:\n"))
	if i < 0 {
		return nil, fmt.Errorf("no top-level runs: block")
	}
	runs := in[i+1:]
	if !bytes.Contains(runs, []byte("\n  using: docker\n")) || !bytes.Contains(runs, []byte("\n  image: Dockerfile\n")) {
		return nil, fmt.Errorf("runs: is not `using: docker` with `image: Dockerfile` (already pinned?)")
	}
	var b bytes.Buffer
	b.Write(in[:i+1])
	fmt.Fprintf(&b, `runs:
  using: docker
  # Release %s: the prebuilt, signed image, pinned by digest (nothing is
  # built on your runner). Verify it: see docs/releases.md, "Verifying a release".
  image: docker://%s
  args:
    - --release-image=%s
`, version, image, image)
	return b.Bytes(), nil
}

// cronJobImage is the container image line of deploy/cronjob.yaml.
var cronJobImage = regexp.MustCompile(`(?m)^(\s+image:\s*)(\S+)\s*$`)

// pinCronJob rewrites deploy/cronjob.yaml's one image line to the release
// image by digest: a CronJob that follows a tag would run whatever the tag
// points at next, unsigned and unverified, with the cluster's credentials.
func pinCronJob(in []byte, image, version string) ([]byte, error) {
	if !imageDigestRef.MatchString(image) {
		return nil, fmt.Errorf("-image %q is not REPOSITORY@sha256:<64 hex>", image)
	}
	m := cronJobImage.FindAllSubmatchIndex(in, -1)
	if len(m) != 1 {
		return nil, fmt.Errorf("want exactly one image: line, found %d", len(m))
	}
	var b bytes.Buffer
	b.Write(in[:m[0][4]])
	fmt.Fprintf(&b, "%s # release %s, by digest", image, version)
	b.Write(in[m[0][5]:])
	return b.Bytes(), nil
}
