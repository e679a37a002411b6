package actions

import (
	"fmt"
	"io"
	"strings"
	"testing"
)

// Every printed line is redacted; with a key (≈30 line secrets) and a token
// registered this is the per-line cost of never leaking.
func BenchmarkRedactLine(b *testing.B) {
	r := New(func(string) string { return "" }, io.Discard, io.Discard)
	for i := 0; i < 30; i++ {
		r.Mask(fmt.Sprintf("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC%02d%s", i, strings.Repeat("k", 32)))
	}
	r.Mask("ya29." + strings.Repeat("t", 200))
	line := `preview-pr-42: secret created; ServiceAccounts changed: default; already set: —`
	b.ReportAllocs()
	for b.Loop() {
		_ = r.Redact(line)
	}
}
