// Package actionbin is the one rig for tests and tools that run the real
// pullsecret binary: it builds the binary once per process and runs it the
// way GitHub's runner runs a docker action (every input as INPUT_* with
// action.yml's defaults filled in, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY
// files, a bare environment plus what the caller adds).
package actionbin

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/pullsecret/pullsecret/internal/config"
)

// Package is the main package built.
const Package = "github.com/pullsecret/pullsecret"

var (
	mu    sync.Mutex
	dir   string              // holds every binary built by this process
	built = map[string]*bin{} // by build tags
)

type bin struct {
	once sync.Once
	path string
	err  error
}

// Build builds the pullsecret binary with the given build tags (none: the
// binary users run; e.g. the test-rig tag for the e2e tier's image) on first
// use and returns its path; later calls return the same binary. It is built
// as releases build it (static, -trimpath, stripped), so what the tests run
// is what users run and the benchmark measures a release-sized process.
// Cleanup removes it.
func Build(tags ...string) (string, error) {
	key := strings.Join(tags, ",")
	mu.Lock()
	b := built[key]
	if b == nil {
		b = &bin{}
		built[key] = b
	}
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "pullsecret-bin-"); err != nil {
			mu.Unlock()
			return "", err
		}
	}
	out := dir
	mu.Unlock()
	b.once.Do(func() {
		b.path = filepath.Join(out, "pullsecret")
		if key != "" {
			b.path += "-" + strings.ReplaceAll(key, ",", "-")
		}
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-tags", key, "-o", b.path, Package)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if o, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build -tags %q %s: %w\n%s", key, Package, err, o)
		}
	})
	return b.path, b.err
}

// Cleanup removes the binaries Build made; call it from TestMain after m.Run.
func Cleanup() {
	mu.Lock()
	defer mu.Unlock()
	if dir != "" {
		_ = os.RemoveAll(dir)
	}
}

// Files are the file commands of one run.
type Files struct {
	Outputs string // GITHUB_OUTPUT
	Summary string // GITHUB_STEP_SUMMARY
}

// env is a docker action's environment: PATH, HOME=home, every input of
// config.Inputs as its INPUT_* variable (inputs' value, else the default
// action.yml gives it), the file commands, then extra (the workflow context,
// OIDC variables…), which comes last so that it can override any of them.
func env(home string, inputs map[string]string, f Files, extra map[string]string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home}
	for _, in := range config.Inputs {
		v := in.Default
		if set, ok := inputs[in.Name]; ok {
			v = set
		}
		env = append(env, config.EnvName(in.Name)+"="+v)
	}
	env = append(env, "GITHUB_OUTPUT="+f.Outputs, "GITHUB_STEP_SUMMARY="+f.Summary)
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	return env
}

// Command prepares bin as the runner starts a docker action, with its home
// and file commands in dir (which must exist). A variable in extra replaces
// the default (e.g. GITHUB_OUTPUT pointing at something unwritable). The
// caller sets the output streams and runs it.
func Command(ctx context.Context, bin, dir string, inputs, extra map[string]string) (*exec.Cmd, Files) {
	f := Files{Outputs: filepath.Join(dir, "output"), Summary: filepath.Join(dir, "summary")}
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = env(dir, inputs, f, extra)
	return cmd, f
}
