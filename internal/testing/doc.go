// Package testing holds pullsecret's test support, apart from the product:
// wire-faithful doubles of Google (fakegoogle), GitHub (fakegithub) and
// other CIs' OIDC issuers (fakeci), and
// the JWTs they sign (fakejwt), a ready-made fake project wiring them
// together (fakestack), a real etcd + kube-apiserver harness with a
// fault-injecting proxy (controlplane), and the local demo (demo).
//
// Nothing here may be linked into the shipped binary; depcheck_test.go at
// the repository root enforces that.
package testing
