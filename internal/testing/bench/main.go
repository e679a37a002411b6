// Command bench times pullsecret against the kubectl loop users script
// today, on a real local control plane, and writes a Markdown table and an
// SVG chart. Run it with scripts/bench (or make bench).
//
// For each N it creates N namespaces, then times (median of -runs):
//   - the kubectl loop (N <= -kubectl-max): per namespace
//     `kubectl create secret docker-registry ... --dry-run=client -o yaml |
//     kubectl apply -f -` and `kubectl patch serviceaccount default`;
//   - pullsecret's first run (a secret name never written) and its re-run;
//   - the floor (./floor: blind writes, no client-side limiter, 64 in
//     flight), first run and re-run, interleaved with pullsecret's so a
//     busy machine slows both alike.
//
// API requests are counted at the API server from its audit log (by verb
// and resource), peak RSS from the child's rusage, token mints at the fake
// Google, and start -> first request from the audit log's receive time.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/testing/actionbin"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

func main() {
	ns := flag.String("n", "10,100,1000", "namespace counts, comma-separated")
	runs := flag.Int("runs", 3, "timed runs per measurement (the median is reported)")
	kubectlMax := flag.Int("kubectl-max", 100, "largest N the (slow) kubectl loop runs at")
	out := flag.String("out", "bench/results", "directory for results.md and chart.svg")
	concurrency := flag.String("concurrency", "", "pullsecret's concurrency input (default: its default)")
	check := flag.Bool("check", false, "fail unless every N keeps the request and token-mint budget (what CI runs, at -n 10)")
	watch := flag.Bool("watch", false, "benchmark the watching refresher instead (see watch.go); -n then names the covered-namespace counts of its memory and steady-state runs")
	w := watchFlags()
	flag.Parse()
	if *watch {
		w.scales, w.out, w.check = *ns, *out, *check
		if err := runWatch(w); err != nil {
			fmt.Fprintln(os.Stderr, "bench -watch:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*ns, *runs, *kubectlMax, *out, *concurrency, *check); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// row is one N's results.
type row struct {
	N                     int
	Kubectl               *measure
	First, Rerun          measure
	Floor, FloorRerun     measure
	FirstMints, RerunMint int
}

type measure struct {
	Wall       time.Duration
	Requests   map[string]int // "verb resource" -> count, of the median run
	Total      int
	RSSKB      int64
	CPU        time.Duration // user + system time of the process(es)
	FirstReqMS float64
}

func run(nList string, runs, kubectlMax int, outDir, concurrency string, check bool) error {
	ctx := context.Background()
	work, err := os.MkdirTemp("", "pullsecret-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	bin, err := actionbin.Build()
	if err != nil {
		return err
	}
	defer actionbin.Cleanup()
	floor := filepath.Join(work, "floor")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", floor, "./internal/testing/bench/floor")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building the floor client: %w", err)
	}
	bins, err := controlplane.EnsureBinaries(ctx, controlplane.BuildOptions{})
	if err != nil {
		return err
	}
	auditLog := filepath.Join(work, "audit.log")
	policy := filepath.Join(work, "audit-policy.yaml")
	// Only the admin user's requests (pullsecret and kubectl run as it), at
	// the cheapest level that still records verb, resource and user agent.
	if err := os.WriteFile(policy, []byte(`apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
    users: ["pullsecret-admin"]
  - level: None
`), 0o600); err != nil {
		return err
	}
	cp, err := controlplane.Start(ctx, controlplane.Options{
		Binaries: &bins,
		ExtraAPIServerArgs: []string{
			"--audit-policy-file=" + policy, "--audit-log-path=" + auditLog,
			"--audit-log-mode=blocking", "--audit-log-format=json", "--audit-log-maxsize=0",
		},
	})
	if err != nil {
		return err
	}
	defer cp.Stop()
	stack, err := fakestack.Start("")
	if err != nil {
		return err
	}
	defer stack.Close()
	rc := cp.RESTConfig()
	rc.QPS, rc.Burst = -1, 0
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}

	var rows []row
	for _, f := range strings.Split(nList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return fmt.Errorf("-n: %w", err)
		}
		label, err := fleet(ctx, cs, n)
		if err != nil {
			return err
		}
		r := row{N: n}
		a := &auditReader{path: auditLog}
		if n <= kubectlMax {
			m, err := median(runs, func(i int) (measure, error) {
				return a.measure(func() (*os.ProcessState, time.Time, error) {
					return kubectlLoop(work, bins.Kubectl, cp.Kubeconfig(), label, n)
				}, "kubectl/")
			})
			if err != nil {
				return fmt.Errorf("kubectl loop at N=%d: %w", n, err)
			}
			r.Kubectl = &m
		}
		inputs, err := actionInputs(stack, cp.Kubeconfig(), label, concurrency)
		if err != nil {
			return err
		}
		var firstMints, rerunMints []int
		var reruns, floors, floorReruns []measure
		first, err := median(runs, func(i int) (measure, error) {
			fname := fmt.Sprintf("floor-%d-%d", n, i)
			for _, into := range []*[]measure{&floors, &floorReruns} {
				m, err := a.measure(func() (*os.ProcessState, time.Time, error) {
					return runFloor(floor, cp.Kubeconfig(), "bench="+label, fname)
				}, "floor/")
				if err != nil {
					return m, fmt.Errorf("floor: %w", err)
				}
				*into = append(*into, m)
			}
			name := fmt.Sprintf("bench-%d-%d", n, i)
			mints := len(stack.Google.Issued())
			m, err := a.measure(func() (*os.ProcessState, time.Time, error) { return runBinary(bin, stack, inputs, name) }, "pullsecret/")
			firstMints = append(firstMints, len(stack.Google.Issued())-mints)
			if err != nil {
				return m, err
			}
			mints = len(stack.Google.Issued())
			re, err := a.measure(func() (*os.ProcessState, time.Time, error) { return runBinary(bin, stack, inputs, name) }, "pullsecret/")
			rerunMints = append(rerunMints, len(stack.Google.Issued())-mints)
			reruns = append(reruns, re)
			return m, err
		})
		if err != nil {
			return fmt.Errorf("pullsecret at N=%d: %w", n, err)
		}
		r.First, r.Rerun = first, medianOf(reruns)
		r.Floor, r.FloorRerun = medianOf(floors), medianOf(floorReruns)
		r.FirstMints, r.RerunMint = slices.Max(firstMints), slices.Max(rerunMints)
		rows = append(rows, r)
		fmt.Fprintf(os.Stderr, "bench: N=%d done: first %s, re-run %s; floor %s, %s\n", n, r.First.Wall, r.Rerun.Wall, r.Floor.Wall, r.FloorRerun.Wall)
	}
	if err := write(outDir, rows, runs); err != nil {
		return err
	}
	if check {
		return checkBudget(rows)
	}
	return nil
}

// clusterWideCalls bounds the requests a run makes whatever N is: one LIST
// each of namespaces, secrets and ServiceAccounts today, and some room.
const clusterWideCalls = 5

// checkBudget holds a measurement to the performance contract's countable
// part: at most 2 API requests per namespace on a first run and 1 on a
// re-run, plus clusterWideCalls, and exactly one token mint per run. Wall
// times are reported, never asserted.
func checkBudget(rows []row) error {
	var errs []error
	for _, r := range rows {
		if max := 2*r.N + clusterWideCalls; r.First.Total > max {
			errs = append(errs, fmt.Errorf("at %d namespaces: the first run made %d API requests, over the budget of 2 per namespace + %d = %d", r.N, r.First.Total, clusterWideCalls, max))
		}
		if max := r.N + clusterWideCalls; r.Rerun.Total > max {
			errs = append(errs, fmt.Errorf("at %d namespaces: the re-run made %d API requests, over the budget of 1 per namespace + %d = %d", r.N, r.Rerun.Total, clusterWideCalls, max))
		}
		if r.FirstMints != 1 || r.RerunMint != 1 {
			errs = append(errs, fmt.Errorf("at %d namespaces: token mints per run %d (first) and %d (re-run), want exactly 1", r.N, r.FirstMints, r.RerunMint))
		}
	}
	return errors.Join(errs...)
}

// fleet creates n labelled namespaces and waits for their default
// ServiceAccounts.
func fleet(ctx context.Context, cs kubernetes.Interface, n int) (string, error) {
	label := fmt.Sprintf("bench-%d-%d", n, time.Now().UnixNano())
	sem := make(chan struct{}, 32)
	errs := make(chan error, n)
	for i := range n {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
				Name: fmt.Sprintf("%s-%04d", label, i), Labels: map[string]string{"bench": label},
			}}, metav1.CreateOptions{})
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			return "", err
		}
	}
	for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
		list, err := cs.CoreV1().ServiceAccounts("").List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=default"})
		if err != nil {
			return "", err
		}
		got := 0
		for _, sa := range list.Items {
			if strings.HasPrefix(sa.Namespace, label+"-") {
				got++
			}
		}
		if got == n {
			return label, nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("only %d of %d default ServiceAccounts appeared", got, n)
		}
	}
}

