//go:build e2e

// Package e2e proves the one promise of pullsecret on a real cluster: after
// the action's container runs, kubelet pulls a private image from a registry
// that, like gcr.io and Artifact Registry, accepts only credentials the
// (fake) Google issued and that are still valid.
//
// TestMain creates a kind cluster from Go (sigs.k8s.io/kind/pkg/cluster)
// with a random name and a kubeconfig in a temp dir, a GCR-faithful
// registry container on the kind network, fake Google/GitHub endpoints in
// this process, and the action's image; it exports the cluster's logs when a
// test fails and deletes everything at the end.
//
// Offline (these machines reach no registry) the node image is built by
// e2e/tools/nodeimage, cached; PULLSECRET_E2E_NODE_IMAGE=stock uses kind's
// default image instead (GitHub runners), any other value names an image.
package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/kind/pkg/cluster"

	"github.com/pullsecret/pullsecret/internal/testing/controlplane"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

// env is everything the scenarios share.
type env struct {
	clusterName string
	kubeconfig  string // host view: server on this host's loopback/all addresses
	client      kubernetes.Interface
	restConfig  *rest.Config // the client's, for impersonation
	stack       *fakestack.Stack
	actionImage string
	jobNetwork  string // the docker network the action runs on, like GitHub's job network
	jobGateway  string // how the action container reaches this host
	registry    string // fake registry container name
	artifacts   string
}

var e *env

// mirroredHosts are production registry hosts the node sends to the fake
// registry; pods keep these names so kubelet's own credential matching is
// what is tested.
var mirroredHosts = []string{"gcr.io", "us.gcr.io", "us-docker.pkg.dev", "europe-west1-docker.pkg.dev"}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) (code int) {
	start := time.Now()
	e = &env{artifacts: os.Getenv("PULLSECRET_E2E_ARTIFACTS")}
	var cleanups []func()
	defer func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}()
	fail := func(format string, args ...any) int {
		fmt.Fprintf(os.Stderr, "FAIL: e2e setup: "+format+"\n", args...)
		return 1
	}
	if _, err := exec.LookPath("docker"); err != nil {
		return fail("docker is not installed (run e2e/hostsetup/setup.sh as root): %v", err)
	}
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		return fail("the Docker engine is not running (run e2e/hostsetup/setup.sh as root): %v: %s", err, out)
	}

	suffix := randomSuffix()
	e.clusterName = "pullsecret-e2e-" + suffix
	e.registry = "pullsecret-fakegcr-" + suffix
	e.jobNetwork = "pullsecret-job-" + suffix

	// The node image waits mostly on docker and debootstrap, the release on
	// the compiler: built side by side, a cold run saves a minute or two.
	type released struct {
		image    string
		cleanups []func()
		err      error
	}
	releaseDone := make(chan released, 1)
	go func() {
		var r released
		r.image, r.err = releaseActionImage(&r.cleanups)
		releaseDone <- r
	}()
	nodeImage, nodeErr := nodeImage()
	rel := <-releaseDone
	cleanups = append(cleanups, rel.cleanups...)
	if nodeErr != nil {
		return fail("node image: %v", nodeErr)
	}
	logf("node image %s (%s)", nodeImage, since(start))
	if rel.err != nil {
		return fail("action image: %v", rel.err)
	}
	e.actionImage = rel.image
	logf("action image %s (%s)", e.actionImage, since(start))
	registryImage, err := goRunImage("./fakegcrimage")
	if err != nil {
		return fail("fake registry image: %v", err)
	}

	// Fakes listen on every host address: the registry reaches them through
	// the kind network's gateway, the action through its job network's.
	if e.stack, err = fakestack.Start("0.0.0.0:0"); err != nil {
		return fail("fakes: %v", err)
	}
	cleanups = append(cleanups, e.stack.Close)

	dir, err := os.MkdirTemp("", "pullsecret-e2e-")
	if err != nil {
		return fail("%v", err)
	}
	cleanups = append(cleanups, func() { os.RemoveAll(dir) })
	e.kubeconfig = filepath.Join(dir, "kubeconfig")

	certsDir := filepath.Join(dir, "certs.d")
	if err := writeHostsTOML(certsDir, "http://"+e.registry+":5000"); err != nil {
		return fail("registry mirrors: %v", err)
	}
	cfg, err := kindConfig(certsDir, nodeImage != "")
	if err != nil {
		return fail("kind config: %v", err)
	}
	provider := cluster.NewProvider(cluster.ProviderWithDocker())
	opts := []cluster.CreateOption{
		cluster.CreateWithRawConfig(cfg),
		cluster.CreateWithKubeconfigPath(e.kubeconfig),
		cluster.CreateWithWaitForReady(3 * time.Minute),
		cluster.CreateWithDisplayUsage(false),
		cluster.CreateWithDisplaySalutation(false),
	}
	if nodeImage != "" {
		opts = append(opts, cluster.CreateWithNodeImage(nodeImage))
	}
	if err := provider.Create(e.clusterName, opts...); err != nil {
		return fail("kind create cluster %s: %v", e.clusterName, err)
	}
	cleanups = append(cleanups, func() {
		if code != 0 {
			exportLogs(provider)
		}
		if err := provider.Delete(e.clusterName, e.kubeconfig); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: deleting cluster %s: %v\n", e.clusterName, err)
		}
	})
	logf("kind cluster %s ready (%s)", e.clusterName, since(start))

	kindGateway, err := networkGateway("kind")
	if err != nil {
		return fail("%v", err)
	}
	if out, err := docker("run", "-d", "--name", e.registry, "--network", "kind",
		"-e", "FAKEGCR_GOOGLE="+fakestack.Rebase(e.stack.GoogleURL, kindGateway), registryImage,
		"-addr", ":5000", "-seed", strings.Join(registrySeed, ",")); err != nil {
		return fail("fake registry: %v: %s", err, out)
	}
	cleanups = append(cleanups, func() {
		if code != 0 {
			saveDockerLogs(e.registry)
		}
		_, _ = docker("rm", "-f", e.registry)
	})

	// The runner puts a job's docker actions on a network of its own.
	if out, err := docker("network", "create", e.jobNetwork); err != nil {
		return fail("job network: %v: %s", err, out)
	}
	cleanups = append(cleanups, func() { _, _ = docker("network", "rm", e.jobNetwork) })
	if e.jobGateway, err = networkGateway(e.jobNetwork); err != nil {
		return fail("%v", err)
	}
	// verify_image: the action reaches the fake registry by its name.
	if out, err := docker("network", "connect", e.jobNetwork, e.registry); err != nil {
		return fail("connect the fake registry to the job network: %v: %s", err, out)
	}
	cleanups = append(cleanups, func() { _, _ = docker("network", "disconnect", "-f", e.jobNetwork, e.registry) })

	rc, err := clientcmd.BuildConfigFromFlags("", e.kubeconfig)
	if err != nil {
		return fail("%v", err)
	}
	e.restConfig = rc
	if e.client, err = kubernetes.NewForConfig(rc); err != nil {
		return fail("%v", err)
	}
	if err := waitForDefaultSA(e.client, "default", 2*time.Minute); err != nil {
		return fail("%v", err)
	}
	logf("setup done in %s", since(start))
	code = m.Run()
	logf("total %s", since(start))
	return code
}

