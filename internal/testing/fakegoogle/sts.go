package fakegoogle

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Token-exchange URNs from RFC 8693.
const (
	GrantTypeTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	TokenTypeAccessToken   = "urn:ietf:params:oauth:token-type:access_token"
	TokenTypeJWT           = "urn:ietf:params:oauth:token-type:jwt"
	TokenTypeIDToken       = "urn:ietf:params:oauth:token-type:id_token"
)

// maxFederatedLifetime caps federated tokens; within it they live as long as
// the subject token they were exchanged for.
const maxFederatedLifetime = time.Hour

var (
	workloadAudienceRE  = regexp.MustCompile(`^//iam\.googleapis\.com/(projects/[^/]+/locations/global/workloadIdentityPools/[^/]+/providers/[^/]+)$`)
	workforceAudienceRE = regexp.MustCompile(`^//iam\.googleapis\.com/locations/[^/]+/workforcePools/[^/]+/providers/[^/]+$`)
)

// stsRequest holds the token-exchange fields, read from either encoding STS
// accepts.
type stsRequest struct {
	grantType, audience, scope, requestedTokenType string
	subjectToken, subjectTokenType, options        string
}

// serveSTS implements POST /v1/token on sts.googleapis.com
// (https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token).
func (g *Google) serveSTS(w http.ResponseWriter, r *http.Request) {
	if g.serviceDisabled(w, "sts.googleapis.com", "Security Token Service API") {
		return
	}
	req, ok := parseSTSRequest(w, r)
	if !ok {
		return
	}
	if req.grantType != GrantTypeTokenExchange {
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type",
			fmt.Sprintf("Invalid value for \"grant_type\": %q is not supported.", req.grantType))
		return
	}
	if req.requestedTokenType != TokenTypeAccessToken {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request",
			"Invalid value for \"requested_token_type\". The requested token type must be urn:ietf:params:oauth:token-type:access_token.")
		return
	}
	if req.subjectToken == "" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Missing required parameter: \"subject_token\".")
		return
	}
	if req.subjectTokenType != TokenTypeJWT && req.subjectTokenType != TokenTypeIDToken {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request",
			"Invalid value for \"subject_token_type\". Supported values for OIDC providers are urn:ietf:params:oauth:token-type:jwt and urn:ietf:params:oauth:token-type:id_token.")
		return
	}
	// "scope: Required when exchanging an external credential for a
	// Google access token" (the reference above).
	if strings.TrimSpace(req.scope) == "" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_scope", "Scope(s) must be provided.")
		return
	}
	if req.options != "" {
		var opts map[string]any
		if err := json.Unmarshal([]byte(req.options), &opts); err != nil {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Invalid value for \"options\": must be a JSON object.")
			return
		}
	}
	m := workloadAudienceRE.FindStringSubmatch(req.audience)
	if m == nil && !workforceAudienceRE.MatchString(req.audience) {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request",
			"Invalid value for \"audience\". This value should be the full resource name of the Identity Provider. See https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token for the list of possible formats.")
		return
	}
	var p *Provider
	if m != nil {
		p = g.provider(m[1])
	}
	if p == nil || p.Disabled {
		writeOAuthError(w, http.StatusBadRequest, "invalid_target",
			"The target service indicated by the \"audience\" parameters is invalid. This might either be because the pool or provider is disabled or deleted or because it doesn't exist.")
		return
	}

	v, failure := g.verifySubjectToken(r.Context(), p, req.subjectToken)
	if failure != nil {
		writeOAuthError(w, http.StatusBadRequest, failure.code, failure.description)
		return
	}
	// At least a second, so that expires_in is never 0, which x/oauth2
	// rightly rejects.
	lifetime := max(min(v.expiry.Sub(g.now()), maxFederatedLifetime).Truncate(time.Second), time.Second)
	tok, err := g.mint(IssuedToken{
		Kind:       KindFederated,
		Subject:    v.subject,
		Principal:  SubjectPrincipal(p.Name, v.subject),
		Provider:   p.Name,
		Attributes: v.attributes,
		Scopes:     strings.Fields(req.scope),
	}, lifetime)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":      tok.Token,
		"issued_token_type": TokenTypeAccessToken,
		"token_type":        "Bearer",
		"expires_in":        int(lifetime / time.Second),
	})
}

// parseSTSRequest reads the body: x/oauth2 sends a form, while the REST
// reference (and google-github-actions/auth) send JSON, whose field names
// proto3 accepts in lowerCamelCase or snake_case.
func parseSTSRequest(w http.ResponseWriter, r *http.Request) (stsRequest, bool) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Malformed form body.")
			return stsRequest{}, false
		}
		f := r.PostForm
		return stsRequest{
			grantType:          f.Get("grant_type"),
			audience:           f.Get("audience"),
			scope:              f.Get("scope"),
			requestedTokenType: f.Get("requested_token_type"),
			subjectToken:       f.Get("subject_token"),
			subjectTokenType:   f.Get("subject_token_type"),
			options:            f.Get("options"),
		}, true
	case "application/json":
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Invalid JSON payload received.")
			return stsRequest{}, false
		}
		field := func(camel, snake string) string {
			for _, k := range []string{camel, snake} {
				switch v := body[k].(type) {
				case string:
					return v
				case map[string]any: // options as an object
					b, _ := json.Marshal(v)
					return string(b)
				}
			}
			return ""
		}
		return stsRequest{
			grantType:          field("grantType", "grant_type"),
			audience:           field("audience", "audience"),
			scope:              field("scope", "scope"),
			requestedTokenType: field("requestedTokenType", "requested_token_type"),
			subjectToken:       field("subjectToken", "subject_token"),
			subjectTokenType:   field("subjectTokenType", "subject_token_type"),
			options:            field("options", "options"),
		}, true
	}
	writeOAuthError(w, http.StatusBadRequest, "invalid_request",
		fmt.Sprintf("Unsupported content type %q: send application/x-www-form-urlencoded or application/json.", mt))
	return stsRequest{}, false
}

// containsAny reports whether any of have is in want.
func containsAny(want, have []string) bool {
	return slices.ContainsFunc(have, func(s string) bool { return slices.Contains(want, s) })
}
