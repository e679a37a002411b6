package cli

import (
	"math"
	"runtime/debug"
	"testing"
)

func TestSoftMemoryLimit(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	softMemoryLimit(func(string) string { return "" })
	if got := debug.SetMemoryLimit(-1); got != watchMemoryLimit {
		t.Errorf("without GOMEMLIMIT the limit is %d, want %d", got, watchMemoryLimit)
	}
	debug.SetMemoryLimit(math.MaxInt64)
	softMemoryLimit(func(k string) string {
		if k == "GOMEMLIMIT" {
			return "200MiB"
		}
		return ""
	})
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("GOMEMLIMIT set by the operator was overridden: limit %d", got)
	}
}
