package container

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"time"
)

// Host is how pullsecret learns about the machine it runs on (for the
// loopback redirect); nil fields use the real probes.
type Host struct {
	// InContainer reports whether loopback means "this container".
	InContainer func() bool
	// DefaultGateway returns the container's default route (the host).
	DefaultGateway func() (net.IP, error)
	// Reachable reports whether a TCP connection to host:port succeeds.
	Reachable func(hostport string) bool
}

// WithDefaults fills the fields left nil with the real probes.
func (h Host) WithDefaults() Host {
	if h.InContainer == nil {
		h.InContainer = InDocker
	}
	if h.DefaultGateway == nil {
		h.DefaultGateway = DefaultGateway
	}
	if h.Reachable == nil {
		h.Reachable = Reachable
	}
	return h
}

// Reachable dials hostport briefly.
func Reachable(hostport string) bool {
	c, err := net.DialTimeout("tcp", hostport, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// InDocker reports whether this process runs in a Docker container, where
// the engine always creates /.dockerenv.
func InDocker() bool {
	_, err := os.Stat("/.dockerenv")
	return err == nil
}

// DefaultGateway reads the default IPv4 route from /proc/net/route: in a
// container on a bridge network it is the host.
func DefaultGateway() (net.IP, error) {
	f, err := os.Open("/proc/net/route")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseDefaultGateway(f)
}

func parseDefaultGateway(r io.Reader) (net.IP, error) {
	s := bufio.NewScanner(r)
	for s.Scan() {
		f := strings.Fields(s.Text())
		// Iface Destination Gateway Flags ...; the default route has
		// destination 0 and the gateway flag (0x2).
		if len(f) < 4 || f[1] != "00000000" {
			continue
		}
		raw, err := hex.DecodeString(f[2])
		if err != nil || len(raw) != 4 {
			continue
		}
		// The kernel prints the address in host (little-endian) order.
		ip := make(net.IP, 4)
		binary.BigEndian.PutUint32(ip, binary.LittleEndian.Uint32(raw))
		if !ip.IsUnspecified() {
			return ip, nil
		}
	}
	return nil, errors.New("no default route")
}
