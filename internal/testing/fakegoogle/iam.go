package fakegoogle

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

const generateAccessTokenSuffix = ":generateAccessToken"

const (
	msgMissingCredential = "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
	msgInvalidCredential = "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
	msgPermissionDenied  = "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist)."
)

// durationRE is the JSON form of google.protobuf.Duration.
var durationRE = regexp.MustCompile(`^([0-9]+)(\.[0-9]{1,9})?s$`)

type generateAccessTokenRequest struct {
	Delegates []string `json:"delegates"`
	Scope     []string `json:"scope"`
	Lifetime  string   `json:"lifetime"`
}

// serveIAMCredentials implements
// POST /v1/projects/-/serviceAccounts/{email or unique id}:generateAccessToken
// as documented at
// https://cloud.google.com/iam/docs/reference/credentials/rest/v1/projects.serviceAccounts/generateAccessToken.
func (g *Google) serveIAMCredentials(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutSuffix(r.PathValue("name"), generateAccessTokenSuffix)
	if !ok {
		writeAPIError(w, http.StatusNotFound, "NOT_FOUND", "Method not found.")
		return
	}
	caller, ok := g.bearer(w, r)
	if !ok {
		return
	}
	if g.serviceDisabled(w, "iamcredentials.googleapis.com", "IAM Service Account Credentials API") {
		return
	}
	if !slices.Contains(caller.Scopes, ScopeCloudPlatform) && !slices.Contains(caller.Scopes, ScopeIAM) {
		writeAPIError(w, http.StatusForbidden, "PERMISSION_DENIED", "Request had insufficient authentication scopes.",
			errorInfo{Reason: "ACCESS_TOKEN_SCOPE_INSUFFICIENT", Domain: "googleapis.com",
				Metadata: map[string]string{"service": "iamcredentials.googleapis.com", "method": "google.iam.credentials.v1.IAMCredentials.GenerateAccessToken"}})
		return
	}
	// "-" stands for "infer the project from the account"; the API
	// reference calls any other value invalid.
	if r.PathValue("project") != "-" {
		writeAPIError(w, http.StatusBadRequest, "INVALID_ARGUMENT",
			"The project in the resource name must be the wildcard \"-\": projects/-/serviceAccounts/"+name)
		return
	}
	var req generateAccessTokenRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeAPIError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received. "+err.Error())
		return
	}

	chain := make([]string, 0, len(req.Delegates)+1)
	for _, d := range req.Delegates {
		chain = append(chain, strings.TrimPrefix(d, "projects/-/serviceAccounts/"))
	}
	chain = append(chain, name)
	target, missing := g.resolveChain(chain)
	if missing != "" {
		writeAPIError(w, http.StatusNotFound, "NOT_FOUND", "Not found; Gaia id not found for email "+missing)
		return
	}
	if !g.mayImpersonate(caller, chain) {
		writeAPIError(w, http.StatusForbidden, "PERMISSION_DENIED", msgPermissionDenied,
			errorInfo{Reason: "IAM_PERMISSION_DENIED", Domain: "iam.googleapis.com",
				Metadata: map[string]string{"permission": "iam.serviceAccounts.getAccessToken"}})
		return
	}
	if len(req.Scope) == 0 {
		writeAPIError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Scope required.")
		return
	}
	lifetime, err := parseLifetime(req.Lifetime)
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "INVALID_ARGUMENT", err.Error())
		return
	}
	if lifetime > g.maxLifetime {
		writeAPIError(w, http.StatusBadRequest, "INVALID_ARGUMENT", fmt.Sprintf(
			"Requested lifetime exceeds the maximum allowed value of %ds. To request a longer lifetime, add the service account to the constraints/iam.allowServiceAccountCredentialLifetimeExtension organization policy.",
			int(g.maxLifetime/time.Second)))
		return
	}
	tok, err := g.mint(IssuedToken{
		Kind:           KindImpersonated,
		Subject:        target,
		Email:          target,
		Principal:      ServiceAccountMember(target),
		ImpersonatedBy: caller.Principal,
		Delegates:      req.Delegates,
		Scopes:         req.Scope,
	}, lifetime)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{
		"accessToken": tok.Token,
		"expireTime":  tok.Expiry.UTC().Format(time.RFC3339),
	})
}

