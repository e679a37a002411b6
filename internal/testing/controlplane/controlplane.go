// Package controlplane runs a real Kubernetes control plane (etcd, kube-apiserver and
// kube-controller-manager as local processes on loopback) so pullsecret's Kubernetes behaviour is
// tested against the real API server, RBAC and controllers rather than client-go's fake.
//
// Binaries are built from pinned nested modules (tools/upstream/kubernetes, tools/upstream/etcd) and cached; see
// EnsureBinaries. Linux only (process groups, Pdeathsig, flock).
package controlplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"
)

// Options configures Start. The zero value starts a control plane in a fresh temporary directory.
type Options struct {
	// CacheDir is passed to EnsureBinaries when Binaries is nil.
	CacheDir string
	// WorkDir receives certificates, etcd data, kubeconfigs and logs. Default: a new temporary
	// directory, removed by Stop unless KeepWorkDir. A caller-supplied WorkDir is never removed,
	// but its etcd data and certificates are replaced: every start is a fresh cluster.
	WorkDir string
	// Binaries overrides the executables; default EnsureBinaries (building on first use).
	Binaries *Binaries
	// Stdout and Stderr, when set, also receive the components' output (lines prefixed with the
	// component name). It is always written to LogDir()/<component>.log. Stderr also receives
	// build progress (default os.Stderr).
	Stdout, Stderr io.Writer
	// KeepWorkDir keeps the work directory after Stop, e.g. to read the logs.
	KeepWorkDir bool
	// Controllers overrides DefaultControllers.
	Controllers []string
	// ExtraAPIServerArgs are appended to kube-apiserver's flags (e.g. an
	// audit log for counting requests in benchmarks).
	ExtraAPIServerArgs []string
	// StartTimeout bounds waiting for readiness (not the binary build). Default 2 minutes, which
	// leaves room for several control planes starting at once on a 2-core machine.
	StartTimeout time.Duration
}

// ControlPlane is a running etcd + kube-apiserver + kube-controller-manager.
type ControlPlane struct {
	workDir     string
	ownsWorkDir bool
	keepWorkDir bool
	logDir      string
	server      string
	ca          *keyPair
	kubeconfig  string
	restConfig  *rest.Config
	binaries    Binaries
	procs       []*process // in start order; stopped in reverse

	done     chan struct{} // closed when the first component exits, or on Stop
	doneOnce sync.Once
	mu       sync.Mutex
	err      error // why done was closed
	users    int   // KubeconfigFor files written so far
	stopOnce sync.Once
	stopErr  error
}

// ErrStopped is what Err returns after Stop.
var ErrStopped = errors.New("control plane stopped")

// errPortInUse marks a start failure caused by losing a port race, which Start retries.
var errPortInUse = errors.New("port already in use")

const startAttempts = 3

// Start builds (if needed) and starts a control plane, returning once /readyz succeeds and the
// serviceaccount controller has created the `default` ServiceAccount in namespace `default`.
// ctx bounds only the start; the components run until Stop. On failure nothing is left running
// and the error carries the tail of each component's log and the directory holding the logs.
func Start(ctx context.Context, opts Options) (*ControlPlane, error) {
	if opts.Binaries == nil {
		bins, err := EnsureBinaries(ctx, BuildOptions{CacheDir: opts.CacheDir, Log: opts.Stderr})
		if err != nil {
			return nil, fmt.Errorf("control plane binaries: %w", err)
		}
		opts.Binaries = &bins
	}
	if len(opts.Controllers) == 0 {
		opts.Controllers = DefaultControllers
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 2 * time.Minute
	}
	var err error
	for range startAttempts {
		var c *ControlPlane
		if c, err = start(ctx, opts); !errors.Is(err, errPortInUse) {
			return c, err
		}
	}
	return nil, err
}

