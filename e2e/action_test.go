//go:build e2e

package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/registry"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

// releaseActionImage runs the release procedure and returns the image the
// release's action.yml names: scripts/release builds this tree
// (reproducibly, with the test-rig switches on), pushes the multi-arch image to a local registry
// and writes the release commit; the image is then pulled, like the runner
// does for `uses: owner/pullsecret@v1`, by the digest written in that
// commit's action.yml. The pull and first start are timed: they are the
// step start-up users see.
func releaseActionImage(cleanups *[]func()) (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "pullsecret-e2e-release-")
	if err != nil {
		return "", err
	}
	*cleanups = append(*cleanups, func() { os.RemoveAll(dir) })
	// A plain registry (go-containerregistry's, pinned by tools/release's
	// go.sum) on this host; dockerd pulls from localhost over http.
	regBin := filepath.Join(dir, "registry")
	if out, err := exec.Command("go", "-C", filepath.Join("..", "tools", "release"), "build", "-o", regBin,
		"github.com/google/go-containerregistry/cmd/registry").CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the local registry: %v: %s", err, out)
	}
	reg := exec.Command(regBin, "-port", port)
	reg.Stdout, reg.Stderr = io.Discard, io.Discard
	if err := reg.Start(); err != nil {
		return "", err
	}
	*cleanups = append(*cleanups, func() { _ = reg.Process.Kill(); _, _ = reg.Process.Wait() })
	if err := waitTCP("127.0.0.1:"+port, 30*time.Second); err != nil {
		return "", err
	}

	out := filepath.Join(dir, "dist")
	start := time.Now()
	cmd := exec.Command(filepath.Join("..", "scripts", "release"), "v0.0.0-e2e", "--repo", "localhost:"+port+"/pullsecret",
		"--push", "--allow-dirty", "--out", out,
		// The fakes speak plain http and the registry is reached through a
		// mirror: switches only a test-rig build obeys.
		"--test-rig",
		// The cluster runs the host's architecture; the other five targets
		// are release-tool concerns, tested in tools/release.
		"--platforms", "linux/"+runtime.GOARCH)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("scripts/release: %v", err)
	}
	logf("release built and pushed in %s", since(start))
	commit, err := os.ReadFile(filepath.Join(out, "release-commit"))
	if err != nil {
		return "", err
	}
	actionYAML := runOut("git", "show", strings.TrimSpace(string(commit))+":action.yml")
	image, err := releasedImage(actionYAML)
	if err != nil {
		return "", err
	}
	// Start from nothing, as a fresh runner does.
	_, _ = docker("rmi", "-f", image)
	t0 := time.Now()
	if out, err := docker("pull", "-q", image); err != nil {
		return "", fmt.Errorf("docker pull %s: %v: %s", image, err, out)
	}
	pulled := time.Since(t0)
	if out, err := docker("run", "--rm", image, "--version"); err != nil || !strings.Contains(out, "v0.0.0-e2e") {
		return "", fmt.Errorf("the released image does not run: %v: %s", err, out)
	}
	logf("step start-up from the release: pull %s + start %s = %s (image %s)",
		pulled.Round(time.Millisecond), (time.Since(t0) - pulled).Round(time.Millisecond), time.Since(t0).Round(time.Millisecond), image)
	if os.Getenv("PULLSECRET_E2E_COMPARE_BUILD") == "1" {
		if err := measureDockerfileStartup(); err != nil {
			return "", err
		}
	}
	return image, nil
}

// releasedImage reads the image a release's action.yml runs, which must be
// a docker:// reference by digest.
func releasedImage(actionYAML string) (string, error) {
	for _, line := range strings.Split(actionYAML, "\n") {
		if ref, ok := strings.CutPrefix(strings.TrimSpace(line), "image: docker://"); ok {
			if !strings.Contains(ref, "@sha256:") {
				return "", fmt.Errorf("release action.yml names %q, not an image by digest", ref)
			}
			return ref, nil
		}
	}
	return "", fmt.Errorf("release action.yml has no `image: docker://…`:\n%s", actionYAML)
}

