package cli

import "runtime/debug"

// watchMemoryLimit is the watching refresher's soft memory limit, under
// its Deployment's 128 MiB container limit. Without one, the heap of
// informers over thousands of namespaces may double between collections
// while it catches up (107 MB measured at 5,000 namespaces), and the
// container would be killed before the runtime collects.
const watchMemoryLimit = 80 << 20

// softMemoryLimit applies watchMemoryLimit unless GOMEMLIMIT sets one
// (the runtime has then read it already).
func softMemoryLimit(getenv func(string) string) {
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(watchMemoryLimit)
	}
}
