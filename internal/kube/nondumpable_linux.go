//go:build linux

package kube

import "golang.org/x/sys/unix"

// makeNonDumpable runs before a kubeconfig's exec credential plugin can
// start. The plugin is another program running as the same user; while
// pullsecret is dumpable, such a program may ptrace it or read
// /proc/<pid>/mem and /proc/<pid>/environ, where the Google credential and
// the token it minted live. A non-dumpable process allows that only to a
// holder of CAP_SYS_PTRACE (and writes no core dump). The plugin itself is
// still trusted code: it is what authenticates to the cluster.
func makeNonDumpable() error {
	return unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
}
