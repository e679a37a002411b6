// Command runc-capfix is an OCI runtime wrapper that lets containers start on
// hosts whose capability bounding set is smaller than what the container asks
// for (here: no CAP_SYS_RESOURCE, so `docker run --privileged` and kind nodes
// fail).
//
// Before handing over to the real runc it rewrites the OCI document runc is
// about to read:
//   - `create`/`run`: <bundle>/config.json; `exec`: the --process file;
//   - every capability we do not hold in our own bounding set is removed
//     (runc would fail with "operation not permitted" applying it);
//   - without CAP_SYS_RESOURCE the kernel refuses to lower oom_score_adj, so a
//     requested oomScoreAdj below our own is raised to ours (kubelet asks for
//     -998/-999 for critical pods; runc then dies with "can't get final child's
//     PID from pipe").
//
// All arguments are passed through unchanged. It is installed as dockerd's
// default runtime on the host and as /usr/local/sbin/runc inside the kind node.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// capNames is indexed by capability number (linux/capability.h).
var capNames = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
	"CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
	"CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
	"CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// globalFlagsWithValue are runc's global flags that take a separate value, so
// the value is not mistaken for the subcommand.
var globalFlagsWithValue = map[string]bool{"--root": true, "--log": true, "--log-format": true, "--criu": true, "--rootless": true}

func main() {
	args := os.Args[1:]
	if held, ok := boundingSet(); ok {
		sub, file, isProcess := target(args)
		if sub != "" && file != "" {
			if err := rewrite(file, isProcess, held); err != nil {
				// Never block the container on our own failure: runc will report the real problem.
				fmt.Fprintf(os.Stderr, "runc-capfix: %s: %v\n", file, err)
			}
		}
	}
	real := realRunc()
	err := syscall.Exec(real, append([]string{"runc"}, args...), os.Environ())
	fmt.Fprintf(os.Stderr, "runc-capfix: exec %s: %v\n", real, err)
	os.Exit(127)
}

// realRunc finds the runc we wrap; RUNC_CAPFIX_REAL overrides.
func realRunc() string {
	if p := os.Getenv("RUNC_CAPFIX_REAL"); p != "" {
		return p
	}
	self, _ := os.Executable()
	for _, p := range []string{"/usr/sbin/runc", "/usr/bin/runc"} {
		if r, err := filepath.EvalSymlinks(p); err == nil && r != self {
			return p
		}
	}
	return "/usr/sbin/runc"
}

// boundingSet returns the capability names in this process's bounding set.
func boundingSet() (map[string]bool, bool) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		hex, found := strings.CutPrefix(line, "CapBnd:")
		if !found {
			continue
		}
		mask, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
		if err != nil {
			return nil, false
		}
		held := map[string]bool{}
		for i, name := range capNames {
			if mask&(1<<uint(i)) != 0 {
				held[name] = true
			}
		}
		return held, true
	}
	return nil, false
}

// target finds the subcommand and the OCI file it will read: the bundle's
// config.json for create/run, the --process file for exec.
func target(args []string) (sub, file string, isProcess bool) {
	bundle, process := "", ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		if sub == "" {
			if strings.HasPrefix(a, "-") {
				if globalFlagsWithValue[a] {
					i++
				}
				continue
			}
			sub = a
			continue
		}
		next := func() string {
			if i+1 < len(args) {
				i++
				return args[i]
			}
			return ""
		}
		switch {
		case a == "--bundle" || a == "-b":
			bundle = next()
		case strings.HasPrefix(a, "--bundle="):
			bundle = strings.TrimPrefix(a, "--bundle=")
		case a == "--process" || a == "-p":
			process = next()
		case strings.HasPrefix(a, "--process="):
			process = strings.TrimPrefix(a, "--process=")
		}
	}
	switch sub {
	case "create", "run":
		if bundle == "" {
			bundle, _ = os.Getwd() // runc's default bundle is the working directory
		}
		return sub, filepath.Join(bundle, "config.json"), false
	case "exec":
		return sub, process, true
	}
	return sub, "", false
}

// rewrite fixes capabilities and oomScoreAdj in an OCI spec (isProcess=false)
// or process document (isProcess=true), leaving every other field untouched.
func rewrite(path string, isProcess bool, held map[string]bool) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // keep numbers (uids, limits) byte-exact
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return err
	}
	proc := doc
	if !isProcess {
		p, ok := doc["process"].(map[string]any)
		if !ok {
			return nil
		}
		proc = p
	}
	changed := dropCaps(proc["capabilities"], held)
	if !held["CAP_SYS_RESOURCE"] {
		holders := []map[string]any{proc}
		if linux, ok := doc["linux"].(map[string]any); ok && !isProcess {
			holders = append(holders, linux) // older specs put it under linux
		}
		own := ownOOMScoreAdj()
		for _, h := range holders {
			if n, ok := h["oomScoreAdj"].(json.Number); ok {
				if v, err := n.Int64(); err == nil && v < own {
					h["oomScoreAdj"] = own
					changed = true
				}
			}
		}
	}
	if !changed {
		return nil
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	return os.WriteFile(path, out, mode)
}

// dropCaps removes known capabilities we do not hold from every set
// (bounding, effective, permitted, inheritable, ambient).
func dropCaps(caps any, held map[string]bool) bool {
	sets, ok := caps.(map[string]any)
	if !ok {
		return false
	}
	known := map[string]bool{}
	for _, n := range capNames {
		known[n] = true
	}
	changed := false
	for name, v := range sets {
		list, ok := v.([]any)
		if !ok {
			continue
		}
		kept := []any{}
		for _, c := range list {
			if s, _ := c.(string); known[s] && !held[s] {
				changed = true
				continue
			}
			kept = append(kept, c)
		}
		sets[name] = kept
	}
	return changed
}

func ownOOMScoreAdj() int64 {
	b, err := os.ReadFile("/proc/self/oom_score_adj")
	if err != nil {
		return 0
	}
	v, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return v
}