// bearer authenticates r by its OAuth bearer token, writing Google's 401 and
// returning false when that fails.
func (g *Google) bearer(w http.ResponseWriter, r *http.Request) (IssuedToken, bool) {
	scheme, value, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(value) == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/"`)
		writeAPIError(w, http.StatusUnauthorized, "UNAUTHENTICATED", msgMissingCredential,
			errorInfo{Reason: "CREDENTIALS_MISSING", Domain: "googleapis.com"})
		return IssuedToken{}, false
	}
	tok, ok := g.activeToken(strings.TrimSpace(value))
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/", error="invalid_token"`)
		writeAPIError(w, http.StatusUnauthorized, "UNAUTHENTICATED", msgInvalidCredential,
			errorInfo{Reason: "ACCESS_TOKEN_TYPE_UNSUPPORTED", Domain: "googleapis.com"})
		return IssuedToken{}, false
	}
	return tok, true
}

// resolveChain maps each account name (email or unique id) in chain to its
// email in place and returns the last one; missing names the first unknown.
func (g *Google) resolveChain(chain []string) (target, missing string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, id := range chain {
		a := g.accountLocked(id)
		if a == nil {
			return "", id
		}
		chain[i] = a.email
	}
	return chain[len(chain)-1], ""
}

// mayImpersonate applies IAM's delegation rule: the caller needs the
// permission on the first account of the chain, and each account on the
// next one. There is no implicit grant on oneself: an account minting a
// token for itself needs roles/iam.serviceAccountTokenCreator on itself like
// any other caller
// (https://cloud.google.com/iam/docs/service-account-permissions#token-creator-role).
func (g *Google) mayImpersonate(caller IssuedToken, chain []string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	allowed := func(email string, who IssuedToken) bool {
		a := g.accounts[email]
		for m, at := range a.pending {
			if !now.Before(at) && memberMatches(m, who) {
				return true
			}
		}
		return slices.ContainsFunc(a.impersonators, func(m string) bool { return memberMatches(m, who) })
	}
	if !allowed(chain[0], caller) {
		return false
	}
	for i := 1; i < len(chain); i++ {
		prev := IssuedToken{Kind: KindImpersonated, Email: chain[i-1], Principal: ServiceAccountMember(chain[i-1])}
		if !allowed(chain[i], prev) {
			return false
		}
	}
	return true
}

// parseLifetime parses a google.protobuf.Duration string; empty means the
// API default of one hour.
func parseLifetime(s string) (time.Duration, error) {
	if s == "" {
		return time.Hour, nil
	}
	m := durationRE.FindStringSubmatch(s)
	if m == nil {
		//lint:ignore ST1005 Google's error message, word for word: clients (and our tests) match on it.
		return 0, errors.New("Invalid value at 'lifetime' (type.googleapis.com/google.protobuf.Duration), Field 'lifetime', Illegal duration format; duration must end with 's'")
	}
	secs, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || secs > int64(ExtendedMaxLifetime/time.Second)*10 {
		//lint:ignore ST1005 Google's error message, word for word: clients (and our tests) match on it.
		return 0, errors.New("Invalid value at 'lifetime' (type.googleapis.com/google.protobuf.Duration), Field 'lifetime', duration out of range")
	}
	d := time.Duration(secs) * time.Second
	if m[2] != "" {
		frac, _ := strconv.ParseFloat("0"+m[2], 64)
		d += time.Duration(frac * float64(time.Second))
	}
	if d <= 0 {
		//lint:ignore ST1005 Google's error message, word for word: clients (and our tests) match on it.
		return 0, errors.New("The lifetime must be a positive duration.")
	}
	return d, nil
}
