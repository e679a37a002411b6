package controlplane

import (
	"context"
	"fmt"
	"os"
)

// RestartAPIServer stops kube-apiserver (SIGTERM, as a rolling upgrade does)
// and starts it again on the same port with the same etcd data and
// certificates, returning once /readyz succeeds. Meanwhile clients see their
// connections closed and new ones refused; etcd and kube-controller-manager
// keep running. Not safe to call concurrently with Stop or itself.
func (c *ControlPlane) RestartAPIServer(ctx context.Context) error {
	i := -1
	for j, p := range c.procs {
		if p.name == "kube-apiserver" {
			i = j
		}
	}
	if i < 0 {
		return fmt.Errorf("no kube-apiserver to restart")
	}
	old := c.procs[i]
	old.replaced.Store(true) // its exit is not a failure of the control plane
	if err := old.stop(stopGrace); err != nil {
		return err
	}
	// Keep the first run's log next to the new one.
	_ = os.Rename(old.logPath, old.logPath+".before-restart")
	p, err := startProcess(old.name, old.cmd.Path, old.cmd.Args[1:], c.logDir, nil, nil)
	if err != nil {
		return err
	}
	c.procs[i] = p
	go c.watch(p)
	if err := c.waitReadyz(ctx); err != nil {
		return fmt.Errorf("kube-apiserver after restart: %w", err)
	}
	return nil
}
