//go:build !linux

package kube

// makeNonDumpable does nothing outside Linux, which has no such switch: there
// the exec plugin is trusted code with no barrier at all (docs/recipes.md).
func makeNonDumpable() error { return nil }
