package googleauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/oauth2/google/externalaccount"
)

// ciTokenSupplier hands STS another CI's OIDC ID token, from a file (read
// at each exchange, as CIs rotate it) or an environment variable, instead
// of GitHub's endpoint. The token is masked before anything else and its
// exp checked, so an expired one fails here saying how to get a fresh one
// rather than as STS's "stale to sign-in".
type ciTokenSupplier struct {
	in *Input
	d  Deps
}

func (s *ciTokenSupplier) SubjectToken(context.Context, externalaccount.SupplierOptions) (string, error) {
	var (
		raw   string
		field Field
	)
	if path := s.in.SubjectTokenFile; path != "" {
		field = FieldOIDCTokenFile
		b, err := s.d.ReadFile(path)
		if err != nil {
			return "", inputErrorf(field, "cannot read the OIDC token file %q: %v", path, err)
		}
		raw = string(b)
	} else {
		field = FieldOIDCTokenEnv
		raw = s.d.Getenv(s.in.SubjectTokenEnv)
		if strings.TrimSpace(raw) == "" {
			return "", inputErrorf(field, "the environment variable %s is empty or unset: have the CI put its OIDC ID token there (see docs/recipes.md#keyless-from-other-ci-systems)", s.in.SubjectTokenEnv)
		}
	}
	tok := strings.TrimSpace(raw)
	s.d.Mask(tok)
	exp, iss, err := tokenExpiry(tok)
	if err != nil {
		return "", inputErrorf(field, "does not hold an OIDC ID token (a JWT): %v", err)
	}
	if !exp.IsZero() && !s.d.Now().Before(exp) {
		return "", inputErrorf(field, "the OIDC ID token expired at %s: CI tokens are short-lived, so request it in the same job right before this step (%s)", exp.UTC().Format(time.RFC3339), freshTokenHint(iss))
	}
	return tok, nil
}

// freshTokenHint is how the CI that issued a token (by its iss, which
// each CI documents) hands a job a fresh one; the list of them for an
// issuer it does not know (self-managed GitLab, Jenkins, a cluster).
func freshTokenHint(iss string) string {
	switch {
	case iss == "https://gitlab.com":
		return "GitLab: declare it under the job's id_tokens:, which issues it when the job starts"
	case strings.HasPrefix(iss, "https://oidc.circleci.com/"):
		return "CircleCI: read $CIRCLE_OIDC_TOKEN_V2 in the job itself, not from a cache or workspace"
	case iss == "https://agent.buildkite.com":
		return "Buildkite: run buildkite-agent oidc request-token in the step, its tokens live five minutes"
	}
	return "GitLab: id_tokens; CircleCI: $CIRCLE_OIDC_TOKEN_V2 is fresh per job; Buildkite: buildkite-agent oidc request-token; Jenkins: bind the OIDC credential inside the step; Kubernetes: a projected ServiceAccount token file, which kubelet rotates"
}

// tokenExpiry reads a JWT's exp and iss without verifying them: STS
// verifies the token; this only catches an expired one early. Zero means
// no exp.
func tokenExpiry(tok string) (time.Time, string, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return time.Time{}, "", errors.New("not three dot-separated parts")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}, "", errors.New("the payload is not base64url")
	}
	var claims struct {
		Exp json.Number `json:"exp"`
		Iss any         `json:"iss"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return time.Time{}, "", errors.New("the payload is not a JSON object")
	}
	iss, _ := claims.Iss.(string)
	if claims.Exp == "" {
		return time.Time{}, iss, nil
	}
	secs, err := claims.Exp.Int64()
	if err != nil {
		return time.Time{}, "", fmt.Errorf("exp %q is not a number of seconds", claims.Exp)
	}
	return time.Unix(secs, 0), iss, nil
}
