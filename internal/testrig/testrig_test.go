package testrig

import "testing"

func TestGetenvOnlyInATestRigBuild(t *testing.T) {
	t.Parallel()
	env := func(string) string { return "http://mirror.invalid" }
	got := Getenv(env, "PULLSECRET_TEST_REGISTRY_MIRROR")
	want := ""
	if Enabled {
		want = "http://mirror.invalid"
	}
	if got != want {
		t.Errorf("Getenv in a build with Enabled=%v = %q, want %q", Enabled, got, want)
	}
}
