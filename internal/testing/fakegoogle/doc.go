// Package fakegoogle is a test double for the Google endpoints that mint and
// check OAuth 2.0 access tokens, served by one http.Handler so that a single
// server can stand in for all of them:
//
//   - Security Token Service, sts.googleapis.com: POST /v1/token (RFC 8693
//     token exchange for Workload Identity Federation)
//   - IAM Service Account Credentials, iamcredentials.googleapis.com:
//     POST /v1/projects/-/serviceAccounts/EMAIL:generateAccessToken
//   - OAuth 2.0, oauth2.googleapis.com: POST /token (RFC 7523 jwt-bearer for
//     service-account keys, refresh_token for authorized_user files),
//     GET|POST /tokeninfo, POST /revoke
//   - service-account public keys, www.googleapis.com:
//     GET /service_accounts/v1/metadata/x509/EMAIL and /service_accounts/v1/jwk/EMAIL
//   - the Compute Engine metadata server, metadata.google.internal:
//     GET / and GET /computeMetadata/v1/...
//   - fake-only, no Google counterpart: POST /fakegoogle/v1/checkPermission,
//     the per-repository IAM check a registry double makes on a caller's
//     behalf against roles granted with GrantRole (see resourceiam.go)
//
// The fakes follow the wire formats that golang.org/x/oauth2/google,
// golang.org/x/oauth2/google/externalaccount and
// cloud.google.com/go/compute/metadata send and parse, and Google's error
// shapes ({"error":"invalid_grant","error_description":...} on the OAuth
// endpoints, {"error":{"code":...,"message":...,"status":...}} on
// iamcredentials), so production code runs against them unchanged. Subject
// tokens and jwt-bearer assertions are really verified (RS256 signatures,
// issuers, audiences, lifetimes), and impersonation is really authorised
// against IAM-style members, so misconfigurations fail here as they would on
// Google.
//
// Access tokens are opaque random strings ("ya29.fake-...") recorded with
// their metadata; Issued, Lookup and Requests let tests assert on what was
// minted and on the exact wire fields clients sent.
//
// This is a test double for unit, integration and end-to-end tests and the
// local demo. It does not depend on package testing and must never be used to
// protect anything.
package fakegoogle
