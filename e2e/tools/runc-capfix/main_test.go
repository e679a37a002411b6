package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestTarget(t *testing.T) {
	for _, tc := range []struct {
		args      []string
		sub, file string
		isProcess bool
	}{
		// how containerd-shim-runc-v2 and dockerd call runc
		{[]string{"--root", "/run/containerd/runc/k8s.io", "--log", "/x/log.json", "--log-format", "json", "--systemd-cgroup", "create", "--bundle", "/b", "--pid-file", "/b/pid", "id"}, "create", "/b/config.json", false},
		{[]string{"--root=/r", "run", "--bundle=/b2", "id"}, "run", "/b2/config.json", false},
		{[]string{"--root", "/r", "exec", "--process", "/tmp/p.json", "--detach", "id"}, "exec", "/tmp/p.json", true},
		{[]string{"--root", "/r", "start", "id"}, "start", "", false},
	} {
		sub, file, isProcess := target(tc.args)
		if sub != tc.sub || file != tc.file || isProcess != tc.isProcess {
			t.Errorf("target(%q) = %q %q %v, want %q %q %v", tc.args, sub, file, isProcess, tc.sub, tc.file, tc.isProcess)
		}
	}
}

func TestRewrite(t *testing.T) {
	held := map[string]bool{"CAP_CHOWN": true, "CAP_SYS_ADMIN": true}
	path := filepath.Join(t.TempDir(), "config.json")
	spec := `{"ociVersion":"1.0.2","process":{"user":{"uid":4294967294},"oomScoreAdj":-999,
	  "capabilities":{"bounding":["CAP_CHOWN","CAP_SYS_RESOURCE","CAP_SYS_ADMIN"],"effective":["CAP_SYS_RESOURCE"],"ambient":["CAP_FUTURE"]}},
	  "linux":{"namespaces":[{"type":"pid"}]}}`
	if err := os.WriteFile(path, []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := rewrite(path, false, held); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Process struct {
			User         struct{ UID uint32 }
			OOMScoreAdj  int64               `json:"oomScoreAdj"`
			Capabilities map[string][]string `json:"capabilities"`
		}
		Linux map[string]any
	}
	b, _ := os.ReadFile(path)
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Process.Capabilities["bounding"], []string{"CAP_CHOWN", "CAP_SYS_ADMIN"}) ||
		len(got.Process.Capabilities["effective"]) != 0 ||
		!slices.Equal(got.Process.Capabilities["ambient"], []string{"CAP_FUTURE"}) { // unknown names are left to runc
		t.Errorf("capabilities = %v", got.Process.Capabilities)
	}
	if got.Process.OOMScoreAdj < ownOOMScoreAdj() {
		t.Errorf("oomScoreAdj = %d, want >= own %d", got.Process.OOMScoreAdj, ownOOMScoreAdj())
	}
	if got.Process.User.UID != 4294967294 || got.Linux["namespaces"] == nil {
		t.Errorf("other fields changed: %s", b)
	}
}
