package container

import (
	"strings"
	"testing"
)

func TestParseDefaultGateway(t *testing.T) {
	t.Parallel()
	const table = `Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
eth0	0012A8C0	00000000	0001	0	0	0	00FFFFFF	0	0	0
eth0	00000000	0100A8C0	0003	0	0	0	00000000	0	0	0
`
	ip, err := parseDefaultGateway(strings.NewReader(table))
	if err != nil {
		t.Fatal(err)
	}
	if ip.String() != "192.168.0.1" {
		t.Errorf("gateway = %s, want 192.168.0.1", ip)
	}
	if _, err := parseDefaultGateway(strings.NewReader("Iface\tDestination\n")); err == nil {
		t.Error("no default route: want error")
	}
}
