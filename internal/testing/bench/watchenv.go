package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/refresher"
	"github.com/pullsecret/pullsecret/internal/testing/actionbin"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

const (
	refreshNamespace = "pullsecret-bench"
	// seedNamespace exists before the install, so the install run has a
	// namespace to write; the glob covers it and every namespace the
	// bench creates later.
	seedNamespace = "bench-seed"
	coverageGlob  = "bench-*"
	// fakeRefreshImage is never pulled: no kubelet runs here.
	fakeRefreshImage = "ghcr.io/pullsecret/pullsecret@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	adminUser        = "pullsecret-admin"
	// benchAgent is the user agent of the bench's own requests.
	benchAgent = "bench-harness"
)

// watchEnv is one control plane with the refresher installed, the fakes,
// and the bench's watches.
type watchEnv struct {
	work, bin, auditLog string
	opts                *watchOptions
	cp                  *controlplane.ControlPlane
	stack               *fakestack.Stack
	cs                  kubernetes.Interface
	name, user          string   // the refresher's object name and API user
	kubeconfig          string   // the controllers'
	args                []string // the controllers' (the Deployment's pod's)
	arrivals            *arrivals
	lease               *leaseWatch
	covered             []string // namespaces the bench created (all covered)
	controllers         int
	cancel              context.CancelFunc
}

func startWatchEnv(ctx context.Context, work, bin string, o *watchOptions) (_ *watchEnv, err error) {
	e := &watchEnv{work: work, bin: bin, opts: o, auditLog: filepath.Join(work, "audit.log")}
	e.name = refresher.ObjectName(fakestack.ImpersonatedSA, config.DefaultSecretName)
	e.user = "system:serviceaccount:" + refreshNamespace + ":" + e.name
	bins, err := controlplane.EnsureBinaries(ctx, controlplane.BuildOptions{})
	if err != nil {
		return nil, err
	}
	policy := filepath.Join(work, "audit-policy.yaml")
	// The refresher's requests, and the admin's (the install run, the
	// bench's own, and the controller's with -watch-as-admin).
	if err := os.WriteFile(policy, []byte(`apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
    users: ["`+adminUser+`", "`+e.user+`"]
  - level: None
`), 0o600); err != nil {
		return nil, err
	}
	if e.cp, err = controlplane.Start(ctx, controlplane.Options{
		Binaries: &bins,
		ExtraAPIServerArgs: []string{
			"--audit-policy-file=" + policy, "--audit-log-path=" + e.auditLog,
			"--audit-log-mode=blocking", "--audit-log-format=json", "--audit-log-maxsize=0",
		},
	}); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	if e.stack, err = fakestack.Start(""); err != nil {
		return nil, err
	}
	rc := e.cp.RESTConfig()
	rc.QPS, rc.Burst, rc.UserAgent = -1, 0, benchAgent
	if e.cs, err = kubernetes.NewForConfig(rc); err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancel(ctx)
	e.cancel = cancel
	if e.arrivals, e.lease, err = observe(wctx, e.cs, config.DefaultSecretName, refreshNamespace, e.name); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *watchEnv) close() {
	if e.cancel != nil {
		e.cancel()
	}
	if e.stack != nil {
		e.stack.Close()
	}
	if e.cp != nil {
		_ = e.cp.Stop()
	}
}

// install creates the seed namespace and runs the action: refresh: true,
// refresh_mode: watch, the glob, GKE flavour (no refresher provider).
func (e *watchEnv) install(ctx context.Context) error {
	if _, err := e.createNamespace(ctx, seedNamespace); err != nil {
		return err
	}
	e.covered = append(e.covered, seedNamespace)
	if err := e.waitServiceAccounts(ctx, []string{seedNamespace}); err != nil {
		return err
	}
	inputs, err := e.stack.Inputs(fakestack.WIF, "")
	if err != nil {
		return err
	}
	lifetime := strconv.Itoa(int(e.opts.tokenLifetime.Seconds())) + "s"
	for k, v := range map[string]string{
		config.InKubeconfig: e.cp.Kubeconfig(), config.InNamespaces: coverageGlob,
		config.InRefresh: "true", config.InRefreshImage: fakeRefreshImage, config.InRefreshNamespace: refreshNamespace,
		config.InTokenLifetime: lifetime, config.InRefreshInterval: refreshInterval(e.opts.tokenLifetime),
		"refresh_mode": "watch",
	} {
		inputs[k] = v
	}
	extra := e.stack.GitHubEnv("")
	// Also when refresh_mode is not (yet) in the inputs table.
	extra[config.EnvName("refresh_mode")] = "watch"
	dir := filepath.Join(e.work, "install")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	cmd, _ := actionbin.Command(ctx, e.bin, dir, inputs, extra)
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("the install run failed: %w; output tail: %s", err, tail(log.String(), 3000))
	}
	e.args = []string{"refresh", "--watch", "--config-map", refreshNamespace + "/" + e.name}
	dep, err := e.cs.AppsV1().Deployments(refreshNamespace).Get(ctx, e.name, metav1.GetOptions{})
	switch {
	case err != nil:
		progress("WARNING: the install run installed no Deployment %s/%s (is refresh_mode: watch on this tree?): %v; the controller gets only --config-map", refreshNamespace, e.name, err)
	case len(dep.Spec.Template.Spec.Containers) == 0:
		return fmt.Errorf("the refresher's Deployment has no container")
	default:
		e.args = podArgs(dep.Spec.Template.Spec.Containers[0])
	}
	if e.opts.asAdmin {
		e.kubeconfig = e.cp.Kubeconfig()
		return nil
	}
	e.kubeconfig, err = e.serviceAccountKubeconfig(ctx)
	return err
}

