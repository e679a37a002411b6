package repocheck

import (
	"fmt"
	"os"
	"testing"
)

// TestMain runs every check from the repository root, the directory their
// paths (LICENSE, docs/, .github/, the main package ".") are relative to.
func TestMain(m *testing.M) {
	if err := os.Chdir("../.."); err != nil {
		fmt.Fprintln(os.Stderr, "repocheck:", err)
		os.Exit(1)
	}
	if _, err := os.Stat("go.mod"); err != nil {
		fmt.Fprintln(os.Stderr, "repocheck: not at the repository root:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}
