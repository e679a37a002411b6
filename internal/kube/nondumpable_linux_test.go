//go:build linux

package kube

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

const dumpableChild = "PULLSECRET_TEST_DUMPABLE_CHILD"

// An exec credential plugin is a program of the same user: before it can
// run, pullsecret must be non-dumpable, so the plugin can neither ptrace it
// nor read its memory or environment from /proc. A kubeconfig without a
// plugin leaves the process as it was. The check runs in a child process:
// the flag is process-wide and must not change under other tests.
func TestExecPluginRunsOnlyOnceNonDumpable(t *testing.T) {
	if os.Getenv(dumpableChild) == "1" {
		dumpableChildMain()
		return
	}
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestExecPluginRunsOnlyOnceNonDumpable$")
	cmd.Env = append(os.Environ(), dumpableChild+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if got, want := strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0]), "token kubeconfig: dumpable=1; exec kubeconfig: dumpable=0"; got != want {
		t.Errorf("child says %q, want %q", got, want)
	}
}

// dumpableChildMain connects with a token kubeconfig, then an exec one, and
// prints the dumpable flag after each.
func dumpableChildMain() {
	var report []string
	for _, kc := range []struct{ name, kubeconfig string }{{"token", tokenKubeconfig}, {"exec", execKubeconfig}} {
		_, err := Connect(ClientOptions{
			Kubeconfig: kc.kubeconfig, Concurrency: 1,
			InContainer: func() bool { return false },
			LookPath:    func(p string) (string, error) { return "/usr/bin/" + p, nil },
			Environ:     func() []string { return nil },
		})
		state := fmt.Sprintf("error %v", err)
		if err == nil {
			v, perr := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
			state = "dumpable=" + strconv.Itoa(v)
			if perr != nil {
				state = fmt.Sprintf("PR_GET_DUMPABLE: %v", perr)
			}
		}
		report = append(report, kc.name+" kubeconfig: "+state)
	}
	fmt.Println(strings.Join(report, "; "))
	os.Exit(0)
}