// actionInputs are the inputs of a docker action run with a key.
func actionInputs(stack *fakestack.Stack, kubeconfig, label, concurrency string) (map[string]string, error) {
	inputs, err := stack.Inputs(fakestack.KeyToken, "")
	if err != nil {
		return nil, err
	}
	inputs[config.InKubeconfig] = kubeconfig
	inputs[config.InNamespaceSelector] = "bench=" + label
	if concurrency != "" {
		inputs[config.InConcurrency] = concurrency
	}
	return inputs, nil
}

// runBinary runs pullsecret as a docker action writing secretName.
func runBinary(bin string, stack *fakestack.Stack, inputs map[string]string, secretName string) (*os.ProcessState, time.Time, error) {
	dir, err := os.MkdirTemp("", "pullsecret-bench-run-")
	if err != nil {
		return nil, time.Time{}, err
	}
	defer os.RemoveAll(dir)
	inputs = maps.Clone(inputs)
	inputs[config.InSecretName] = secretName
	cmd, _ := actionbin.Command(context.Background(), bin, dir, inputs, stack.GitHubEnv(""))
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return nil, start, fmt.Errorf("%w; output tail: %s", err, tail(log.String(), 1500))
	}
	return cmd.ProcessState, start, nil
}

// runFloor runs the floor client (see ./floor).
func runFloor(bin, kubeconfig, selector, secretName string) (*os.ProcessState, time.Time, error) {
	cmd := exec.Command(bin, kubeconfig, selector, secretName)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir()}
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return nil, start, fmt.Errorf("%w: %s", err, tail(log.String(), 1500))
	}
	return cmd.ProcessState, start, nil
}

