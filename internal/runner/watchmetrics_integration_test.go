//go:build integration

package runner

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pullsecret/pullsecret/internal/actions"
	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/container"
	"github.com/pullsecret/pullsecret/internal/labels"
	"github.com/pullsecret/pullsecret/internal/metrics"
	"github.com/pullsecret/pullsecret/internal/testing/check"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

// An out-of-cluster `refresh --watch --metrics-address` run (the
// developer's: an admin kubeconfig) serves /metrics whose gauges follow
// what it does: it leads, mints (token expiry ahead, interval at most half
// of token_lifetime), covers the namespace; a namespace created later
// moves namespaces_covered and writes_total; the next refresh
// (token_lifetime 2m: a minute later) moves the last success and the
// token expiry; the secret it writes names it as the writer; nothing
// scraped is secret.
func TestWatchingRefresherMetrics(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	refreshNS := freshName("ps-metrics")
	provider, _ := trustCluster(t, cp, refreshNS)
	prefix := freshName("wm")
	newNamespace := func(ns string) {
		t.Helper()
		if _, err := cs.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
		ensureDefaultSA(t, cs, ns)
	}
	newNamespace(prefix + "-1")
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), refreshNS, metav1.DeleteOptions{}) })
	inputs := withCreds(t, fakestack.WIF, map[string]string{
		config.InNamespaces: prefix + "-*", config.InRefresh: "true", config.InRefreshImage: refresherImage,
		config.InRefreshWorkloadIdentityProvider: provider, config.InRefreshNamespace: refreshNS,
		config.InTokenLifetime: "2m", config.InRefreshInterval: "1m",
	})
	if r := runWith(t, cp.Kubeconfig(), inputs); r.err != nil {
		t.Fatalf("install run: %v\n%s", r.err, r.log)
	}

	a := parseRefresherArgs(t, refresherArgs(t, cs, refreshNS, pullerRefresher))
	// The projected token, as kubelet writes it into the pod.
	a.TokenFile = kubeletToken(t, cs, refreshNS, t.TempDir())
	addr := freeAddress(t)
	a.Watch = &WatchArgs{Kubeconfig: cp.Kubeconfig(), MetricsAddress: addr, LeaderElect: true}
	ctx, cancel := context.WithCancel(controlplanetest.Context(t))
	log := &obsLog{}
	getenv := check.Getenv(nil)
	done := make(chan error, 1)
	go func() {
		done <- RunWatchingRefresher(ctx, a, Deps{Reporter: actions.New(getenv, log, log), Getenv: getenv,
			Host: container.Host{InContainer: func() bool { return false }}, Version: "test"})
	}()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { _ = stop() })

	lbl := `refresher="` + pullerRefresher + `"`
	series := func(name, extra string) string {
		if extra != "" {
			return name + "{" + extra + "," + lbl + "}"
		}
		return name + "{" + lbl + "}"
	}
	var body string
	// waitFor scrapes until cond holds; the bound is the test binary's
	// deadline (a busy machine slows it, never fails it).
	waitFor := func(what string, cond func(scrape) bool) scrape {
		t.Helper()
		for {
			body = scrapeMetrics(ctx, addr)
			s := parseScrape(body)
			if cond(s) {
				return s
			}
			for _, r := range metrics.Reasons {
				if s[series(metrics.RefreshFailures, `reason="`+r+`"`)] > 0 {
					t.Fatalf("a refresh failed (%s) before %s:\n%s", r, what, log)
				}
			}
			select {
			case err := <-done:
				stopped = true
				t.Fatalf("the watching refresher stopped (%v) before %s:\n%s", err, what, log)
			case <-ctx.Done():
				t.Fatalf("%s: not before the deadline; last scrape:\n%s\nlog:\n%s", what, body, log)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}

	first := waitFor("leading, minted and covering the first namespace", func(s scrape) bool {
		return s[series(metrics.Leader, "")] == 1 && s[series(metrics.NamespacesCovered, "")] == 1 &&
			s[series(metrics.TokenExpiry, "")] > float64(time.Now().Unix()) && s[series(metrics.LastSuccess, "")] > 0
	})
	if got := first[series(metrics.RefreshInterval, "")]; got <= 0 || got > time.Minute.Seconds() {
		t.Errorf("%s = %v, want at most half of token_lifetime (60)", metrics.RefreshInterval, got)
	}
	secretWrites, saWrites := series(metrics.Writes, `kind="secret"`), series(metrics.Writes, `kind="serviceaccount"`)

	later := prefix + "-2"
	newNamespace(later)
	waitFor("the namespace created later written and counted", func(s scrape) bool {
		return s[series(metrics.NamespacesCovered, "")] == 2 && s[secretWrites] >= first[secretWrites]+1 && s[saWrites] >= first[saWrites]+1
	})
	waitFor("the next refresh (half of token_lifetime)", func(s scrape) bool {
		return s[series(metrics.LastSuccess, "")] > first[series(metrics.LastSuccess, "")] &&
			s[series(metrics.TokenExpiry, "")] > first[series(metrics.TokenExpiry, "")] && s[series(metrics.NamespacesCovered, "")] == 2
	})
	if got := getSecret(t, cs, later, config.DefaultSecretName).Annotations[labels.WrittenBy]; got != RefresherWriter(refreshNS, pullerRefresher) {
		t.Errorf("the secret the watching refresher wrote names %q as its writer, want %q", got, RefresherWriter(refreshNS, pullerRefresher))
	}
	for _, tok := range fakes(t).Google.Issued() {
		if strings.Contains(body, tok.Token) || strings.Contains(log.String(), tok.Token) {
			t.Errorf("a %s token leaked into /metrics or the log", tok.Kind)
		}
	}
	if err := stop(); err != nil {
		t.Errorf("the watching refresher ended with %v, want nil when cancelled", err)
	}
}

// scrape is one /metrics answer: series (name{labels}, as printed) to value.
type scrape map[string]float64

func parseScrape(body string) scrape {
	s := scrape{}
	for _, line := range strings.Split(body, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); i > 0 && err == nil {
			s[line[:i]] = v
		}
	}
	return s
}

// scrapeMetrics GETs /metrics; "" while the server is not up yet.
func scrapeMetrics(ctx context.Context, addr string) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return ""
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// freeAddress is a loopback address with a port nothing listens on now.
func freeAddress(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// obsLog is a log the refresher's goroutines write while the test reads.
type obsLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *obsLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *obsLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
