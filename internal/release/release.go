// Package release holds facts about the build that release pipelines stamp
// into the binary with -ldflags -X; a build from source leaves them empty.
package release

// DefaultImage is the image this release runs from, by digest
// (REPOSITORY@sha256:...), which the in-cluster refresher runs when the
// refresh_image input is empty. Release builds set it:
//
//	-ldflags "-X github.com/pullsecret/pullsecret/internal/release.DefaultImage=ghcr.io/pullsecret/pullsecret@sha256:..."
//
// A var, not a const, so that -X can set it.
var DefaultImage = ""
