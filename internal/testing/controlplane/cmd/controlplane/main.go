// Command controlplane builds the pinned etcd/Kubernetes binaries and runs a local control plane.
//
//	go run ./internal/testing/controlplane/cmd/controlplane build [-components kubelet,kubeadm|all]
//	go run ./internal/testing/controlplane/cmd/controlplane up [-kubeconfig /tmp/kc] [-workdir DIR] [-keep] [-v]
//
// `build` prints name=path lines. `up` writes the admin kubeconfig once the control plane is
// ready (scripts can wait for the file), prints KUBECONFIG=<path> on stdout, and runs until
// SIGINT/SIGTERM, then stops the components and removes the kubeconfig.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/pullsecret/pullsecret/internal/testing/controlplane"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopWithParent()
	var err error
	switch os.Args[1] {
	case "build":
		err = build(ctx, os.Args[2:])
	case "up":
		err = up(ctx, os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "controlplane %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintf(os.Stderr, "usage: controlplane build [flags] | controlplane up [flags]  (-h for flags)\n")
	os.Exit(2)
}

func build(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("build", flag.ExitOnError)
	cacheDir := fs.String("cache-dir", "", "binary cache (default $PULLSECRET_CACHE or ~/.cache/pullsecret)")
	components := fs.String("components", "", `extra Kubernetes commands, comma-separated, or "all" (`+strings.Join(controlplane.AllKubeCommands, ",")+")")
	_ = fs.Parse(args)

	opts := controlplane.BuildOptions{CacheDir: *cacheDir}
	switch *components {
	case "":
	case "all":
		opts.Components = controlplane.AllKubeCommands
	default:
		opts.Components = strings.Split(*components, ",")
	}
	start := time.Now()
	bins, err := controlplane.EnsureBinaries(ctx, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "controlplane: binaries ready in %s\n", time.Since(start).Round(time.Millisecond))
	fmt.Printf("etcd=%s\n", bins.Etcd)
	// One line per command: "all" names the default ones again, and a
	// caller reading NAME= lines must get one path per name.
	printed := map[string]bool{}
	for _, c := range append([]string{controlplane.KubeAPIServer, controlplane.KubeControllerManager, controlplane.Kubectl}, opts.Components...) {
		if !printed[c] {
			printed[c] = true
			fmt.Printf("%s=%s\n", c, filepath.Join(bins.KubeDir, c))
		}
	}
	return nil
}

func up(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("up", flag.ExitOnError)
	kubeconfig := fs.String("kubeconfig", "", "also write the admin kubeconfig here (removed on exit)")
	workDir := fs.String("workdir", "", "directory for certificates, etcd data and logs (default: a temporary directory)")
	keep := fs.Bool("keep", false, "keep the temporary work directory on exit")
	cacheDir := fs.String("cache-dir", "", "binary cache (default $PULLSECRET_CACHE or ~/.cache/pullsecret)")
	verbose := fs.Bool("v", false, "copy component logs to stderr")
	_ = fs.Parse(args)

	opts := controlplane.Options{CacheDir: *cacheDir, WorkDir: *workDir, KeepWorkDir: *keep}
	if *verbose {
		opts.Stdout, opts.Stderr = os.Stderr, os.Stderr
	}
	start := time.Now()
	cp, err := controlplane.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer cp.Stop()

	path := cp.Kubeconfig()
	if *kubeconfig != "" {
		if path, err = filepath.Abs(*kubeconfig); err != nil {
			return err
		}
		if err := copyFile(cp.Kubeconfig(), path); err != nil {
			return err
		}
		defer os.Remove(path)
	}
	fmt.Fprintf(os.Stderr, "controlplane: %s ready in %s; logs in %s; Ctrl-C to stop\n",
		cp.Server(), time.Since(start).Round(time.Millisecond), cp.LogDir())
	fmt.Printf("KUBECONFIG=%s\n", path)

	select {
	case <-ctx.Done():
		fmt.Fprintln(os.Stderr, "controlplane: stopping")
		return cp.Stop()
	case <-cp.Done():
		return cp.Err() // a component died; its log is named in the error
	}
}

// copyFile writes dst via a rename so a script waiting for it never reads a partial file.
func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// stopWithParent turns the death of our parent into a SIGTERM, which stops the control plane
// cleanly. Under `go run`, a script's `kill $!` hits the go command, which dies without
// forwarding the signal; without this the control plane would run on as an orphan.
func stopWithParent() {
	parent := os.Getppid()
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0)
	if os.Getppid() != parent { // the parent died before the prctl took effect
		_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
	}
}