// podArgs are the command line the Deployment's pod runs (without the
// executable), so that the controller runs exactly as in the cluster; the
// bench adds --kubeconfig and its own --metrics-address after them.
func podArgs(c corev1.Container) []string {
	args := slices.Clone(c.Args)
	if len(c.Command) > 1 { // the arguments may start in the command
		args = append(slices.Clone(c.Command[1:]), args...)
	}
	if !slices.Contains(args, "--watch") {
		args = append(args, "--watch")
	}
	return args
}

// refreshInterval is the largest refresh_interval the installer accepts
// for lifetime (at most half of it, whole minutes); watch mode refreshes
// at half of token_lifetime whatever it is.
func refreshInterval(lifetime time.Duration) string {
	return strconv.Itoa(max(1, int((lifetime/2).Minutes()))) + "m"
}

// serviceAccountKubeconfig writes a kubeconfig acting as the refresher's
// ServiceAccount, as its pod would (a token from the TokenRequest API).
func (e *watchEnv) serviceAccountKubeconfig(ctx context.Context) (string, error) {
	expiry := int64((12 * time.Hour).Seconds())
	tok, err := e.cs.CoreV1().ServiceAccounts(refreshNamespace).CreateToken(ctx, e.name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("a token for the refresher's ServiceAccount: %w", err)
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["c"] = &clientcmdapi.Cluster{Server: e.cp.Server(), CertificateAuthorityData: e.cp.RESTConfig().CAData}
	kc.AuthInfos["refresher"] = &clientcmdapi.AuthInfo{Token: tok.Status.Token}
	kc.Contexts["refresher"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "refresher", Namespace: refreshNamespace}
	kc.CurrentContext = "refresher"
	path := filepath.Join(e.work, "refresher.kubeconfig")
	return path, clientcmd.WriteToFile(*kc, path)
}

// createNamespace creates ns and returns when the response arrived (the
// caller adds it to e.covered: it may run on many goroutines).
func (e *watchEnv) createNamespace(ctx context.Context, ns string) (time.Time, error) {
	_, err := e.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	at := time.Now()
	if err != nil {
		return at, fmt.Errorf("creating namespace %s: %w", ns, err)
	}
	return at, nil
}

// waitCovered waits until every namespace in nss has the secret and the
// reference.
func (e *watchEnv) waitCovered(ctx context.Context, nss []string) error {
	return e.waitAll(ctx, nss, "covered (secret and reference)", func(ns string) bool { _, _, ok := e.arrivals.covered(ns); return ok })
}

// waitServiceAccounts waits for kube-controller-manager to create the
// default ServiceAccount in every namespace of nss.
func (e *watchEnv) waitServiceAccounts(ctx context.Context, nss []string) error {
	return e.waitAll(ctx, nss, "given a default ServiceAccount", e.arrivals.hasServiceAccount)
}

// waitAll polls done for every namespace; the limit grows with the count
// and only stops a run that is stuck.
func (e *watchEnv) waitAll(ctx context.Context, nss []string, what string, done func(string) bool) error {
	deadline := time.Now().Add(5*time.Minute + time.Duration(len(nss))*100*time.Millisecond)
	for i := 0; ; {
		for i < len(nss) && done(nss[i]) {
			i++
		}
		if i == len(nss) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d namespaces were not %s in time (first: %s)", len(nss)-i, len(nss), what, nss[i])
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
