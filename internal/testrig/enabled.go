//go:build pullsecret_testrig

package testrig

// Enabled: this binary was built with Tag, for a test rig.
const Enabled = true
