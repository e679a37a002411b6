package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/spf13/pflag"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/kube"
	"github.com/pullsecret/pullsecret/internal/runner"
	"github.com/pullsecret/pullsecret/internal/testing/check"
)

// mainIn runs Main in-process with env as the environment; it must stop
// before touching Google or a cluster (bad input, help, version).
func mainIn(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(t.Context(), Env{
		Args: args, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut,
		Getenv: check.Getenv(env), LookupEnv: check.Lookup(env), ReadFile: os.ReadFile,
		Width: 80, Build: Build{Version: "v1.2.3", Commit: "0123456789abcdef0123456789abcdef01234567", Date: "2026-01-02T03:04:05Z"},
	})
	return code, out.String(), errOut.String()
}

func TestHelp(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := mainIn(t, nil, "--help")
	if code != ExitOK || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	check.Golden(t, filepath.Join("testdata", "help.golden"), stdout)

	// Every flag once, spelled --flag, under its group's heading; a
	// hidden one (what a release's action.yml passes) never.
	fs, _, _ := newFlagSet(check.Lookup(nil))
	fs.VisitAll(func(f *pflag.Flag) {
		want := 1
		if f.Hidden {
			want = 0
		}
		if n := strings.Count(stdout, "  --"+f.Name+" ") + strings.Count(stdout, "  --"+f.Name+"\n") + strings.Count(stdout, ", --"+f.Name+" ") + strings.Count(stdout, ", --"+f.Name+"\n"); n != want {
			t.Errorf("--%s listed %d times, want %d", f.Name, n, want)
		}
	})
	if !strings.Contains(stdout, "--print-wif-setup") || strings.Contains(stdout, FlagReleaseImage) {
		t.Errorf("--help must list --print-wif-setup and hide --%s", FlagReleaseImage)
	}
	for _, in := range config.Inputs {
		heading := "\n" + config.GroupOf(in.Name) + " flags:\n"
		at, hd := strings.Index(stdout, "  --"+in.Flag()), strings.Index(stdout, heading)
		next := strings.Index(stdout[hd+len(heading):], " flags:\n")
		if hd < 0 || at < hd || (next >= 0 && at > hd+len(heading)+next) {
			t.Errorf("--%s is not under %q", in.Flag(), strings.TrimSpace(heading))
		}
		if in.Secret && strings.Contains(stdout, "--"+in.Flag()+" string (default") {
			t.Errorf("--%s shows a default", in.Flag())
		}
	}
	// Wrapped to the width; only words longer than a line (URLs) overrun.
	for _, line := range strings.Split(stdout, "\n") {
		if len(line) > 80 && strings.Contains(strings.TrimSpace(line), " ") && !strings.Contains(line, "(default") {
			t.Errorf("line longer than 80 columns: %q", line)
		}
	}
}

func TestEveryInputHasAGroup(t *testing.T) {
	t.Parallel()
	for _, in := range config.Inputs {
		if config.GroupOf(in.Name) == "" {
			t.Errorf("input %s has no --help group", in.Name)
		}
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		args   []string
		stdout string
	}{
		{
			name:   "text",
			args:   []string{"--version"},
			stdout: "pullsecret v1.2.3 (commit 0123456789abcdef0123456789abcdef01234567, built 2026-01-02T03:04:05Z, " + goVersion() + ")\n",
		},
		{
			name:   "json",
			args:   []string{"--version", "-o", "json"},
			stdout: fmt.Sprintf("{\n  \"version\": \"v1.2.3\",\n  \"commit\": \"0123456789abcdef0123456789abcdef01234567\",\n  \"date\": \"2026-01-02T03:04:05Z\",\n  \"go\": %q\n}\n", goVersion()),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := mainIn(t, nil, tc.args...)
			if code != ExitOK || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			if diff := cmp.Diff(tc.stdout, stdout); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
		})
	}
}

