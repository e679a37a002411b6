// Package kube owns everything pullsecret does to a cluster: connecting,
// choosing namespaces, applying the pull secret and merging it into
// ServiceAccounts.
package kube

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// FieldManager is how our writes appear in managedFields.
const FieldManager = "pullsecret"

// ClientOptions says how to reach the cluster.
type ClientOptions struct {
	// Kubeconfig is a path or inline content; empty uses $KUBECONFIG,
	// ~/.kube/config, then in-cluster config.
	Kubeconfig  string
	Context     string
	Concurrency int
	UserAgent   string

	Getenv func(string) string
	// InContainer reports whether this process runs in a container (an
	// exec credential plugin then cannot be there); nil means no.
	InContainer func() bool
	// Redirect may change the loaded config's server before use (package
	// container's loopback redirect) and says what it did ("" for
	// nothing); nil changes nothing.
	Redirect func(*rest.Config) (string, error)
	// RequestTimeout bounds each API call; zero means DefaultRequestTimeout.
	RequestTimeout time.Duration
	// Mask registers every credential the kubeconfig holds, before
	// anything can print it.
	Mask func(string)
	// LookPath finds an exec credential plugin (exec.LookPath).
	LookPath func(string) (string, error)
	// Environ is the environment an exec plugin would inherit (os.Environ).
	Environ func() []string
	// WrapTransport, when set, wraps the client's transport (debug logging).
	WrapTransport func(http.RoundTripper) http.RoundTripper
}

func (o *ClientOptions) defaults() {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Mask == nil {
		o.Mask = func(string) {}
	}
	if o.LookPath == nil {
		o.LookPath = exec.LookPath
	}
	if o.Environ == nil {
		o.Environ = os.Environ
	}
}

// Connection is a ready client plus what a report needs to know about it.
type Connection struct {
	Client *Client
	Config *rest.Config
	// Namespace is the context's namespace, the default target.
	Namespace string
	// Source says where the config came from (never its content).
	Source string
	// Rewritten is set when a loopback server was redirected.
	Rewritten string
	// KeptLoopback, set by the caller, is the server when it is a loopback
	// address kept as is inside a container (api_server_host: off): there
	// it means the container itself, the first suspect when nothing answers.
	KeptLoopback string
}

// Connect builds a client from the options.
func Connect(o ClientOptions) (*Connection, error) {
	o.defaults()
	rc, ns, source, err := loadConfig(o)
	if err != nil {
		return nil, err
	}
	maskRESTConfig(rc, o.Mask)
	if rc.ExecProvider != nil {
		if err := checkExecPlugin(rc.ExecProvider, o); err != nil {
			return nil, err
		}
		scrubExecEnv(rc.ExecProvider, o.Environ())
		if err := makeNonDumpable(); err != nil {
			return nil, fmt.Errorf("failed to make pullsecret non-dumpable before the exec credential plugin %q runs: %w", rc.ExecProvider.Command, err)
		}
	}
	conn := &Connection{Namespace: ns, Source: source}
	if o.Redirect != nil {
		if conn.Rewritten, err = o.Redirect(rc); err != nil {
			return nil, err
		}
	}
	// The bounded worker pool, not client-go's limiter (default 5 QPS), is
	// what paces a run: a namespace costs 1-2 requests, so a worker issues
	// at most ~25 per second against a local API server (bench/results);
	// allow that and a burst of two seconds' worth. Against a real cluster
	// the server's API Priority and Fairness is the limit that counts:
	// client-go waits out its 429 Retry-After answers, so a large run
	// slows down instead of storming.
	rc.QPS = float32(max(50, 25*o.Concurrency))
	rc.Burst = int(2 * rc.QPS)
	rc.UserAgent = o.UserAgent
	rc.Wrap(o.WrapTransport)
	retryAndTimeout(rc, o.RequestTimeout)
	cs, err := NewClient(rc)
	if err != nil {
		return nil, fmt.Errorf("failed to build the Kubernetes client: %w", err)
	}
	conn.Client, conn.Config = cs, rc
	return conn, nil
}

func loadConfig(o ClientOptions) (*rest.Config, string, string, error) {
	overrides := &clientcmd.ConfigOverrides{CurrentContext: o.Context}
	var cc clientcmd.ClientConfig
	var source string
	switch {
	case isInline(o.Kubeconfig):
		maskCredentialLines(o.Kubeconfig, o.Mask)
		raw, err := clientcmd.Load([]byte(o.Kubeconfig))
		if err != nil {
			return nil, "", "", fmt.Errorf("input \"kubeconfig\": inline content is not a valid kubeconfig: %w", err)
		}
		cc, source = clientcmd.NewNonInteractiveClientConfig(*raw, o.Context, overrides, nil), "inline kubeconfig"
	case o.Kubeconfig != "":
		path, err := workspacePath(o.Kubeconfig, o.Getenv)
		if err != nil {
			return nil, "", "", err
		}
		maskCredentialFiles([]string{path}, o.Mask)
		cc = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(&clientcmd.ClientConfigLoadingRules{ExplicitPath: path}, overrides)
		source = path
	default:
		paths := filepath.SplitList(o.Getenv("KUBECONFIG"))
		source = "$KUBECONFIG"
		if len(paths) == 0 {
			home := o.Getenv("HOME")
			if p := filepath.Join(home, ".kube", "config"); home != "" && exists(p) {
				paths, source = []string{p}, p
			}
		}
		if len(paths) == 0 {
			rc, err := rest.InClusterConfig()
			if err != nil {
				return nil, "", "", errors.New("no kubeconfig: set the kubeconfig input, $KUBECONFIG or ~/.kube/config, or run inside a cluster")
			}
			ns := "default"
			if b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err == nil {
				ns = strings.TrimSpace(string(b))
			}
			return rc, ns, "in-cluster service account", nil
		}
		maskCredentialFiles(paths, o.Mask)
		cc = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(&clientcmd.ClientConfigLoadingRules{Precedence: paths}, overrides)
	}
	// Mask before resolving: a resolution error must not be where a
	// credential is first printed.
	raw, err := cc.RawConfig()
	if err != nil {
		return nil, "", "", fmt.Errorf("failed to load kubeconfig from %s: %w", source, err)
	}
	maskKubeconfig(&raw, o.Mask)
	rc, err := cc.ClientConfig()
	if err != nil {
		return nil, "", "", fmt.Errorf("failed to load kubeconfig from %s (context %q): %w", source, o.Context, err)
	}
	ns, _, err := cc.Namespace()
	if err != nil || ns == "" {
		ns = "default"
	}
	return rc, ns, source, nil
}

// isInline tells kubeconfig content from a path: content is YAML or JSON
// with several lines or braces; paths never contain newlines.
func isInline(s string) bool {
	return strings.Contains(s, "\n") || strings.HasPrefix(strings.TrimSpace(s), "{")
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
