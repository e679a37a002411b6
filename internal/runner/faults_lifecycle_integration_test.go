//go:build integration

package runner

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/testing/actionbin"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/faultproxy"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

// TestSIGTERMMidRun runs the real binary across a fleet through a proxy
// that lets the first ServiceAccount updates through, then stalls every
// later one; once every worker is stalled it sends SIGTERM, as the runner
// does when a job is cancelled. The binary must exit promptly (the deadline
// is a hang guard), non-zero, saying the run was cancelled, and claim only
// namespaces the API server really holds.
func TestSIGTERMMidRun(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := fastClient(t, cp)
	f := newFleet(t, cp)
	bin := buildBinary(t)

	const passFirst, concurrency = 40, 8
	updates := 0 // guarded by the proxy: Match runs under its lock
	stalled := make(chan struct{}, fleetSize)
	p, kc := startProxy(t, cp, faultproxy.Config{Rules: []faultproxy.Rule{{
		Name: "stall-later-updates", Method: http.MethodPut, Resource: "serviceaccounts", Fault: faultproxy.Stall,
		Match: func(faultproxy.Request) bool {
			updates++
			if updates <= passFirst {
				return false
			}
			stalled <- struct{}{}
			return true
		},
	}}})
	secretName := freshName("sigterm")
	inputs := withCreds(t, fakestack.KeyToken, map[string]string{
		config.InKubeconfig:        kc,
		config.InNamespaceSelector: f.selector,
		config.InSecretName:        secretName,
		config.InConcurrency:       "8",
	})

	guard := controlplanetest.Context(t)
	cmd, outputs := binaryCommand(t, bin, inputs)
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for range concurrency {
		select {
		case <-stalled:
		case err := <-exited:
			t.Fatalf("binary exited before the stall (%v):\n%s", err, stdout.String())
		case <-guard.Done():
			_ = cmd.Process.Kill()
			t.Fatalf("workers never stalled:\n%s", stdout.String())
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-exited:
	case <-guard.Done():
		_ = cmd.Process.Kill()
		t.Fatalf("binary did not exit after SIGTERM (hang guard):\n%s", tail(stdout.String()))
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("exit: %v, want exit status 1", err)
	}
	out := stdout.String()
	// The error's first line says what happened to the run as a whole.
	headline := ""
	if i := strings.Index(out, "::error::"); i >= 0 {
		headline, _, _ = strings.Cut(out[i:], "%0A")
		headline, _, _ = strings.Cut(headline, "\n")
	}
	if !strings.HasPrefix(headline, "::error::run cancelled (terminated signal received)") {
		t.Errorf("error headline %q, want it to start with \"run cancelled (terminated signal received)\"", cut(headline, 300))
	}
	for _, want := range []string{"not attempted"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, tail(out))
		}
	}

	o, rerr := os.ReadFile(outputs)
	if rerr != nil {
		t.Fatalf("no outputs written after SIGTERM: %v", rerr)
	}
	succeeded := outputList(t, string(o), "namespaces")
	st, n := readState(t, cs, f, secretName)
	n.falseSuccesses += st.checkSucceeded(t, succeeded)
	if len(succeeded) > passFirst {
		t.Errorf("%d namespaces claimed, but only %d ServiceAccount updates reached the API server", len(succeeded), passFirst)
	}
	if len(succeeded) == 0 {
		t.Errorf("no namespace finished before SIGTERM; the test did not interrupt a run in progress")
	}
	t.Logf("ROW SIGTERM mid-run | namespaces %d | stalled %d, then SIGTERM | succeeded %d, rest failed or not attempted | false successes %d | entries lost %d | dangling refs %d | %s",
		len(f.names), len(p.Events()), len(succeeded), n.falseSuccesses, n.entriesLost, n.dangling, cut(headline, 140))
}

// restartLimit is the per-call limit of the restart test: the API server
// is down for seconds when idle, longer on a busy machine; a run rides an
// outage out for as long as its per-call limit (the product's default is
// kube.DefaultRequestTimeout), so the test sets one that no restart here
// outlasts.
const restartLimit = 2 * time.Minute

// TestAPIServerRestartMidRun restarts the real kube-apiserver (same port,
// same etcd) while a run across a fleet is in progress. The run's requests
// meet closed connections and refused dials; every one of them is safe to
// repeat, so the run must write every namespace, report nothing the API
// server does not hold, and lose no one else's entry.
func TestAPIServerRestartMidRun(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Start(t) // its own: the restart must not disturb other tests
	cs := fastClient(t, cp)
	f := newFleet(t, cp)

	var restart sync.Once
	restarted := make(chan error, 1)
	var down time.Duration
	guard, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	p, kc := startProxy(t, cp, faultproxy.Config{OnRequest: func(n int, _ faultproxy.Request) {
		if n == 200 { // about 50 namespaces into the run
			restart.Do(func() {
				go func() {
					start := time.Now()
					err := cp.RestartAPIServer(guard)
					down = time.Since(start)
					restarted <- err
				}()
			})
		}
	}})
	secretName := freshName("restart")
	inputs := withCreds(t, fakestack.KeyToken, map[string]string{
		config.InNamespaceSelector: f.selector,
		config.InSecretName:        secretName,
	})
	start := time.Now()
	r := runCtx(guard, t, kc, inputs, Deps{KubeRequestTimeout: restartLimit})
	took := time.Since(start)
	if guard.Err() != nil {
		t.Fatalf("the run did not end on its own; the hang guard stopped it: %v", r.err)
	}
	select {
	case err := <-restarted:
		if err != nil {
			t.Fatalf("restart: %v", err)
		}
	case <-guard.Done():
		t.Fatal("kube-apiserver did not come back (hang guard)")
	}
	if err := cp.Err(); err != nil {
		t.Fatalf("control plane marked down by the restart: %v", err)
	}
	if len(p.Events()) == 0 {
		t.Fatal("no request met the restart: the test proved nothing")
	}
	if r.err != nil {
		t.Errorf("run across a restart failed: %v", r.err)
	}
	n := checkRealState(t, cs, f, secretName, r.res)
	if got := len(r.res.Succeeded()); got != len(f.names) {
		t.Errorf("written in %d namespaces of %d", got, len(f.names))
	}
	t.Logf("ROW API server restarted mid-run | namespaces %d | down %s | requests refused or cut %d (in %d namespaces) | written %d | run %s | false successes %d | entries lost %d | dangling refs %d",
		len(f.names), down.Round(100*time.Millisecond), len(p.Events()), len(p.FaultedNamespaces(faultproxy.UpstreamFailed)), len(r.res.Succeeded()), took.Round(10*time.Millisecond), n.falseSuccesses, n.entriesLost, n.dangling)
}

// buildBinary builds the real pullsecret binary (once per test process).
func buildBinary(t *testing.T) string {
	t.Helper()
	bin, err := actionbin.Build()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// binaryCommand prepares the binary as GitHub runs a docker action, with
// the fake GitHub's workflow environment. It returns the command and its
// GITHUB_OUTPUT path.
func binaryCommand(t *testing.T, bin string, inputs map[string]string) (*exec.Cmd, string) {
	t.Helper()
	cmd, files := actionbin.Command(context.Background(), bin, t.TempDir(), inputs, fakes(t).GitHubEnv(""))
	return cmd, files.Outputs
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func tail(s string) string {
	if len(s) > 4000 {
		return "…" + s[len(s)-4000:]
	}
	return s
}