// kubectlLoop is the shell loop users write today.
func kubectlLoop(work, kubectl, kubeconfig, label string, n int) (*os.ProcessState, time.Time, error) {
	script := filepath.Join(work, "kubectl-loop.sh")
	if err := os.WriteFile(script, []byte(`set -euo pipefail
token=ya29.bench-not-a-real-token
for ns in "$@"; do
  kubectl -n "$ns" create secret docker-registry gcr-pull-secret \
    --docker-server=https://gcr.io --docker-username=oauth2accesstoken --docker-password="$token" \
    --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  kubectl -n "$ns" patch serviceaccount default -p '{"imagePullSecrets":[{"name":"gcr-pull-secret"}]}' >/dev/null
done
`), 0o700); err != nil {
		return nil, time.Time{}, err
	}
	args := []string{script}
	for i := range n {
		args = append(args, fmt.Sprintf("%s-%04d", label, i))
	}
	cmd := exec.Command("bash", args...)
	cmd.Env = []string{"PATH=" + filepath.Dir(kubectl) + ":" + os.Getenv("PATH"), "KUBECONFIG=" + kubeconfig, "HOME=" + work}
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return nil, start, fmt.Errorf("%w: %s", err, tail(log.String(), 1500))
	}
	return cmd.ProcessState, start, nil
}

// auditReader reads the audit log's events appended since the last read.
type auditReader struct {
	path   string
	offset int64
}

type auditEvent struct {
	AuditID   string `json:"auditID"`
	Stage     string `json:"stage"`
	Verb      string `json:"verb"`
	UserAgent string `json:"userAgent"`
	User      struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef *auditObject `json:"objectRef"`
	Received  time.Time    `json:"requestReceivedTimestamp"`
	Response  *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
}

type auditObject struct {
	Resource    string `json:"resource"`
	Subresource string `json:"subresource"`
	Namespace   string `json:"namespace"`
	Name        string `json:"name"`
}

func (a *auditReader) measure(do func() (*os.ProcessState, time.Time, error), agent string) (measure, error) {
	if _, err := a.events(); err != nil { // skip what came before
		return measure{}, err
	}
	ps, start, err := do()
	if err != nil {
		return measure{}, err
	}
	wall := time.Since(start)
	events, err := a.events()
	if err != nil {
		return measure{}, err
	}
	m := measure{Wall: wall, Requests: map[string]int{}, FirstReqMS: -1}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		m.RSSKB = ru.Maxrss
	}
	m.CPU = ps.UserTime() + ps.SystemTime()
	var first time.Time
	for _, e := range events {
		if !strings.HasPrefix(e.UserAgent, agent) || e.ObjectRef == nil {
			continue
		}
		key := e.Verb + " " + e.ObjectRef.Resource
		if e.ObjectRef.Namespace == "" && (e.Verb == "list" || e.Verb == "watch") {
			key += " (all namespaces)"
		}
		m.Requests[key]++
		m.Total++
		if first.IsZero() || e.Received.Before(first) {
			first = e.Received
		}
	}
	if !first.IsZero() {
		m.FirstReqMS = float64(first.Sub(start).Microseconds()) / 1000
	}
	return m, nil
}

func (a *auditReader) events() ([]auditEvent, error) {
	f, err := os.Open(a.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(a.offset, io.SeekStart); err != nil {
		return nil, err
	}
	var out []auditEvent
	r := bufio.NewReaderSize(f, 1<<20)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil { // a partial last line is read next time
			break
		}
		a.offset += int64(len(line))
		var e auditEvent
		if json.Unmarshal(line, &e) == nil {
			out = append(out, e)
		}
	}
	return out, nil
}

func median(runs int, f func(i int) (measure, error)) (measure, error) {
	var ms []measure
	for i := range runs {
		m, err := f(i)
		if err != nil {
			return m, err
		}
		ms = append(ms, m)
	}
	return medianOf(ms), nil
}

func medianOf(ms []measure) measure {
	sort.Slice(ms, func(i, j int) bool { return ms[i].Wall < ms[j].Wall })
	m := ms[len(ms)/2]
	for _, o := range ms {
		m.RSSKB = max(m.RSSKB, o.RSSKB)
	}
	return m
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
