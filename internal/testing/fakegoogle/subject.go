package fakegoogle

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/pullsecret/pullsecret/internal/testing/fakejwt"
)

// subjectClockSkew is how far in the future nbf may be, allowing for an
// identity provider whose clock runs ahead. iat gets none (Google requires
// it in the past) and exp none: a token past exp is refused.
const subjectClockSkew = 5 * time.Minute

// maxSubjectValidity is the longest exp - iat STS accepts.
const maxSubjectValidity = 48 * time.Hour

// maxSubjectBytes is Google's limit on the mapped google.subject.
const maxSubjectBytes = 127

// oauthFailure is an RFC 6749 error to send back.
type oauthFailure struct{ code, description string }

func invalidGrant(format string, args ...any) *oauthFailure {
	return &oauthFailure{"invalid_grant", fmt.Sprintf(format, args...)}
}

// verifiedSubject is what STS learned from a valid subject token.
type verifiedSubject struct {
	subject    string
	attributes map[string]string
	expiry     time.Time
}

// verifySubjectToken applies the checks Google documents for OIDC subject
// tokens, in the order a relying party must: signature before trusting any
// claim, then issuer, audience, lifetime, mapping and attribute condition.
func (g *Google) verifySubjectToken(ctx context.Context, p *Provider, raw string) (*verifiedSubject, *oauthFailure) {
	tok, err := fakejwt.Parse(raw)
	if err != nil {
		return nil, invalidGrant("Unable to parse the ID Token.")
	}
	// Google picks the key by kid; a token without one cannot be verified
	// (the wording is the fake's own).
	if tok.KeyID() == "" {
		return nil, invalidGrant("The ID Token header has no kid: the key that signed it cannot be chosen.")
	}
	keys, err := g.providerKeys(ctx, p)
	if err != nil {
		return nil, invalidGrant("Unable to retrieve the public keys of issuer %s: %v", p.IssuerURI, err)
	}
	if tok.VerifyKey(keys[tok.KeyID()]) != nil {
		return nil, invalidGrant("Invalid JWT signature")
	}
	c := tok.Claims

	if iss, _ := fakejwt.String(c, "iss"); iss != p.IssuerURI {
		return nil, invalidGrant("The issuer in ID Token %s does not match the expected ones: %s.", iss, p.IssuerURI)
	}
	if aud := fakejwt.Audiences(c); !containsAny(p.AllowedAudiences, aud) {
		return nil, invalidGrant("The audience in ID Token [%s] does not match the expected audience %s.",
			strings.Join(aud, ", "), strings.Join(p.AllowedAudiences, ", "))
	}
	now := g.now()
	exp, ok := fakejwt.Time(c, "exp")
	if !ok {
		return nil, invalidGrant("The ID Token does not have a valid exp claim.")
	}
	iat, ok := fakejwt.Time(c, "iat")
	if !ok {
		return nil, invalidGrant("The ID Token does not have a valid iat claim.")
	}
	if !now.Before(exp) {
		return nil, invalidGrant("ID Token issued at %d is stale to sign-in.", iat.Unix())
	}
	// iat must be in the past, and the token valid for at most 48 hours
	// (https://cloud.google.com/iam/docs/workload-identity-federation-with-other-providers#oidc).
	if iat.After(now) {
		return nil, invalidGrant("ID Token issued at %d is in the future.", iat.Unix())
	}
	if exp.Sub(iat) > maxSubjectValidity {
		return nil, invalidGrant("The ID Token is valid for %s (exp - iat); at most 48 hours are accepted.", exp.Sub(iat))
	}
	if nbf, ok := fakejwt.Time(c, "nbf"); ok && nbf.After(now.Add(subjectClockSkew)) {
		return nil, invalidGrant("The ID Token is not yet valid (nbf %d).", nbf.Unix())
	}

	subject, attrs := mapAttributes(p.AttributeMapping, c)
	if subject == "" {
		return nil, invalidGrant("The mapped attribute google.subject is empty. Check the provider's attribute mapping.")
	}
	// https://cloud.google.com/iam/docs/workload-identity-federation#mapping:
	// "The google.subject attribute ... is limited to 127 bytes"; a long
	// branch or environment name in GitHub's sub passes it.
	if len(subject) > maxSubjectBytes {
		return nil, &oauthFailure{"invalid_request", "The size of mapped attribute google.subject exceeds the 127 bytes limit. Either modify your attribute mapping or the incoming assertion to produce a mapped attribute that is less than 127 bytes."}
	}
	if !passesCondition(p, c) {
		return nil, &oauthFailure{"unauthorized_client", "The given credential is rejected by the attribute condition."}
	}
	return &verifiedSubject{subject: subject, attributes: attrs, expiry: exp}, nil
}

func passesCondition(p *Provider, claims map[string]any) bool {
	for name, want := range p.RequiredClaims {
		if got, _ := fakejwt.String(claims, name); got != want {
			return false
		}
	}
	return p.AttributeCondition == nil || p.AttributeCondition(claims)
}

// providerKeys returns the provider's verification keys, fetching them over
// HTTP on every call unless they were uploaded. Not caching keeps key
// rotation in tests trivially correct.
func (g *Google) providerKeys(ctx context.Context, p *Provider) (map[string]crypto.PublicKey, error) {
	if p.uploaded != nil {
		return p.uploaded, nil
	}
	if p.PublicKeys != nil {
		keys := make(map[string]crypto.PublicKey, len(p.PublicKeys))
		for kid, k := range p.PublicKeys {
			keys[kid] = k
		}
		return keys, nil
	}
	jwksURL := p.JWKSURL
	if jwksURL == "" {
		var doc struct {
			JWKSURI string `json:"jwks_uri"`
		}
		if err := g.getJSON(ctx, strings.TrimSuffix(p.IssuerURI, "/")+"/.well-known/openid-configuration", &doc); err != nil {
			return nil, err
		}
		if doc.JWKSURI == "" {
			return nil, errors.New("discovery document has no jwks_uri")
		}
		jwksURL = doc.JWKSURI
	}
	var set fakejwt.JWKS
	if err := g.getJSON(ctx, jwksURL, &set); err != nil {
		return nil, err
	}
	return set.VerificationKeys()
}

func (g *Google) getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := g.httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(v)
}