// A released CLI also names the image it was stamped with.
func TestVersionOfAReleasedCLI(t *testing.T) {
	t.Parallel()
	b := Build{Version: "v1.2.3", Commit: "c", Date: "d", Go: "go1", Image: "ghcr.io/pullsecret/pullsecret@sha256:" + strings.Repeat("0", 64)}
	for output, want := range map[string]string{
		OutputText: "pullsecret v1.2.3 (commit c, built d, go1)\nimage " + b.Image + "\n",
		OutputJSON: "{\n  \"version\": \"v1.2.3\",\n  \"commit\": \"c\",\n  \"date\": \"d\",\n  \"go\": \"go1\",\n  \"image\": \"" + b.Image + "\"\n}\n",
	} {
		var out bytes.Buffer
		if code := writeVersion(&out, b, output); code != ExitOK {
			t.Fatalf("%s: exit %d", output, code)
		}
		if diff := cmp.Diff(want, out.String()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", output, diff)
		}
	}
}

func goVersion() string { return Build{}.Resolve().Go }

func TestBuildResolve(t *testing.T) {
	t.Parallel()
	info := func(version string, settings ...string) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			bi := &debug.BuildInfo{GoVersion: "go1.99", Main: debug.Module{Version: version}}
			for i := 0; i+1 < len(settings); i += 2 {
				bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
			}
			return bi, true
		}
	}
	rev := "89abcdef0123456789abcdef0123456789abcdef"
	cases := []struct {
		name  string
		build Build
		want  Build
	}{
		{
			name:  "ldflags win",
			build: Build{Version: "v1.0.0", Commit: "abc", Date: "2026-01-01T00:00:00Z", readBuildInfo: info("v0.9.0", "vcs.revision", rev, "vcs.time", "2025-01-01T00:00:00Z")},
			want:  Build{Version: "v1.0.0", Commit: "abc", Date: "2026-01-01T00:00:00Z", Go: "go1.99"},
		},
		{
			name:  "go install of a tag",
			build: Build{readBuildInfo: info("v1.1.0")},
			want:  Build{Version: "v1.1.0", Commit: "unknown", Date: "unknown", Go: "go1.99"},
		},
		{
			name:  "go build in a modified checkout",
			build: Build{readBuildInfo: info("(devel)", "vcs.revision", rev, "vcs.time", "2026-02-03T04:05:06Z", "vcs.modified", "true")},
			want:  Build{Version: "dev", Commit: rev + "-dirty", Date: "2026-02-03T04:05:06Z", Go: "go1.99"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, tc.build.Resolve(), cmpopts.IgnoreUnexported(Build{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestBadInputExitsTwo(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		args   []string
		env    map[string]string
		stderr []string
	}{
		{
			name:   "unknown flag",
			args:   []string{"--bogus"},
			stderr: []string{"unknown flag: --bogus", "pullsecret --help"},
		},
		{
			name:   "Go flag spelling of a shorthand-less flag",
			args:   []string{"-namespaces", "x"},
			stderr: []string{"pullsecret --help"},
		},
		{
			name:   "argument",
			args:   []string{"preview-1"},
			stderr: []string{`unexpected argument "preview-1"`},
		},
		{
			name:   "output format",
			args:   []string{"--output", "yaml"},
			stderr: []string{`--output "yaml"`, "text or json"},
		},
		{
			name:   "completion without shell",
			args:   []string{"completion"},
			stderr: []string{"one shell"},
		},
		{
			name:   "completion of an unknown shell",
			args:   []string{"completion", "tcsh"},
			stderr: []string{`"tcsh"`},
		},
		{
			name:   "invalid input as flag",
			args:   []string{"--token-lifetime", "forever"},
			stderr: []string{"error: invalid configuration", config.InTokenLifetime},
		},
		{
			name:   "invalid input as variable",
			env:    map[string]string{"INPUT_MODE": "upsert"},
			stderr: []string{"error: invalid configuration", config.InMode},
		},
		{
			// Attack: an earlier step's env: or $GITHUB_ENV chose the
			// image the refresher runs. A build from source refuses
			// refresh: true without refresh_image, whatever the
			// environment says.
			name: "refresher image only in the environment",
			env: map[string]string{"PULLSECRET_IMAGE": "attacker.example/evil@sha256:" + strings.Repeat("e", 64),
				"INPUT_REFRESH": "true", "INPUT_NAMESPACES": "a", "INPUT_SERVICE_ACCOUNT": "puller@p.iam.gserviceaccount.com", "INPUT_ACCESS_TOKEN": "ya29.x"},
			stderr: []string{`input "refresh_image": is required: this build of pullsecret has no release image`},
		},
		{
			// The release's own image comes from the hidden flag
			// action.yml passes, and is checked like refresh_image.
			name:   "release image flag not by digest",
			args:   []string{"--" + FlagReleaseImage, "ghcr.io/pullsecret/pullsecret:v1"},
			env:    map[string]string{"INPUT_REFRESH": "true", "INPUT_NAMESPACES": "a", "INPUT_SERVICE_ACCOUNT": "puller@p.iam.gserviceaccount.com", "INPUT_ACCESS_TOKEN": "ya29.x"},
			stderr: []string{`input "refresh_image": "ghcr.io/pullsecret/pullsecret:v1" must name the image by digest`},
		},
		{
			name:   "key file missing",
			args:   []string{"--credentials-json-file", filepath.Join(t.TempDir(), "none.json")},
			stderr: []string{"--credentials-json-file"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := mainIn(t, tc.env, tc.args...)
			if code != ExitBadInput {
				t.Errorf("exit %d, want %d", code, ExitBadInput)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing: errors go to stderr", stdout)
			}
			check.Error(t, errors.New(stderr), tc.stderr...)
		})
	}
}

func TestJSONOnBadInput(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := mainIn(t, nil, "--token-lifetime", "forever", "--output", "json")
	if code != ExitBadInput {
		t.Errorf("exit %d", code)
	}
	check.Golden(t, filepath.Join("testdata", "badinput.golden.json"), stdout)
	check.Error(t, errors.New(stderr), config.InTokenLifetime)
}

func TestJSONResult(t *testing.T) {
	t.Parallel()
	cfg := &config.Config{SecretName: "gcr-pull-secret", Mode: config.ModeApply, Registries: []string{"gcr.io", "*-docker.pkg.dev"}}
	res := &runner.Result{
		ExpiresAt: time.Date(2026, 3, 4, 13, 0, 0, 0, time.UTC),
		Principal: "puller@my-project.iam.gserviceaccount.com",
		Method:    "Workload Identity Federation, then service-account impersonation",
		Namespaces: []runner.NamespaceResult{
			{Namespace: "preview-41", Secret: kube.SecretUpdated, Patched: nil, Unchanged: []string{"default"}},
			{Namespace: "preview-42", Secret: kube.SecretCreated, CreatedNamespace: true, Patched: []string{"default", "builder"}},
			{Namespace: "preview-43", Skipped: "namespace is being deleted"},
			{Namespace: "team-a", Err: errors.New(`namespace "team-a": failed to apply secret "gcr-pull-secret": secret is not managed by pullsecret (set force: true to take it over)`)},
		},
	}
	runErr := errors.New(`1 of 4 namespace(s) failed: namespace "team-a": failed to apply secret "gcr-pull-secret": secret is not managed by pullsecret (set force: true to take it over)`)
	var b bytes.Buffer
	if err := writeJSON(&b, newJSONResult(cfg, res, runErr, func(s string) string { return s })); err != nil {
		t.Fatal(err)
	}
	// Every error text passes through the reporter's redaction.
	redacted := newJSONResult(cfg, res, runErr, func(string) string { return "***" })
	if got := []string{redacted.Error, redacted.Namespaces[3].Error}; !slices.Equal(got, []string{"***", "***"}) {
		t.Errorf("errors not redacted: %q", got)
	}
	check.Golden(t, filepath.Join("testdata", "output.golden.json"), b.String())

	// docs/cli.md shows this very sample.
	doc, err := os.ReadFile(cliDoc)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "```json\n"+b.String()+"```") {
		t.Errorf("%s does not show testdata/output.golden.json as its --output json sample", cliDoc)
	}
}

func TestExitCode(t *testing.T) {
	t.Parallel()
	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "namespaces"}, "", errors.New("RBAC"))
	cases := []struct {
		name string
		err  error
		want int
	}{
		{
			name: "success",
			want: ExitOK,
		},
		{
			name: "bad input",
			err:  runner.Classify(runner.ErrBadInput, errors.New("x")),
			want: ExitBadInput,
		},
		{
			name: "credentials",
			err:  runner.Classify(runner.ErrCredentials, errors.New("x")),
			want: ExitCredentials,
		},
		{
			name: "unreachable",
			err:  runner.Classify(runner.ErrClusterUnreachable, errors.New("x")),
			want: ExitClusterUnreachable,
		},
		{
			name: "forbidden",
			err:  runner.Classify(runner.ErrForbidden, forbidden),
			want: ExitForbidden,
		},
		{
			name: "namespaces failed",
			err:  runner.Classify(runner.ErrNamespacesFailed, forbidden),
			want: ExitFailed,
		},
		{
			name: "outputs not written",
			err:  errors.Join(nil, errors.New("failed to set output")),
			want: ExitFailed,
		},
		{
			name: "unclassified",
			err:  errors.New("run cancelled"),
			want: ExitFailed,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := ExitCode(tc.err); got != tc.want {
				t.Errorf("ExitCode(%v) = %d, want %d", tc.err, got, tc.want)
			}
		})
	}
}

