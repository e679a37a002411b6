//go:build e2e

package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/registry"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

// buildActionImage builds the action's image from the repository's
// Dockerfile. Where registries are reachable (GitHub runners) its default
// base images are used. Offline neither golang nor distroless can be pulled,
// so the same Dockerfile is built with two local stand-ins passed as its
// build arguments: a builder holding this machine's Go toolchain, and a
// base holding only the CA bundle (what distroless static adds to scratch).
//
// One fixed tag: a rebuild replaces it and keeps docker's layer cache (the
// go mod download layer), instead of piling up an image per run.
func buildActionImage() (string, error) {
	image := "local/pullsecret-action:e2e"
	args := []string{"build", "-q", "-t", image}
	if os.Getenv("PULLSECRET_E2E_NODE_IMAGE") != "stock" {
		builder, base, err := localBaseImages()
		if err != nil {
			return "", err
		}
		args = append(args, "--build-arg", "GO_IMAGE="+builder, "--build-arg", "BASE_IMAGE="+base)
	}
	if out, err := docker(append(args, "--build-arg", "VERSION=e2e", "..")...); err != nil {
		return "", fmt.Errorf("docker build: %v: %s", err, out)
	}
	return image, nil
}

// localBaseImages imports (once per Go version) the builder and base
// stand-ins from files on this machine.
func localBaseImages() (builder, base string, err error) {
	goroot := strings.TrimSpace(runOut("go", "env", "GOROOT"))
	version := strings.TrimSpace(runOut("go", "env", "GOVERSION"))
	if goroot == "" || version == "" {
		return "", "", fmt.Errorf("cannot find the Go toolchain")
	}
	builder, base = "local/pullsecret-go-builder:"+version, "local/pullsecret-static-base:1"
	certs := "/etc/ssl/certs/ca-certificates.crt"
	// The builder: Go at /usr/local/go, a static busybox for RUN's /bin/sh.
	if _, err := docker("image", "inspect", builder); err != nil {
		script := `set -e; r=$(mktemp -d); trap 'rm -rf "$r"' EXIT
mkdir -p "$r/usr/local" "$r/bin" "$r/tmp" "$r/etc/ssl/certs"
cp -a "$1" "$r/usr/local/go"; cp /bin/busybox "$r/bin/"; for a in sh env mkdir; do ln -s busybox "$r/bin/$a"; done
cp "$3" "$r/etc/ssl/certs/"
tar -C "$r" -c . | docker import --change 'ENV PATH=/usr/local/go/bin:/bin' --change 'ENV HOME=/tmp' --change 'ENV GOTOOLCHAIN=local' - "$2" >/dev/null`
		if out, err := exec.Command("sh", "-c", script, "sh", goroot, builder, certs).CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("builder image: %v: %s", err, out)
		}
	}
	if _, err := docker("image", "inspect", base); err != nil {
		script := `set -e; r=$(mktemp -d); trap 'rm -rf "$r"' EXIT
mkdir -p "$r/etc/ssl/certs" "$r/tmp"; cp "$2" "$r/etc/ssl/certs/"
tar -C "$r" -c . | docker import - "$1" >/dev/null`
		if out, err := exec.Command("sh", "-c", script, "sh", base, certs).CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("base image: %v: %s", err, out)
		}
	}
	return builder, base, nil
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
func runAction(t *testing.T, inputs map[string]string) actionRun {
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
func mustRunAction(t *testing.T, inputs map[string]string) actionRun {
	t.Helper()
	r := runAction(t, inputs)
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
// end (scenario 7).
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

// secretValues is every credential-bearing string the suite knows of.
func secretValues(payloads [][]byte) []string {
	var out []string
	for _, tok := range e.stack.Google.Issued() {
		out = append(out, tok.Token)
	}
	key := string(e.stack.Key)
	out = append(out, key, base64.StdEncoding.EncodeToString(e.stack.Key))
	var k struct {
		PrivateKey string `json:"private_key"`
	}
	_ = json.Unmarshal(e.stack.Key, &k)
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
		_ = json.Unmarshal(p, &dc)
		for _, a := range dc.Auths {
			out = append(out, a.Auth)
		}
	}
	return out
}
