package container

import (
	"errors"
	"net"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/rest"

	"github.com/pullsecret/pullsecret/internal/testing/check"
)

func TestRedirectLoopback(t *testing.T) {
	t.Parallel()
	gw := func() (net.IP, error) { return net.ParseIP("172.18.0.1"), nil }
	yes := func() bool { return true }
	no := func() bool { return false }
	cases := []struct {
		name, host, setting string
		inContainer         func() bool
		gateway             func() (net.IP, error)
		wantHost, wantSNI   string
		wantErr             bool
	}{
		{
			name:        "loopback in container goes to gateway",
			host:        "https://127.0.0.1:34567",
			setting:     "auto",
			inContainer: yes,
			gateway:     gw,
			wantHost:    "https://172.18.0.1:34567",
			wantSNI:     "127.0.0.1",
		},
		{
			name:        "localhost in container",
			host:        "https://localhost:6443",
			setting:     "auto",
			inContainer: yes,
			gateway:     gw,
			wantHost:    "https://172.18.0.1:6443",
			wantSNI:     "localhost",
		},
		{
			name:        "outside a container untouched",
			host:        "https://127.0.0.1:6443",
			setting:     "auto",
			inContainer: no,
			gateway:     gw,
			wantHost:    "https://127.0.0.1:6443",
		},
		{
			name:        "off",
			host:        "https://127.0.0.1:6443",
			setting:     "off",
			inContainer: yes,
			gateway:     gw,
			wantHost:    "https://127.0.0.1:6443",
		},
		{
			name:        "explicit host",
			host:        "https://[::1]:6443",
			setting:     "host.docker.internal",
			inContainer: no,
			gateway:     gw,
			wantHost:    "https://host.docker.internal:6443",
			wantSNI:     "::1",
		},
		{
			name:        "kind 0.0.0.0 verifies as localhost",
			host:        "https://0.0.0.0:41000",
			setting:     "auto",
			inContainer: yes,
			gateway:     gw,
			wantHost:    "https://172.18.0.1:41000",
			wantSNI:     "localhost",
		},
		{
			name:        "remote untouched",
			host:        "https://10.0.0.5:6443",
			setting:     "auto",
			inContainer: yes,
			gateway:     gw,
			wantHost:    "https://10.0.0.5:6443",
		},
		{
			name:        "loopback that answers is kept",
			host:        "https://127.0.0.1:6443",
			setting:     "auto",
			inContainer: yes,
			gateway:     gw,
			wantHost:    "https://127.0.0.1:6443",
		},
		{
			name:        "no gateway is an actionable error",
			host:        "https://127.0.0.1:6443",
			setting:     "auto",
			inContainer: yes,
			gateway:     func() (net.IP, error) { return nil, errors.New("no route") },
			wantErr:     true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rc := &rest.Config{Host: tc.host}
			reachable := func(string) bool { return tc.name == "loopback that answers is kept" }
			_, err := RedirectLoopback(rc, tc.setting, Host{InContainer: tc.inContainer, DefaultGateway: tc.gateway, Reachable: reachable})
			if tc.wantErr {
				if d := check.ErrDiff(err, "api_server_host"); d != "" {
					t.Error(d)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{tc.wantHost, tc.wantSNI}, []string{rc.Host, rc.TLSClientConfig.ServerName}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