// cliDoc documents the command line: the --output json sample and the
// exit-code table, both checked against the code below.
var cliDoc = filepath.Join("..", "..", "docs", "cli.md")

// The exit-code table of docs/cli.md is ExitCodes.
func TestDocExitCodes(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(cliDoc)
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	want.WriteString("| Exit code | Meaning |\n|---|---|\n")
	for _, c := range ExitCodes {
		fmt.Fprintf(&want, "| `%d` | %s |\n", c.Code, c.Meaning)
	}
	if !strings.Contains(string(doc), want.String()) {
		t.Errorf("%s lacks the exit-code table; want:\n%s", cliDoc, want.String())
	}
}

func TestCompletion(t *testing.T) {
	t.Parallel()
	fs, _, _ := newFlagSet(check.Lookup(nil))
	var flags []string
	fs.VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			flags = append(flags, "--"+f.Name)
		}
	})
	for _, shell := range shells {
		t.Run(shell, func(t *testing.T) {
			t.Parallel()
			code, script, stderr := mainIn(t, nil, "completion", shell)
			if code != ExitOK || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			check.Golden(t, filepath.Join("testdata", "completion."+shell), script)
			if strings.Contains(script, FlagReleaseImage) {
				t.Errorf("%s completion offers the hidden --%s", shell, FlagReleaseImage)
			}
			for _, f := range flags {
				name := strings.TrimPrefix(f, "--")
				if !strings.Contains(script, f) && !strings.Contains(script, "-l "+name+" ") {
					t.Errorf("%s completion lacks %s", shell, f)
				}
			}
		})
	}
}