// measureDockerfileStartup times what every run cost before releases:
// `image: Dockerfile` builds the image on the runner (no cache on a fresh
// runner) before the step can start. Offline the Dockerfile's Go image is a
// local stand-in with this machine's toolchain; the compile is the same.
func measureDockerfileStartup() error {
	builder, err := localBuilderImage()
	if err != nil {
		return err
	}
	t0 := time.Now()
	if out, err := docker("build", "-q", "--no-cache", "-t", "local/pullsecret-action:dockerfile", "--build-arg", "GO_IMAGE="+builder,
		"--build-arg", "VERSION=e2e", ".."); err != nil {
		return fmt.Errorf("docker build: %v: %s", err, out)
	}
	built := time.Since(t0)
	if out, err := docker("run", "--rm", "local/pullsecret-action:dockerfile", "--version"); err != nil {
		return fmt.Errorf("built image does not run: %v: %s", err, out)
	}
	logf("step start-up building the Dockerfile (no cache, like a fresh runner): build %s + start %s = %s",
		built.Round(time.Millisecond), (time.Since(t0) - built).Round(time.Millisecond), time.Since(t0).Round(time.Millisecond))
	return nil
}

// localBuilderImage imports (once per Go version) a stand-in for the
// Dockerfile's golang image: this machine's Go at /usr/local/go and a static
// busybox for RUN's /bin/sh.
func localBuilderImage() (string, error) {
	goroot := strings.TrimSpace(runOut("go", "env", "GOROOT"))
	version := strings.TrimSpace(runOut("go", "env", "GOVERSION"))
	if goroot == "" || version == "" {
		return "", fmt.Errorf("cannot find the Go toolchain")
	}
	builder := "local/pullsecret-go-builder:" + version
	if _, err := docker("image", "inspect", builder); err == nil {
		return builder, nil
	}
	script := `set -e; r=$(mktemp -d); trap 'rm -rf "$r"' EXIT
mkdir -p "$r/usr/local" "$r/bin" "$r/tmp" "$r/etc/ssl/certs"
cp -a "$1" "$r/usr/local/go"; cp /bin/busybox "$r/bin/"; for a in sh env mkdir; do ln -s busybox "$r/bin/$a"; done
cp "$3" "$r/etc/ssl/certs/"
tar -C "$r" -c . | docker import --change 'ENV PATH=/usr/local/go/bin:/bin' --change 'ENV HOME=/tmp' --change 'ENV GOTOOLCHAIN=local' - "$2" >/dev/null`
	if out, err := exec.Command("sh", "-c", script, "sh", goroot, builder, "/etc/ssl/certs/ca-certificates.crt").CombinedOutput(); err != nil {
		return "", fmt.Errorf("builder image: %v: %s", err, out)
	}
	return builder, nil
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	_, port, err := net.SplitHostPort(l.Addr().String())
	return port, err
}

func waitTCP(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not listening after %s: %v", addr, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func runOut(name string, args ...string) string {
	out, _ := exec.Command(name, args...).Output()
	return string(out)
}

// actionRun is what one action step left behind.
type actionRun struct {
	exitCode       int
	stdout, stderr string
	outputs        map[string]string
	summary        string
}

// The runner's layout: the host workspace is mounted at /github/workspace,
// and steps before ours export host paths (KUBECONFIG here).
const (
	hostRunnerWorkspace = "/home/runner/work/octo-repo"
	hostWorkspace       = hostRunnerWorkspace + "/octo-repo"
)

