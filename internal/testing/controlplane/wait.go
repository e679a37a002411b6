package controlplane

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

const pollInterval = 100 * time.Millisecond

// poll calls check until it reports done, a component exits, or ctx ends. The last check error
// is part of the timeout error, so "not ready" says why.
func (c *ControlPlane) poll(ctx context.Context, what string, check func(context.Context) (bool, error)) error {
	start := time.Now()
	var last error
	for {
		for _, p := range c.procs {
			if p.exited() {
				return fmt.Errorf("%s exited (%v) while waiting for %s", p.name, p.waitErr, what)
			}
		}
		ok, err := check(ctx)
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not reached after %s (last error: %v): %w", what, time.Since(start).Round(time.Millisecond), last, ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

// waitEtcd waits for etcd's /health so an API server failure is not mistaken for an etcd one.
func (c *ControlPlane) waitEtcd(ctx context.Context, clientPort int) error {
	url := fmt.Sprintf("http://127.0.0.1:%d/health", clientPort)
	return c.poll(ctx, "etcd "+url, func(ctx context.Context) (bool, error) {
		return httpOK(ctx, http.DefaultClient, url)
	})
}

// waitReadyz waits for kube-apiserver's /readyz, which includes the RBAC bootstrap policy.
func (c *ControlPlane) waitReadyz(ctx context.Context) error {
	client, err := rest.HTTPClientFor(c.restConfig)
	if err != nil {
		return err
	}
	defer client.CloseIdleConnections()
	return c.poll(ctx, "kube-apiserver "+c.server+"/readyz", func(ctx context.Context) (bool, error) {
		return httpOK(ctx, client, c.server+"/readyz")
	})
}

// waitDefaultServiceAccount waits for the serviceaccount controller's first piece of work, proof
// that kube-controller-manager runs and is authorized.
func (c *ControlPlane) waitDefaultServiceAccount(ctx context.Context) error {
	cs, err := kubernetes.NewForConfig(c.restConfig)
	if err != nil {
		return err
	}
	return c.poll(ctx, "ServiceAccount default/default (created by kube-controller-manager)", func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err == nil, err
	})
}

func httpOK(ctx context.Context, client *http.Client, url string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("%s: %s: %s", url, resp.Status, body)
	}
	return true, nil
}
