// Command pullsecret writes a Google registry pull secret into Kubernetes
// namespaces. It runs as a GitHub Action (inputs from INPUT_* variables), a
// CLI or pre-deploy hook (flags), and a Kubernetes Job (in-cluster config).
// internal/cli has the command line; this file only wires the process in.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	// Go's copy of the Mozilla CA roots, used only where the system
	// provides none: the action image is the static binary alone (no base
	// image, no /etc/ssl), yet must verify Google's and the API server's
	// TLS.
	_ "golang.org/x/crypto/x509roots/fallback"
	"golang.org/x/term"

	"github.com/pullsecret/pullsecret/internal/cli"
	"github.com/pullsecret/pullsecret/internal/version"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, cli.Env{
		Args:      os.Args[1:],
		Stdin:     os.Stdin,
		Stdout:    os.Stdout,
		Stderr:    os.Stderr,
		Getenv:    os.Getenv,
		LookupEnv: os.LookupEnv,
		ReadFile:  os.ReadFile,
		Width:     terminalWidth(),
		Build:     cli.Build{Version: version.Version, Commit: version.Commit, Date: version.Date, Image: version.Image},
	})
	stop()
	os.Exit(code)
}

// terminalWidth is --help's width: the terminal's, else 80.
func terminalWidth() int {
	if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil && w > 0 {
		return w
	}
	return 80
}
