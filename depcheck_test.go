package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestShippedBinaryImportsNoTestSupport keeps the fakes, the control-plane
// harness and the demo out of what users run: a credentials tool must not
// carry a fake Google that signs tokens.
func TestShippedBinaryImportsNoTestSupport(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	const forbidden = "github.com/pullsecret/pullsecret/internal/testing"
	var product int
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == forbidden || strings.HasPrefix(pkg, forbidden+"/") {
			t.Errorf("the shipped binary imports test support %s", pkg)
		}
		if strings.HasPrefix(pkg, "github.com/pullsecret/pullsecret/internal/") {
			product++
		}
	}
	// Guard the guard: if go list printed nothing useful this test would
	// pass vacuously.
	if product < 5 {
		t.Errorf("go list -deps . found %d product packages, want the product's internal packages", product)
	}
}