func start(ctx context.Context, opts Options) (_ *ControlPlane, err error) {
	c := &ControlPlane{workDir: opts.WorkDir, keepWorkDir: opts.KeepWorkDir, binaries: *opts.Binaries, done: make(chan struct{})}
	if c.workDir == "" {
		if c.workDir, err = os.MkdirTemp("", "pullsecret-controlplane-"); err != nil {
			return nil, err
		}
		c.ownsWorkDir = true
	}
	c.logDir = filepath.Join(c.workDir, "logs")
	// Every start is a fresh cluster: etcd data or certificates left in a reused WorkDir would
	// belong to another CA, signing key and set of ports.
	for _, d := range []string{"pki", "users", "etcd-data"} {
		if err := os.RemoveAll(filepath.Join(c.workDir, d)); err != nil {
			return nil, err
		}
	}
	for _, d := range []string{c.logDir, filepath.Join(c.workDir, "pki"), filepath.Join(c.workDir, "users")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	defer func() {
		if err != nil {
			err = c.abort(err)
		}
	}()

	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	etcdClient, etcdPeer, apiPort := ports[0], ports[1], ports[2]
	c.server = fmt.Sprintf("https://127.0.0.1:%d", apiPort)
	f, err := c.writePKI()
	if err != nil {
		return nil, fmt.Errorf("generating certificates: %w", err)
	}

	waitCtx, cancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancel()
	bins := opts.Binaries
	if err := c.run("etcd", bins.Etcd, etcdArgs(f, etcdClient, etcdPeer), opts); err != nil {
		return nil, err
	}
	if err := c.waitEtcd(waitCtx, etcdClient); err != nil {
		return nil, err
	}
	if err := c.run("kube-apiserver", bins.KubeAPIServer, append(apiserverArgs(f, etcdClient, apiPort), opts.ExtraAPIServerArgs...), opts); err != nil {
		return nil, err
	}
	if err := c.waitReadyz(waitCtx); err != nil {
		return nil, err
	}
	if err := c.run("kube-controller-manager", bins.KubeControllerManager, controllerManagerArgs(f, opts.Controllers), opts); err != nil {
		return nil, err
	}
	if err := c.waitDefaultServiceAccount(waitCtx); err != nil {
		return nil, err
	}
	for _, p := range c.procs {
		go c.watch(p)
	}
	return c, nil
}

// writePKI generates the CA, serving and client certificates, the token signing key, and the
// admin and kube-controller-manager kubeconfigs (c.server must be set).
func (c *ControlPlane) writePKI() (files, error) {
	pki := filepath.Join(c.workDir, "pki")
	f := files{pkiDir: pki, etcdData: filepath.Join(c.workDir, "etcd-data")}
	var err error
	if c.ca, err = newCA("pullsecret-controlplane-ca"); err != nil {
		return f, err
	}
	if f.caCert, _, err = writeKeyPair(pki, "ca", c.ca); err != nil {
		return f, err
	}
	serving, err := servingCert(c.ca, net.IPv4(10, 0, 0, 1)) // first address of serviceCIDR
	if err != nil {
		return f, err
	}
	if f.servingCert, f.servingKey, err = writeKeyPair(pki, "apiserver", serving); err != nil {
		return f, err
	}
	if f.saKey, f.saPub, err = writeServiceAccountKey(pki); err != nil {
		return f, err
	}
	admin, err := clientCert(c.ca, "pullsecret-admin", []string{"system:masters"})
	if err != nil {
		return f, err
	}
	c.kubeconfig = filepath.Join(c.workDir, "admin.kubeconfig")
	if c.restConfig, err = writeKubeconfig(c.kubeconfig, c.server, c.ca, admin, "admin"); err != nil {
		return f, err
	}
	// The identity kubeadm gives kube-controller-manager; bootstrap RBAC already binds it.
	kcm, err := clientCert(c.ca, "system:kube-controller-manager", nil)
	if err != nil {
		return f, err
	}
	f.kcmKubeconfig = filepath.Join(c.workDir, "kube-controller-manager.kubeconfig")
	_, err = writeKubeconfig(f.kcmKubeconfig, c.server, c.ca, kcm, "kube-controller-manager")
	return f, err
}

// run starts one component and records it so that Stop (or a failed start) ends it.
func (c *ControlPlane) run(name, path string, args []string, opts Options) error {
	p, err := startProcess(name, path, args, c.logDir, opts.Stdout, opts.Stderr)
	if err != nil {
		return err
	}
	c.procs = append(c.procs, p)
	return nil
}

// watch reports the first component that exits on its own through Done and Err.
func (c *ControlPlane) watch(p *process) {
	<-p.done
	if p.replaced.Load() {
		return
	}
	c.finish(fmt.Errorf("%s exited unexpectedly (%v); see %s", p.name, p.waitErr, p.logPath))
}

func (c *ControlPlane) finish(err error) {
	c.doneOnce.Do(func() {
		c.mu.Lock()
		c.err = err
		c.mu.Unlock()
		close(c.done)
	})
}

// portInUse recognises Go's bind error in a component's log.
var portInUse = regexp.MustCompile(`bind: address already in use`)

// abort cleans up after a failed start and returns cause with every component's log tail. The
// logs stay on disk (the rest of an owned work directory is removed) so the error can point at them.
func (c *ControlPlane) abort(cause error) error {
	var tails []string
	lostPortRace := false
	for _, p := range c.procs {
		_ = p.stop(stopGrace)
		tail := p.logTail(30)
		tails = append(tails, tail)
		lostPortRace = lostPortRace || portInUse.MatchString(tail)
	}
	if c.ownsWorkDir && !c.keepWorkDir {
		entries, _ := os.ReadDir(c.workDir)
		for _, e := range entries {
			if e.Name() != "logs" {
				_ = os.RemoveAll(filepath.Join(c.workDir, e.Name()))
			}
		}
	}
	err := fmt.Errorf("starting control plane: %w\nlogs: %s\n%s", cause, c.logDir, strings.Join(tails, "\n"))
	if lostPortRace {
		err = fmt.Errorf("%w: %w", errPortInUse, err)
	}
	return err
}

// stopGrace is how long a component gets to exit after SIGTERM before SIGKILL.
const stopGrace = 15 * time.Second

// Stop ends the components (SIGTERM, then SIGKILL after a grace period) in reverse start order and
// removes the work directory unless it was supplied or KeepWorkDir is set. It is safe to call
// more than once.
func (c *ControlPlane) Stop() error {
	c.stopOnce.Do(func() {
		c.finish(ErrStopped)
		var errs []error
		for i := len(c.procs) - 1; i >= 0; i-- {
			errs = append(errs, c.procs[i].stop(stopGrace))
		}
		if c.ownsWorkDir && !c.keepWorkDir {
			errs = append(errs, os.RemoveAll(c.workDir))
		}
		c.stopErr = errors.Join(errs...)
	})
	return c.stopErr
}

// Done is closed when a component exits unexpectedly or Stop is called; Err says which.
func (c *ControlPlane) Done() <-chan struct{} { return c.done }

// Err is nil while the control plane runs, ErrStopped after Stop, or names the component that died.
func (c *ControlPlane) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Kubeconfig is the path of a kubeconfig for a system:masters user (bypasses RBAC).
func (c *ControlPlane) Kubeconfig() string { return c.kubeconfig }

// RESTConfig returns a fresh copy of the admin (system:masters) client configuration.
func (c *ControlPlane) RESTConfig() *rest.Config { return rest.CopyConfig(c.restConfig) }

// Server is the API server URL, https://127.0.0.1:<port>.
func (c *ControlPlane) Server() string { return c.server }

// LogDir holds <component>.log for each component.
func (c *ControlPlane) LogDir() string { return c.logDir }

// Binaries are the executables this control plane runs (Kubectl included, for scripts).
func (c *ControlPlane) Binaries() Binaries { return c.binaries }

// WorkDir holds the certificates, etcd data, kubeconfigs and logs.
func (c *ControlPlane) WorkDir() string { return c.workDir }
