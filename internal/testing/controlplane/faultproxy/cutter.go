package faultproxy

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"sync"
	"time"

	"k8s.io/client-go/tools/clientcmd"
)

// Cutter is a TCP proxy in front of the API server that passes the TLS
// stream through untouched, so the client speaks HTTP/2 over one
// connection exactly as it does to the API server itself, and cuts every
// open connection at once (a TCP reset) when told to or at random: what a
// control-plane upgrade, a load balancer or a network blip does to a
// client. Unlike Proxy, it cannot pick requests: a cut fails everything in
// flight on the connection.
type Cutter struct {
	ln       net.Listener
	upstream string

	mu    sync.Mutex
	conns map[*pair]struct{}
	cuts  int
	down  bool
	wg    sync.WaitGroup
	// closing ends CutRandomly's loop.
	closing chan struct{}
}

type pair struct{ client, server net.Conn }

// NewCutter listens on a loopback port and forwards to upstream
// (https://host:port, the API server's URL).
func NewCutter(upstream string) (*Cutter, error) {
	u, err := url.Parse(upstream)
	if err != nil {
		return nil, fmt.Errorf("upstream %q: %w", upstream, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c := &Cutter{ln: ln, upstream: u.Host, conns: map[*pair]struct{}{}, closing: make(chan struct{})}
	c.wg.Add(1)
	go c.accept()
	return c, nil
}

// Addr is the host:port clients dial.
func (c *Cutter) Addr() string { return c.ln.Addr().String() }

// Kubeconfig rewrites the kubeconfig at path (its current context's
// cluster) to reach the API server through the cutter. The API server's
// certificate names 127.0.0.1, which the cutter listens on too.
func (c *Cutter) Kubeconfig(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cfg, err := clientcmd.Load(raw)
	if err != nil {
		return nil, err
	}
	ctx := cfg.Contexts[cfg.CurrentContext]
	if ctx == nil || cfg.Clusters[ctx.Cluster] == nil {
		return nil, fmt.Errorf("kubeconfig %s: no current context", path)
	}
	cfg.Clusters[ctx.Cluster].Server = "https://" + c.Addr()
	return clientcmd.Write(*cfg)
}

func (c *Cutter) accept() {
	defer c.wg.Done()
	for {
		conn, err := c.ln.Accept()
		if err != nil {
			return
		}
		c.mu.Lock()
		down := c.down
		c.mu.Unlock()
		if down {
			resetConn(conn)
			continue
		}
		server, err := net.Dial("tcp", c.upstream)
		if err != nil {
			resetConn(conn)
			continue
		}
		p := &pair{client: conn, server: server}
		c.mu.Lock()
		c.conns[p] = struct{}{}
		c.mu.Unlock()
		c.wg.Add(2)
		go c.pipe(p, p.server, p.client)
		go c.pipe(p, p.client, p.server)
	}
}

func (c *Cutter) pipe(p *pair, dst, src net.Conn) {
	defer c.wg.Done()
	_, _ = io.Copy(dst, src)
	c.mu.Lock()
	delete(c.conns, p)
	c.mu.Unlock()
	_ = p.client.Close()
	_ = p.server.Close()
}

// Cut resets every open connection and returns how many there were.
func (c *Cutter) Cut() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.conns)
	for p := range c.conns {
		resetConn(p.client)
		_ = p.server.Close()
		delete(c.conns, p)
	}
	if n > 0 {
		c.cuts++
	}
	return n
}

// Cuts is how many cuts found at least one connection to reset.
func (c *Cutter) Cuts() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cuts
}

// Down makes the cutter behave as a server that is gone (on: every open
// connection is reset and every new one too) or back (off).
func (c *Cutter) Down(on bool) {
	c.mu.Lock()
	c.down = on
	c.mu.Unlock()
	if on {
		c.Cut()
	}
}

// CutRandomly cuts at random intervals drawn uniformly from [lo, hi),
// reproducibly for a seed, until ctx ends.
func (c *Cutter) CutRandomly(ctx context.Context, seed uint64, lo, hi time.Duration) {
	rng := rand.New(rand.NewPCG(seed, seed^0x5bd1e995))
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for {
			t := time.NewTimer(lo + time.Duration(rng.Int64N(int64(hi-lo))))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-c.closing:
				t.Stop()
				return
			case <-t.C:
				c.Cut()
			}
		}
	}()
}

// Close stops listening, resets what is open and waits for the pipes.
func (c *Cutter) Close() {
	close(c.closing)
	_ = c.ln.Close()
	c.Down(true)
	c.wg.Wait()
}

// resetConn closes with linger 0: the peer gets a TCP reset, not an EOF.
func resetConn(conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}
