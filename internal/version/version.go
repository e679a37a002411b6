// Package version holds what release builds stamp into the binary with
// -ldflags -X, and nothing else: every -X the release tool (tools/release)
// and the Dockerfile pass names a variable here, and tools/release's
// TestLinkerFlagsNameRealVariables fails when one does not exist (the
// linker ignores an -X whose target is missing). A build from source
// leaves them empty; internal/cli fills version, commit and date from the
// build information Go embeds.
package version

// Version, Commit and Date are what `pullsecret --version` prints: the
// release tag, the commit and its time (RFC 3339). Release builds set them:
//
//	-ldflags "-X github.com/pullsecret/pullsecret/internal/version.Version=v1.2.3 ..."
//
// Vars, not consts, so that -X can set them.
var Version, Commit, Date string

// Image is the image this release runs from, by digest
// (REPOSITORY@sha256:...), which the in-cluster refresher runs when the
// refresh_image input is empty. The release tool stamps it into the CLI
// binaries it publishes:
//
//	-ldflags "-X github.com/pullsecret/pullsecret/internal/version.Image=ghcr.io/pullsecret/pullsecret@sha256:..."
//
// The binary inside the image cannot carry it (an image's digest is not
// known before the binary inside it is built): a release's action.yml
// passes it in its args instead (cli.FlagReleaseImage), never through the
// environment, which a workflow's earlier steps control.
var Image string
