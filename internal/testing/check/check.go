// Package check holds the helpers tests in several packages share: error
// and golden-file diffs, and map-backed lookups standing in for the
// environment. It is test support: depcheck_test.go keeps it out of the
// shipped binary.
package check

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// ErrDiff describes how err differs from an error containing every one of
// wants: "" when it matches. With no wants, err must be nil.
func ErrDiff(err error, wants ...string) string {
	switch {
	case len(wants) == 0 && err != nil:
		return "unexpected error: " + err.Error()
	case len(wants) == 0:
		return ""
	case err == nil:
		return "got no error, want one containing " + strings.Join(quoteAll(wants), ", ")
	}
	var missing []string
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			missing = append(missing, w)
		}
	}
	if len(missing) > 0 {
		return "error " + quote(err.Error()) + " does not contain " + strings.Join(quoteAll(missing), ", ")
	}
	return ""
}

// Error fails t unless err contains every one of wants (or, with no
// wants, is nil).
func Error(t testing.TB, err error, wants ...string) {
	t.Helper()
	if d := ErrDiff(err, wants...); d != "" {
		t.Error(d)
	}
}

// Golden compares got with the file at path; UPDATE_GOLDEN=1 rewrites the
// file instead.
func Golden(t testing.TB, path, got string) {
	t.Helper()
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with UPDATE_GOLDEN=1 to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s is out of date (run with UPDATE_GOLDEN=1 to rewrite it) (-want +got):\n%s", path, diff)
	}
}

// Lookup is a lookup (os.LookupEnv's shape) reading m.
func Lookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// Getenv is a getenv (os.Getenv's shape) reading m.
func Getenv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func quote(s string) string { return `"` + s + `"` }

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = quote(s)
	}
	return out
}
