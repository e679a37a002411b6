// Package testrig gates the switches test rigs use to point the binary at
// fakes: plain-http Google endpoints and a registry mirror for
// verify_image. Both would hand a credential to whoever sets a variable in
// the step's environment, so they exist only in binaries built with
// -tags pullsecret_testrig (the e2e tier's image); a plain `go build`, the
// Dockerfile and every release leave them out, and Getenv answers "" there.
package testrig

// Tag is the build tag that turns the switches on.
const Tag = "pullsecret_testrig"

// Getenv is getenv(name) in a test-rig build and "" in every other build,
// so a production binary ignores the switch whatever the environment says.
func Getenv(getenv func(string) string, name string) string {
	if !Enabled {
		return ""
	}
	return getenv(name)
}
