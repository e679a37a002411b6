//go:build integration

package integration_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
)

// The CLI takes the key from a file or stdin, so it never appears in argv
// (/proc/PID/cmdline, shell history).
func TestBinaryKeyFromFileOrStdin(t *testing.T) {
	cp, cs, stack, bin := binaryRig(t)
	keyFile := writeKeyFile(t, stack)
	for _, tc := range []struct {
		name, arg string
		stdin     []byte
	}{{
		name: "file",
		arg:  keyFile,
	}, {
		name:  "stdin",
		arg:   "-",
		stdin: stack.Key,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			ns := "keyfile-" + tc.name + "-" + strings.ReplaceAll(time.Now().Format("150405.000000"), ".", "")
			t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
			args := []string{"--credentials-json-file", tc.arg, "--kubeconfig", cp.Kubeconfig(), "--namespaces", ns, "--create-namespaces"}
			for name, v := range stack.EndpointInputs("") {
				args = append(args, "--"+config.Input{Name: name}.Flag(), v)
			}
			ctx := controlplanetest.Context(t) // a hang guard, not a time budget
			cmd := exec.CommandContext(ctx, bin, args...)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
			cmd.Stdin = bytes.NewReader(tc.stdin)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if strings.Contains(string(out), "warning:") {
				t.Errorf("warned although no secret was on the command line:\n%s", out)
			}
			if _, err := cs.CoreV1().Secrets(ns).Get(t.Context(), config.DefaultSecretName, metav1.GetOptions{}); err != nil {
				t.Errorf("secret not written: %v", err)
			}
		})
	}
}