// nodeImage returns the image to create nodes from ("" = kind's default).
func nodeImage() (string, error) {
	switch v := os.Getenv("PULLSECRET_E2E_NODE_IMAGE"); v {
	case "stock":
		return "", nil
	case "":
		// The pinned Kubernetes and etcd come from the control-plane
		// harness's cache (built once for the integration tier too); the
		// node-image builder only packs them.
		bins, err := controlplane.EnsureBinaries(context.Background(), controlplane.BuildOptions{Components: controlplane.AllKubeCommands})
		if err != nil {
			return "", err
		}
		return goRunImage(".", "-kube-dir", bins.KubeDir, "-etcd", bins.Etcd)
	default:
		return v, nil
	}
}

// goRunImage runs one of the e2e/tools/nodeimage commands, which build (or
// find cached) an image and print its name.
func goRunImage(pkg string, args ...string) (string, error) {
	cmd := exec.Command("go", append([]string{"-C", filepath.Join("tools", "nodeimage"), "run", pkg}, args...)...)
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", err
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	return strings.TrimSpace(lines[len(lines)-1]), nil
}

// kindConfig renders testdata/kind-config.yaml.tmpl.
func kindConfig(certsDir string, offline bool) ([]byte, error) {
	tmpl, err := template.ParseFiles(filepath.Join("testdata", "kind-config.yaml.tmpl"))
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	err = tmpl.Execute(&b, map[string]any{"CertsDir": certsDir, "Offline": offline})
	return b.Bytes(), err
}

// writeHostsTOML writes containerd's registry host configuration: for each
// mirrored production host, <dir>/<host>/hosts.toml sending pulls and
// resolves to endpoint (containerd docs/hosts.md).
func writeHostsTOML(dir, endpoint string) error {
	for _, h := range mirroredHosts {
		if err := os.MkdirAll(filepath.Join(dir, h), 0o755); err != nil {
			return err
		}
		toml := fmt.Sprintf("server = %q\n\n[host.%q]\n  capabilities = [\"pull\", \"resolve\"]\n", "https://"+h, endpoint)
		if err := os.WriteFile(filepath.Join(dir, h, "hosts.toml"), []byte(toml), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func networkGateway(network string) (string, error) {
	out, err := docker("network", "inspect", network, "-f", "{{range .IPAM.Config}}{{.Gateway}} {{end}}")
	if err != nil {
		return "", fmt.Errorf("inspect network %s: %v: %s", network, err, out)
	}
	for _, f := range strings.Fields(out) {
		if !strings.Contains(f, ":") { // the IPv4 one
			return f, nil
		}
	}
	return "", fmt.Errorf("network %s has no IPv4 gateway (%q)", network, out)
}

func docker(args ...string) (string, error) {
	out, err := exec.Command("docker", args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func exportLogs(provider *cluster.Provider) {
	dir := e.artifacts
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "pullsecret-e2e-logs-"+e.clusterName)
	}
	if err := provider.CollectLogs(e.clusterName, dir); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: collecting kind logs: %v\n", err)
		return
	}
	fmt.Fprintf(os.Stderr, "e2e: tests failed; kind logs exported to %s\n", dir)
}

func saveDockerLogs(container string) {
	out, _ := docker("logs", container)
	dir := e.artifacts
	if dir == "" {
		dir = os.TempDir()
	}
	_ = os.MkdirAll(dir, 0o755)
	p := filepath.Join(dir, container+".log")
	_ = os.WriteFile(p, []byte(out), 0o644)
	fmt.Fprintf(os.Stderr, "e2e: %s logs in %s\n", container, p)
}

func randomSuffix() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "e2e: "+format+"\n", args...)
}

func since(t time.Time) string { return time.Since(t).Round(time.Second).String() }

func waitForDefaultSA(cs kubernetes.Interface, ns string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		if _, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1GetOptions); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("default ServiceAccount in %s never appeared", ns)
		case <-time.After(500 * time.Millisecond):
		}
	}
}
