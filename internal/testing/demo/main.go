// Command demo runs pullsecret end to end on this machine with no Google
// account and no cloud cluster: a real etcd + kube-apiserver +
// kube-controller-manager, fake Google and GitHub OIDC endpoints, and the
// real pullsecret binary run the way GitHub runs a docker action. It then
// shows the secret (never its content) and the patched ServiceAccount, and
// tears the preview environment down again.
//
//	go run ./internal/testing/demo
//
// With -serve-fakes it only starts the fake Google endpoints over https on
// all interfaces (a throwaway CA, written to -ca, for a docker action to
// trust through SSL_CERT_FILE) and appends, to the file named by -env
// (e.g. $GITHUB_ENV), the inputs (a fake service-account key and the
// endpoints) a docker action needs to use them through -host, the address
// the action's container reaches this host by. CI's `uses: ./` self-test
// uses this; it runs until killed.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/testing/actionbin"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	serve := flag.Bool("serve-fakes", false, "only serve the fakes (see package doc)")
	host := flag.String("host", "", "address containers reach this host by (with -serve-fakes)")
	envFile := flag.String("env", "", "file to append NAME=value input lines to (with -serve-fakes)")
	caFile := flag.String("ca", "fakes-ca.pem", "file to write the fakes' CA certificate to (with -serve-fakes)")
	flag.Parse()
	run := realMain
	if *serve {
		run = func(ctx context.Context) error { return serveFakes(ctx, *host, *envFile, *caFile) }
	}
	if err := run(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "demo failed: %v\n", err)
		stop()
		os.Exit(1)
	}
}

func realMain(ctx context.Context) error {
	work, err := os.MkdirTemp("", "pullsecret-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	step("Starting a real control plane (etcd, kube-apiserver, kube-controller-manager; built once, then cached)")
	cp, err := controlplane.Start(ctx, controlplane.Options{})
	if err != nil {
		return err
	}
	defer cp.Stop()
	fmt.Printf("   API server %s\n", cp.Server())

	step("Starting fake Google (STS, IAM Credentials, OAuth, metadata) and GitHub OIDC endpoints")
	stack, err := fakestack.Start("")
	if err != nil {
		return err
	}
	defer stack.Close()
	fmt.Printf("   Google %s, GitHub OIDC %s\n", stack.GoogleURL, stack.GitHubURL)

	step("Building pullsecret")
	bin, err := actionbin.Build()
	if err != nil {
		return err
	}
	defer actionbin.Cleanup()

	const ns = "preview-pr-42"
	inputs, err := stack.Inputs(fakestack.WIF, "")
	if err != nil {
		return err
	}
	inputs[config.InKubeconfig] = cp.Kubeconfig()
	inputs[config.InNamespaces] = ns
	inputs[config.InCreateNamespaces] = "true"
	step(fmt.Sprintf("Running the action: Workload Identity Federation as %s into new namespace %s", fakestack.ImpersonatedSA, ns))
	outputs, summary, err := runAction(ctx, bin, work, inputs, stack.GitHubEnv(""))
	if err != nil {
		return err
	}
	fmt.Printf("\n   Outputs:\n%s\n   Step summary:\n%s\n", indent(outputs), indent(summary))

	cs, err := kubernetes.NewForConfig(cp.RESTConfig())
	if err != nil {
		return err
	}
	step("What the cluster now holds")
	if err := show(ctx, cs, ns); err != nil {
		return err
	}

	step("Tearing the preview down (mode: delete)")
	if _, _, err := runAction(ctx, bin, work, map[string]string{
		config.InKubeconfig: cp.Kubeconfig(), config.InNamespaces: ns, config.InMode: "delete",
	}, nil); err != nil {
		return err
	}
	_, err = cs.CoreV1().Secrets(ns).Get(ctx, config.DefaultSecretName, metav1.GetOptions{})
	sa, _ := cs.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
	fmt.Printf("   secret present: %v; default imagePullSecrets: %v\n", err == nil, refNames(sa))
	step("Done: the production code path ran against a real API server and wire-faithful fakes")
	return nil
}

// runAction runs the binary like GitHub's runner: INPUT_* with defaults,
// file commands, and ::add-mask:: honoured (masked values are replaced
// before a line is shown, and the mask commands themselves are not shown).
func runAction(ctx context.Context, bin, work string, inputs, extra map[string]string) (outputs, summary string, err error) {
	cmd, files := actionbin.Command(ctx, bin, work, inputs, extra)
	cmd.Env = append(cmd.Env, "GITHUB_ACTIONS=true")
	out, sum := files.Outputs, files.Summary
	_ = os.WriteFile(out, nil, 0o600)
	_ = os.WriteFile(sum, nil, 0o600)
	var raw bytes.Buffer
	cmd.Stdout, cmd.Stderr = &raw, &raw
	runErr := cmd.Run()
	masks := printMasked(os.Stdout, &raw)
	o, _ := os.ReadFile(out)
	s, _ := os.ReadFile(sum)
	if runErr != nil {
		return "", "", fmt.Errorf("pullsecret failed: %w", runErr)
	}
	return redact(string(o), masks), redact(string(s), masks), nil
}

func printMasked(w io.Writer, r io.Reader) []string {
	var masks []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "::add-mask::"); ok {
			masks = append(masks, v)
			continue
		}
		fmt.Fprintf(w, "   | %s\n", redact(line, masks))
	}
	return masks
}

