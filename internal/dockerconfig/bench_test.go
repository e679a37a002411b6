package dockerconfig

import (
	"strings"
	"testing"
)

func BenchmarkBuildDefaultRegistries(b *testing.B) {
	regs := []string{"gcr.io", "*.gcr.io", "*-docker.pkg.dev", "docker.*.rep.pkg.dev"}
	token := "ya29." + strings.Repeat("x", 1000) // real tokens are ~1-2 KB
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Build(regs, UserAccessToken, token); err != nil {
			b.Fatal(err)
		}
	}
}
