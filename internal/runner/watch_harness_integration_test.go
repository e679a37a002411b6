//go:build integration

package runner

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/pullsecret/pullsecret/internal/actions"
	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/container"
	"github.com/pullsecret/pullsecret/internal/testing/check"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

// watchRun is one watching refresher running in the background.
type watchRun struct {
	cancel context.CancelFunc
	done   chan error
	log    *syncBuffer
	// googleRequests counts the requests it sent to the fake Google.
	googleRequests *atomic.Int64
	// api lists the requests it sent to the API server.
	api *apiLog
}

// apiLog records requests to the API server: method, path and query
// (never a header or body).
type apiLog struct {
	mu  sync.Mutex
	got []apiRequest
}

type apiRequest struct {
	Method, Path string
	Query        url.Values
}

func (l *apiLog) add(r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, apiRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query()})
}

// since returns the requests after the first n.
func (l *apiLog) since(n int) []apiRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.got[n:])
}

func (l *apiLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.got)
}

// String is "GET /path?watch=true&fieldSelector=…" (the query keys that
// say what a request reads).
func (r apiRequest) String() string {
	out := r.Method + " " + r.Path
	var q []string
	for _, k := range []string{"watch", "fieldSelector"} {
		if v := r.Query.Get(k); v != "" {
			q = append(q, k+"="+v)
		}
	}
	if len(q) > 0 {
		out += "?" + strings.Join(q, "&")
	}
	return out
}

// reads reports whether r is a GET of the one object at path (not a
// list, not a watch).
func (r apiRequest) reads(path string) bool {
	return r.Method == http.MethodGet && r.Path == path && r.Query.Get("watch") == ""
}

// writes reports whether r writes a secret or a ServiceAccount.
func (r apiRequest) writes() bool {
	return r.Method != http.MethodGet && (strings.Contains(r.Path, "/secrets") || strings.Contains(r.Path, "/serviceaccounts"))
}

// startWatcher runs the watching refresher as the refresher's
// ServiceAccount (its own API token, so only its RBAC), with its
// CronJob's arguments and the projected token file tokenPath, as replica
// podName.
func startWatcher(t *testing.T, cp *controlplane.ControlPlane, refreshNS, tokenPath, podName string) *watchRun {
	t.Helper()
	return startWatcherWith(t, watcherArgs(t, cp, refreshNS, tokenPath), podName)
}

// watcherArgs are the installed refresher's arguments with --watch, as
// its ServiceAccount.
func watcherArgs(t *testing.T, cp *controlplane.ControlPlane, refreshNS, tokenPath string) *RefresherArgs {
	t.Helper()
	cs := clientFor(t, cp)
	id := tokenIdentity(t, cp, cs, refreshNS, pullerRefresher)
	dep, err := cs.AppsV1().Deployments(refreshNS).Get(t.Context(), pullerRefresher, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a := parseRefresherArgs(t, withoutWatchFlags(dep.Spec.Template.Spec.Containers[0].Args))
	a.TokenFile = tokenPath
	a.Watch = &WatchArgs{Kubeconfig: id.kubeconfig, LeaderElect: true}
	return a
}

func startWatcherWith(t *testing.T, a *RefresherArgs, podName string) *watchRun {
	t.Helper()
	getenv := check.Getenv(map[string]string{"POD_NAME": podName})
	ctx, cancel := context.WithCancel(controlplanetest.Context(t))
	w := &watchRun{cancel: cancel, done: make(chan error, 1), log: &syncBuffer{}, googleRequests: &atomic.Int64{}, api: &apiLog{}}
	google, err := url.Parse(fakes(t).GoogleURL)
	if err != nil {
		t.Fatal(err)
	}
	count := func(rt http.RoundTripper) http.RoundTripper {
		return roundTripperFunc(func(r *http.Request) (*http.Response, error) {
			if r.URL.Host == google.Host {
				w.googleRequests.Add(1)
			} else {
				w.api.add(r)
			}
			return rt.RoundTrip(r)
		})
	}
	go func() {
		w.done <- RunWatchingRefresher(ctx, a, Deps{
			Reporter: actions.New(getenv, w.log, w.log), Getenv: getenv, Host: container.Host{InContainer: func() bool { return false }},
			Version: "test", WrapTransport: count,
		})
	}()
	t.Cleanup(func() { w.stop(t) })
	return w
}

// stop cancels the run and waits for it: it must end on its own (the
// test binary's deadline bounds the wait), with nil.
func (w *watchRun) stop(t *testing.T) {
	t.Helper()
	w.cancel()
	if err, ok := <-w.done; ok {
		if err != nil {
			t.Errorf("the watching refresher ended with %v\n%s", err, w.log)
		}
		close(w.done)
	}
	assertNoSecrets(t, run{log: w.log.String()})
}

// until polls cond until it holds, bounded by the test's deadline.
func until(t *testing.T, what string, cond func(ctx context.Context) bool, w ...*watchRun) {
	t.Helper()
	err := wait.PollUntilContextCancel(controlplanetest.Context(t), 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		return cond(ctx), nil
	})
	if err != nil {
		var logs []string
		for _, r := range w {
			logs = append(logs, r.log.String())
		}
		t.Fatalf("%s: never happened\n%s", what, strings.Join(logs, "\n----\n"))
	}
}

