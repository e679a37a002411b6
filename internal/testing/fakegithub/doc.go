// Package fakegithub is a test double for the GitHub Actions OpenID Connect
// issuer: the runtime endpoint a job calls to get an ID token
// (ACTIONS_ID_TOKEN_REQUEST_URL with ACTIONS_ID_TOKEN_REQUEST_TOKEN as bearer)
// and the public issuer documents at token.actions.githubusercontent.com
// (/.well-known/openid-configuration and /.well-known/jwks).
//
// It mirrors GitHub's wire protocol closely enough that unmodified clients
// (github.com/sethvargo/go-githubactions GetIDToken, @actions/core getIDToken)
// and relying parties (Google STS, via internal/testing/fakegoogle) work against it:
// RS256 tokens with a kid, the documented claim set with GitHub's defaults
// (aud defaults to https://github.com/OWNER, exp is five minutes after iat, nbf
// ten minutes before it), and JSON error bodies in the Azure DevOps style the
// Actions service uses.
//
// It is not a security component; it exists for unit, integration and
// end-to-end tests and the local demo, and does not depend on package testing
// so those can all share it.
package fakegithub
