//go:build !pullsecret_testrig

package testrig

// Enabled: this is a production build; the test-rig switches do not exist.
const Enabled = false
