package runner

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"time"

	"github.com/pullsecret/pullsecret/internal/kube"
	"github.com/pullsecret/pullsecret/internal/refresher"
)

// projectedTokenOutOfCluster: out of cluster there is no projected
// ServiceAccount token (the pod's volume). When a.TokenFile does not
// exist, the token is requested as kubelet does it for the volume (the
// TokenRequest API: the refresher's ServiceAccount, the volume's audience
// and lifetime) and served in its place, requested again when 80% of its
// life has passed (kubelet's rotation), so Google sees the same identity
// as in cluster.
func projectedTokenOutOfCluster(ctx context.Context, c *kube.Client, a *RefresherArgs, d Deps) (Deps, error) {
	if _, err := d.ReadFile(a.TokenFile); !errors.Is(err, fs.ErrNotExist) {
		return d, nil
	}
	src := &requestedToken{c: c, ctx: context.WithoutCancel(ctx), namespace: a.Namespace, name: a.Name,
		audience: refresher.ProjectedTokenAudience(a.Provider), mask: d.Reporter.Mask, now: d.Now}
	if _, err := src.get(); err != nil {
		return d, fmt.Errorf("no projected token at %s (out of cluster?), and requesting one for the refresher's ServiceAccount %s/%s failed: %w", a.TokenFile, a.Namespace, a.Name, err)
	}
	d.Reporter.Infof("Out of cluster: the refresher's ServiceAccount token comes from the TokenRequest API (%s/%s)", a.Namespace, a.Name)
	readFile, path := d.ReadFile, a.TokenFile
	d.ReadFile = func(p string) ([]byte, error) {
		if p == path {
			return src.get()
		}
		return readFile(p)
	}
	return d, nil
}

type requestedToken struct {
	c                         *kube.Client
	ctx                       context.Context
	namespace, name, audience string
	mask                      func(string)
	now                       func() time.Time

	mu     sync.Mutex
	token  string
	issued time.Time
	expiry time.Time
}

func (t *requestedToken) get() ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if t.token != "" && now.Before(t.issued.Add(t.expiry.Sub(t.issued)*8/10)) {
		return []byte(t.token), nil
	}
	tok, exp, err := t.c.ServiceAccountToken(t.ctx, t.namespace, t.name, t.audience, refresher.TokenExpirationSeconds*time.Second)
	if err != nil {
		return nil, err
	}
	t.mask(tok)
	t.token, t.issued, t.expiry = tok, now, exp
	return []byte(tok), nil
}