// covered reports whether ns holds the secret referenced by ServiceAccount sa.
func covered(ctx context.Context, cs kubernetes.Interface, ns, sa string) bool {
	if _, err := cs.CoreV1().Secrets(ns).Get(ctx, config.DefaultSecretName, metav1.GetOptions{}); err != nil {
		return false
	}
	got, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, sa, metav1.GetOptions{})
	return err == nil && contains(pullSecretNames(got), config.DefaultSecretName)
}

// refresherMints are the access tokens minted for the refresher of
// refreshNS (impersonated by its ServiceAccount's federated principal).
func refresherMints(t *testing.T, refreshNS string) []string {
	var out []string
	for _, tok := range fakes(t).Google.Issued() {
		if tok.Email == fakestack.ImpersonatedSA && strings.Contains(tok.ImpersonatedBy, "system:serviceaccount:"+refreshNS+":") {
			out = append(out, tok.Token)
		}
	}
	return out
}

// pollClient is an admin client for polls: client-go's default limit
// (5 requests per second) would make a poll, not the controller, the
// slowest part of what a test measures.
func pollClient(t *testing.T, cp *controlplane.ControlPlane) kubernetes.Interface {
	t.Helper()
	rc := cp.RESTConfig()
	rc.QPS, rc.Burst = 500, 1000
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return withoutMaskCommands(s.b.String())
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// passwordOf is the token a pull secret holds (one auth entry's password).
func passwordOf(t *testing.T, s *corev1.Secret) string {
	t.Helper()
	for _, e := range dockerConfigOf(t, s).Auths {
		return e.Password
	}
	return ""
}

func hostOutside() container.Host { return container.Host{InContainer: func() bool { return false }} }

// withoutWatchFlags are a watching refresher's arguments up to --watch
// (what parseRefresherArgs reads; the test sets the watch flags itself).
func withoutWatchFlags(args []string) []string {
	if i := slices.Index(args, "--watch"); i >= 0 {
		return args[:i]
	}
	return args
}

// deploymentToken does what kubelet does for the Deployment's projected
// volume (as kubeletToken for the CronJob's) and returns the file.
func deploymentToken(t *testing.T, cs kubernetes.Interface, refreshNS, dir string) string {
	t.Helper()
	dep, err := cs.AppsV1().Deployments(refreshNS).Get(t.Context(), pullerRefresher, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	proj := dep.Spec.Template.Spec.Volumes[0].Projected.Sources[0].ServiceAccountToken
	tr, err := cs.CoreV1().ServiceAccounts(refreshNS).CreateToken(t.Context(), pullerRefresher, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{Audiences: []string{proj.Audience}, ExpirationSeconds: proj.ExpirationSeconds},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "token")
	if err := os.WriteFile(path, []byte(tr.Status.Token), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
