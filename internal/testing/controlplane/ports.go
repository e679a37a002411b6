package controlplane

import (
	"fmt"
	"net"
)

// freePorts asks the kernel for n distinct free loopback ports. Listeners are held until all n
// are chosen so they differ; another process can still take one before our component binds it,
// which Start handles by retrying with fresh ports.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
