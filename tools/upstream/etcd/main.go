// Command etcd is etcd v3.6.5's server, built from the Go module proxy so the control-plane
// harness (internal/testing/controlplane) needs no downloaded release tarball.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
