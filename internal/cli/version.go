package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Build identifies the binary. main passes what release builds stamp into
// internal/version (-ldflags -X); Resolve fills what a plain `go build` or
// `go install` left empty from the module and VCS stamps.
type Build struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Date    string `json:"date"`
	Go      string `json:"go"`
	// Image is the release's image by digest, stamped into released CLI
	// binaries (the refresher's default image); empty otherwise.
	Image string `json:"image,omitempty"`
	// readBuildInfo is debug.ReadBuildInfo; tests replace it.
	readBuildInfo func() (*debug.BuildInfo, bool)
}

// Resolve fills what the linker did not set from the build information
// Go embeds; what is still unknown says so.
func (b Build) Resolve() Build {
	read := b.readBuildInfo
	if read == nil {
		read = debug.ReadBuildInfo
	}
	if bi, ok := read(); ok {
		if b.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			b.Version = bi.Main.Version
		}
		var modified, fromVCS bool
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if b.Commit == "" {
					b.Commit, fromVCS = s.Value, true
				}
			case "vcs.time":
				if b.Date == "" {
					b.Date = s.Value
				}
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if modified && fromVCS {
			b.Commit += "-dirty"
		}
		b.Go = bi.GoVersion
	}
	if b.Go == "" {
		b.Go = runtime.Version()
	}
	for _, f := range []*string{&b.Version, &b.Commit, &b.Date} {
		if *f == "" {
			*f = "unknown"
		}
	}
	if b.Version == "unknown" {
		b.Version = "dev"
	}
	return b
}

// writeVersion prints --version on standard output: one line, or one
// JSON object with --output json.
func writeVersion(w io.Writer, b Build, output string) int {
	if output == OutputJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(b); err != nil {
			return ExitFailed
		}
		return ExitOK
	}
	if _, err := fmt.Fprintf(w, "pullsecret %s (commit %s, built %s, %s)\n", b.Version, b.Commit, b.Date, b.Go); err != nil {
		return ExitFailed
	}
	if b.Image != "" {
		if _, err := fmt.Fprintf(w, "image %s\n", b.Image); err != nil {
			return ExitFailed
		}
	}
	return ExitOK
}