// runAction runs the action's container the way GitHub's runner runs a
// docker action: every input as INPUT_* (action.yml defaults filled in),
// the workspace and file-command mounts, GITHUB_OUTPUT/GITHUB_STEP_SUMMARY,
// the OIDC request variables (pointing at the fake issuer), on the job's
// own docker network. The kubeconfig is kind's, for a loopback API server:
// the documented route (api_server_host: auto) must reach it.
// runnerOption changes the runner's setup for one step: mounts (-v) and
// the environment the step sees, given the step's scratch dir and kind's
// kubeconfig.
type runnerOption func(t *testing.T, work string, kubeconfig []byte, args *[]string, envs map[string]string)

// hostRunnerTemp is $RUNNER_TEMP on the runner host.
const hostRunnerTemp = "/home/runner/work/_temp"

// kubeconfigInRunnerTemp: an earlier step (azure/k8s-set-context) wrote the
// kubeconfig under $RUNNER_TEMP and exported KUBECONFIG. Newer runners mount
// $RUNNER_TEMP at /github/runner_temp (actions/runner PR 4011); older ones
// do not.
func kubeconfigInRunnerTemp(mounted bool) runnerOption {
	return func(t *testing.T, work string, kc []byte, args *[]string, envs map[string]string) {
		temp := filepath.Join(work, "runner_temp")
		if err := os.MkdirAll(temp, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(temp, "kubeconfig_1712"), kc, 0o600); err != nil {
			t.Fatal(err)
		}
		if mounted {
			*args = append(*args, "-v", temp+":/github/runner_temp")
		}
		envs["RUNNER_TEMP"] = hostRunnerTemp
		envs["KUBECONFIG"] = hostRunnerTemp + "/kubeconfig_1712"
	}
}

// kubeconfigInRunnerHome: helm/kind-action or `aws eks update-kubeconfig`
// wrote the runner user's ~/.kube/config and exported nothing; the runner
// never mounts that home.
func kubeconfigInRunnerHome(t *testing.T, work string, kc []byte, args *[]string, envs map[string]string) {
	home := filepath.Join(work, "runner_home", ".kube")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "config"), kc, 0o600); err != nil {
		t.Fatal(err)
	}
	delete(envs, "KUBECONFIG")
}

