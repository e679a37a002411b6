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

	"golang.org/x/term"

	"github.com/pullsecret/pullsecret/internal/cli"
)

// Set at build time with -ldflags "-X main.version=… -X main.commit=…
// -X main.date=…" (the Dockerfile does); empty ones are read from the
// build information Go embeds.
var version, commit, date string

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
		Build:     cli.Build{Version: version, Commit: commit, Date: date},
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