// The bash script loads into a real bash and completes every flag, and
// the values of enumerated ones.
func TestBashCompletionInBash(t *testing.T) {
	t.Parallel()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal("bash is needed to test the bash completion (it is on every CI image)")
	}
	_, script, _ := mainIn(t, nil, "completion", "bash")
	path := filepath.Join(t.TempDir(), "pullsecret.bash")
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	complete := func(words ...string) []string {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), bash, "--norc", "-c", `source "$1"; complete -p pullsecret; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($#-1)); _pullsecret; printf '%s\n' "${COMPREPLY[@]}"`, "bash", path)
		cmd.Args = append(cmd.Args, words...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if lines[0] != "complete -F _pullsecret pullsecret" {
			t.Errorf("complete -p pullsecret = %q", lines[0])
		}
		return slices.DeleteFunc(lines[1:], func(s string) bool { return s == "" })
	}
	fs, _, _ := newFlagSet(check.Lookup(nil))
	var want []string
	fs.VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			want = append(want, "--"+f.Name)
		}
	})
	got := slices.DeleteFunc(complete("pullsecret", "--"), func(s string) bool { return !strings.HasPrefix(s, "--") })
	if diff := cmp.Diff(want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("completions of -- (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"apply", "delete"}, complete("pullsecret", "--mode", "")); diff != "" {
		t.Errorf("completions of --mode (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"completion"}, complete("pullsecret", "comp")); diff != "" {
		t.Errorf("completions of the command (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"bash", "zsh", "fish"}, complete("pullsecret", "completion", "")); diff != "" {
		t.Errorf("completions of completion's shell (-want +got):\n%s", diff)
	}
}

// zsh and fish parse their scripts, where they are installed.
func TestCompletionParses(t *testing.T) {
	t.Parallel()
	cases := []struct {
		shell string
		args  []string
	}{
		{
			shell: "zsh",
			args:  []string{"-n"},
		},
		{
			shell: "fish",
			args:  []string{"--no-execute"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.shell, func(t *testing.T) {
			t.Parallel()
			bin, err := exec.LookPath(tc.shell)
			if err != nil {
				t.Skipf("%s is not installed; TestCompletion still checks its script against the golden file", tc.shell)
			}
			_, script, _ := mainIn(t, nil, "completion", tc.shell)
			path := filepath.Join(t.TempDir(), "pullsecret."+tc.shell)
			if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.CommandContext(t.Context(), bin, append(tc.args, path)...).CombinedOutput(); err != nil {
				t.Errorf("%s rejects the script: %v\n%s", tc.shell, err, out)
			}
		})
	}
}

// --print-wif-setup --ci prints the provider for another CI's tokens,
// pinned to one project, without a cluster; bad values are usage errors.
func TestPrintWIFSetupCI(t *testing.T) {
	t.Parallel()
	const provider = "projects/123456/locations/global/workloadIdentityPools/ci/providers/gitlab"
	code, stdout, stderr := mainIn(t, nil, "--print-wif-setup", "--ci", "gitlab", "--ci-project", "acme/deploy", "--workload-identity-provider", provider)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"--issuer-uri=https://gitlab.com", "--allowed-audiences=https://iam.googleapis.com/" + provider, `--attribute-condition="assertion.project_path == 'acme/deploy'"`, "roles/artifactregistry.reader"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %s:\n%s", want, stdout)
		}
	}
	for _, args := range [][]string{
		{"--ci", "jenkins", "--ci-project", "a/b", "--workload-identity-provider", provider},
		{"--ci", "gitlab", "--workload-identity-provider", provider},
		{"--ci", "circleci", "--ci-project", "a/b", "--workload-identity-provider", provider},
		{"--ci", "buildkite", "--ci-project", "acme/deploy"},
	} {
		if code, _, stderr := mainIn(t, nil, append([]string{"--print-wif-setup"}, args...)...); code != ExitBadInput || !strings.Contains(stderr, "error: ") {
			t.Errorf("%v: exit %d, stderr %q; want a usage error", args, code, stderr)
		}
	}
}

// --print-wif-setup --credential-provider: missing inputs are input errors
// before any cluster is read, and the flag goes only with --print-wif-setup
// and not with --ci.
func TestPrintWIFSetupCredentialProviderRefuses(t *testing.T) {
	t.Parallel()
	const provider = "projects/123456/locations/global/workloadIdentityPools/k8s/providers/kubelet"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--print-wif-setup", "--credential-provider", "--namespaces", "team-a"}, `input "workload_identity_provider"`},
		{[]string{"--print-wif-setup", "--credential-provider", "--workload-identity-provider", provider}, `input "namespaces"`},
		{[]string{"--credential-provider", "--workload-identity-provider", provider, "--namespaces", "team-a"}, "only with --print-wif-setup"},
		{[]string{"--print-wif-setup", "--credential-provider", "--ci", "gitlab", "--ci-project", "a/b", "--workload-identity-provider", provider}, "choose one"},
	} {
		code, stdout, stderr := mainIn(t, nil, tc.args...)
		if code != ExitBadInput || !strings.Contains(stderr, tc.want) || stdout != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d naming %s", tc.args, code, stdout, stderr, ExitBadInput, tc.want)
		}
	}
}