func runAction(t *testing.T, inputs map[string]string, opts ...runnerOption) actionRun {
	t.Helper()
	work := t.TempDir()
	ws, cmds, home := filepath.Join(work, "workspace"), filepath.Join(work, "file_commands"), filepath.Join(work, "home")
	for _, d := range []string{ws, cmds, home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	kc, err := os.ReadFile(e.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, "kubeconfig"), kc, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"set_output", "step_summary"} {
		if err := os.WriteFile(filepath.Join(cmds, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	args := []string{"run", "--rm", "--network", e.jobNetwork, "--workdir", "/github/workspace",
		"-v", ws + ":/github/workspace", "-v", cmds + ":/github/file_commands", "-v", home + ":/github/home"}
	envs := map[string]string{
		"HOME": "/github/home", "CI": "true", "GITHUB_ACTIONS": "true",
		"GITHUB_WORKSPACE": "/github/workspace", "RUNNER_WORKSPACE": hostRunnerWorkspace,
		"GITHUB_OUTPUT":       "/github/file_commands/set_output",
		"GITHUB_STEP_SUMMARY": "/github/file_commands/step_summary",
		// An earlier step exported the host path of the kubeconfig.
		"KUBECONFIG": hostWorkspace + "/kubeconfig",
		// The fakes are reached through the job network's gateway over
		// plain http, which only this test-rig switch permits.
		config.EnvAllowHTTPEndpoints: "true",
		// verify_image reaches the fake registry as the node's containerd
		// does: through a mirror, with ?ns=HOST (test-rig switch too).
		registry.EnvTestMirror: "http://" + e.registry + ":5000",
	}
	for k, v := range e.stack.GitHubEnv(e.jobGateway) {
		envs[k] = v
	}
	for _, in := range config.Inputs {
		v, ok := inputs[in.Name]
		if !ok {
			v = in.Default
		}
		envs[config.EnvName(in.Name)] = v
	}
	for _, o := range opts {
		o(t, work, kc, &args, envs)
	}
	// Values go through the environment of `docker run` itself (-e NAME),
	// so no secret appears in a process listing.
	cmd := exec.Command("docker")
	cmd.Env = os.Environ()
	for k, v := range envs {
		args = append(args, "-e", k)
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Args = append([]string{"docker"}, append(args, e.actionImage)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Run()
	r := actionRun{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.exitCode = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	out, _ := os.ReadFile(filepath.Join(cmds, "set_output"))
	r.outputs = parseOutputs(string(out))
	sum, _ := os.ReadFile(filepath.Join(cmds, "step_summary"))
	r.summary = string(sum)
	t.Logf("action ran in %s, exit %d", time.Since(start).Round(time.Millisecond), r.exitCode)
	transcripts = append(transcripts, r)
	return r
}

// mustRunAction runs the action and fails the test unless it succeeded.
func mustRunAction(t *testing.T, inputs map[string]string, opts ...runnerOption) actionRun {
	t.Helper()
	r := runAction(t, inputs, opts...)
	if r.exitCode != 0 {
		t.Fatalf("action failed (exit %d)\nstdout:\n%s\nstderr:\n%s", r.exitCode, redactForLog(r.stdout), redactForLog(r.stderr))
	}
	return r
}

// redactForLog drops mask commands so a failure message never prints them.
func redactForLog(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(l, "::add-mask::") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// parseOutputs reads GITHUB_OUTPUT's name<<DELIM / value / DELIM blocks.
func parseOutputs(s string) map[string]string {
	out := map[string]string{}
	lines := strings.Split(s, "\n")
	for i := 0; i < len(lines); i++ {
		name, delim, ok := strings.Cut(lines[i], "<<")
		if !ok {
			continue
		}
		var val []string
		for i++; i < len(lines) && lines[i] != delim; i++ {
			val = append(val, lines[i])
		}
		out[name] = strings.Join(val, "\n")
	}
	return out
}

// transcripts is every action run of the suite, scanned for secrets at the
// end (scenario 12).
var transcripts []actionRun

// credentials builds the inputs for a credential setup, with every endpoint
// as the action's container reaches the fakes.
func credentials(t *testing.T, c fakestack.Credential, extra map[string]string) map[string]string {
	t.Helper()
	in, err := e.stack.Inputs(c, e.jobGateway)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range extra {
		in[k] = v
	}
	return in
}

// secretValues is every credential-bearing string the suite knows of. A key
// or payload that does not parse fails the test: skipping it would silently
// drop its fields from the leak scan.
func secretValues(t *testing.T, payloads [][]byte) []string {
	t.Helper()
	var out []string
	for _, tok := range e.stack.Google.Issued() {
		out = append(out, tok.Token)
	}
	key := string(e.stack.Key)
	out = append(out, key, base64.StdEncoding.EncodeToString(e.stack.Key))
	var k struct {
		PrivateKey string `json:"private_key"`
	}
	if err := json.Unmarshal(e.stack.Key, &k); err != nil || k.PrivateKey == "" {
		t.Fatalf("the fake stack's key has no private_key to scan for (%v)", err)
	}
	for _, line := range strings.Split(k.PrivateKey, "\n") {
		if len(line) > 20 {
			out = append(out, line)
		}
	}
	for _, p := range payloads {
		out = append(out, string(p), base64.StdEncoding.EncodeToString(p))
		var dc struct {
			Auths map[string]struct{ Auth string } `json:"auths"`
		}
		if err := json.Unmarshal(p, &dc); err != nil {
			t.Fatalf("a recorded pull-secret payload (%d bytes) is not a docker config: %v", len(p), err)
		}
		for _, a := range dc.Auths {
			out = append(out, a.Auth)
		}
	}
	return out
}