func redact(s string, masks []string) string {
	sort.Slice(masks, func(i, j int) bool { return len(masks[i]) > len(masks[j]) })
	for _, m := range masks {
		s = strings.ReplaceAll(s, m, "***")
	}
	return s
}

// show prints the secret's metadata and registry keys — never a credential.
func show(ctx context.Context, cs kubernetes.Interface, ns string) error {
	s, err := cs.CoreV1().Secrets(ns).Get(ctx, config.DefaultSecretName, metav1.GetOptions{})
	if err != nil {
		return err
	}
	var dc struct {
		Auths map[string]struct {
			Username string `json:"username"`
		} `json:"auths"`
	}
	if err := json.Unmarshal(s.Data[corev1.DockerConfigJsonKey], &dc); err != nil {
		return err
	}
	fmt.Printf("   Secret %s/%s type=%s labels=%v annotations=%v\n", ns, s.Name, s.Type, s.Labels, s.Annotations)
	keys := make([]string, 0, len(dc.Auths))
	for k := range dc.Auths {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Printf("     auths[%q]: username=%s password=<redacted>\n", k, dc.Auths[k].Username)
	}
	sa, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
	if err != nil {
		return err
	}
	fmt.Printf("   ServiceAccount %s/default imagePullSecrets=%v\n", ns, refNames(sa))
	return nil
}

func refNames(sa *corev1.ServiceAccount) []string {
	var out []string
	if sa != nil {
		for _, r := range sa.ImagePullSecrets {
			out = append(out, r.Name)
		}
	}
	return out
}

func step(s string) { fmt.Printf("\n==> %s\n", s) }

func indent(s string) string {
	return "   " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n   ")
}

// serveFakes runs the fakes for a self-test and publishes the inputs that
// select them (workload identity federation through the fake GitHub issuer).
func serveFakes(ctx context.Context, host, envFile, caFile string) error {
	stack, err := fakestack.Start("")
	if err != nil {
		return err
	}
	defer stack.Close()
	// Over https: only a test-rig build lets Google endpoints be plain
	// http off loopback, and `uses: ./` builds the Dockerfile, a plain build.
	base, stop, err := serveTLS(stack.Google.Handler(), host, caFile)
	if err != nil {
		return err
	}
	defer stop()
	// A key, not federation: on GitHub the runner's own OIDC variables
	// reach the container, and the fake provider trusts only the fake issuer.
	inputs, err := stack.Inputs(fakestack.KeyToken, "")
	if err != nil {
		return err
	}
	for k, v := range stack.EndpointInputs("") {
		inputs[k] = strings.Replace(v, stack.GoogleURL, base, 1)
	}
	var b strings.Builder
	// One line per input: the multi-line key travels as base64, which
	// credentials_json accepts.
	inputs[config.InCredentialsJSON] = base64.StdEncoding.EncodeToString(stack.Key)
	for k, v := range inputs {
		fmt.Fprintf(&b, "FAKE_%s=%s\n", strings.ToUpper(k), v)
	}
	if envFile != "" {
		f, err := os.OpenFile(envFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		_, err = f.WriteString(b.String())
		f.Close()
		if err != nil {
			return err
		}
	}
	fmt.Printf("fakes serving: Google %s (CA in %s)\n", base, caFile)
	<-ctx.Done()
	return nil
}
