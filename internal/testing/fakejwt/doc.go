// Package fakejwt holds the small amount of JOSE code that the test doubles
// in internal/testing/fakegithub and internal/testing/fakegoogle share: RS256 JWT signing and
// verification, JWK/JWKS encoding, and typed access to decoded claims.
//
// It is written against the standard library only (crypto/rsa, crypto/sha256,
// encoding/base64) on purpose: the fakes must not depend on the same JWT
// library as any code under test, otherwise a bug in that library would be
// mirrored on both sides of the wire and go unnoticed. Only what RFC 7515,
// RFC 7517, RFC 7518 and RFC 7519 require for RS256 is implemented; this is
// not a general-purpose JOSE library and must not be used in production code.
package fakejwt
