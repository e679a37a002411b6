// Package fakeci is an OIDC issuer of another CI's ID tokens, in the shape
// each CI documents (issuer URL, sub and claim names), serving its
// discovery document and JWKS so that fakegoogle's STS trusts it as
// Google trusts the real one:
//
//   - GitLab: https://docs.gitlab.com/ci/secrets/id_token_authentication/
//   - CircleCI: https://circleci.com/docs/openid-connect-tokens/
//   - Buildkite: https://buildkite.com/docs/agent/v3/cli-oidc and
//     https://buildkite.com/docs/pipelines/security/oidc
//
// Signing and JWKS encoding are fakejwt's, shared with fakegithub.
package fakeci
