package runner

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/pullsecret/pullsecret/internal/kube"
	"github.com/pullsecret/pullsecret/internal/refresher"
)

// projectedTokenOutOfCluster: out of cluster there is no projected
// ServiceAccount token (the pod's volume). When a.TokenFile does not
// exist, the token is requested as kubelet does it for the volume (the
// TokenRequest API: the refresher's ServiceAccount, the volume's audience
// and lifetime) and written where kubelet would write it, to a private
// directory of this process (the credential configuration's
// credential_source is a file Google's client library opens itself),
// requested again when 80% of its life has passed (kubelet's rotation),
// so Google sees the same identity as in cluster. It returns the token
// file to use and a cleanup that stops the rotation and removes it.
func projectedTokenOutOfCluster(ctx context.Context, c *kube.Client, a *RefresherArgs, d Deps) (string, func(), error) {
	if _, err := d.ReadFile(a.TokenFile); !errors.Is(err, fs.ErrNotExist) {
		return a.TokenFile, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "pullsecret-refresher-")
	if err != nil {
		return "", nil, fmt.Errorf("failed to create a directory for the refresher's ServiceAccount token: %w", err)
	}
	path := filepath.Join(dir, "token")
	audience := refresher.ProjectedTokenAudience(a.Provider)
	request := func(ctx context.Context) (time.Duration, error) {
		tok, exp, err := c.ServiceAccountToken(ctx, a.Namespace, a.Name, audience, refresher.TokenExpirationSeconds*time.Second)
		if err != nil {
			return 0, err
		}
		d.Reporter.Mask(tok)
		tmp := path + ".new"
		if err := os.WriteFile(tmp, []byte(tok), 0o600); err != nil {
			return 0, err
		}
		return time.Until(exp) * 8 / 10, os.Rename(tmp, path)
	}
	next, err := request(ctx)
	if err != nil {
		_ = os.RemoveAll(dir)
		return "", nil, fmt.Errorf("no projected token at %s (out of cluster?), and requesting one for the refresher's ServiceAccount %s/%s failed: %w", a.TokenFile, a.Namespace, a.Name, err)
	}
	d.Reporter.Infof("Out of cluster: the refresher's ServiceAccount token comes from the TokenRequest API (%s/%s)", a.Namespace, a.Name)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			t := time.NewTimer(max(next, time.Second))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			if next, err = request(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				d.Reporter.Warningf("failed to request the refresher's ServiceAccount token again (retrying in 10s): %v", err)
				next = 10 * time.Second
			}
		}
	}()
	return path, func() { cancel(); <-done; _ = os.RemoveAll(dir) }, nil
}
