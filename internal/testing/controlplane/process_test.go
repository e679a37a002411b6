package controlplane

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestProcessStopEscalatesToSIGKILL(t *testing.T) {
	dir := t.TempDir()
	// Ignores SIGTERM, like a component stuck in shutdown.
	p, err := startProcess("stubborn", "/bin/sh", []string{"-c", `trap "" TERM; echo ready-$((1+1)); while :; do sleep 1; done`}, dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.stop(0) })
	waitForLog(t, p, "ready-2") // the log's command-line header has the unexpanded text
	if err := p.stop(300 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if !p.exited() {
		t.Fatal("process still running after stop")
	}
	// It ignores SIGTERM, so only the escalation can have ended it.
	var exit *exec.ExitError
	if !errors.As(p.waitErr, &exit) || !exit.Sys().(syscall.WaitStatus).Signaled() || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("want the process killed by SIGKILL, got %v", p.waitErr)
	}
	// The sleep child shares the process group, so it was killed too; it may linger briefly as
	// a zombie until its new parent reaps it, hence the wait (bounded by the test's deadline).
	for syscall.Kill(-p.cmd.Process.Pid, 0) == nil {
		if testDeadlineNear(t) {
			t.Fatal("process group still has members")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestProcessLogsAndTail(t *testing.T) {
	dir := t.TempDir()
	var stderr bytes.Buffer
	p, err := startProcess("talker", "/bin/sh", []string{"-c", `for i in 1 2 3 4 5; do echo line$i >&2; done`}, dir, nil, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	<-p.done
	tail := p.logTail(2)
	if !strings.Contains(tail, "line4\nline5") || strings.Contains(tail, "line3") {
		t.Fatalf("tail = %q", tail)
	}
	if !strings.Contains(stderr.String(), "talker: line1\n") {
		t.Fatalf("stderr copy not prefixed: %q", stderr.String())
	}
	b, err := os.ReadFile(p.logPath)
	if err != nil || !strings.HasPrefix(string(b), "+ /bin/sh -c") {
		t.Fatalf("log should start with the command line: %q, %v", b, err)
	}
}

func TestLinePrefixerHandlesPartialLines(t *testing.T) {
	var out bytes.Buffer
	w := prefixWriter(&out, "x")
	for _, s := range []string{"a", "b\nc", "\n", "d\n"} {
		if _, err := w.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := out.String(), "x: ab\nx: c\nx: d\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func waitForLog(t *testing.T, p *process, want string) {
	t.Helper()
	for !testDeadlineNear(t) {
		if b, _ := os.ReadFile(p.logPath); strings.Contains(string(b), want) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%q never appeared in %s", want, p.logPath)
}

// testDeadlineNear reports whether the test binary's -timeout is less than 30 s away: waits for
// a child process are bounded by it, not by a fixed budget a busy machine could overrun
// (controlplanetest.Context, which this package's own tests cannot import).
func testDeadlineNear(t *testing.T) bool {
	deadline, ok := t.Deadline()
	return ok && time.Until(deadline) < 30*time.Second
}
