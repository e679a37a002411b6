package fakegoogle

import (
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/pullsecret/pullsecret/internal/testing/fakejwt"
)

// GrantTypeJWTBearer is the RFC 7523 grant service-account keys use.
const GrantTypeJWTBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// accessTokenLifetime is what /token and the metadata server grant; Google
// reports it as expires_in 3599.
const accessTokenLifetime = 3599 * time.Second

// maxAssertionLifetime bounds exp-iat of a jwt-bearer assertion, and
// assertionClockSkew how far in the future iat may be.
const (
	maxAssertionLifetime = time.Hour
	assertionClockSkew   = time.Minute
)

// AssertionAudience is the only "aud" Google accepts in a jwt-bearer
// assertion, whichever host (a Private Service Connect endpoint included)
// the assertion is posted to: "When making an access token request this
// value is always https://oauth2.googleapis.com/token"
// (https://developers.google.com/identity/protocols/oauth2/service-account#authorizingrequests).
const AssertionAudience = "https://oauth2.googleapis.com/token"

const msgShortLived = "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim."

// serveToken implements POST /token on oauth2.googleapis.com
// (https://developers.google.com/identity/protocols/oauth2/service-account#httprest
// for keys, RFC 6749 section 6 for refresh tokens).
func (g *Google) serveToken(w http.ResponseWriter, r *http.Request) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Invalid request: the body must be application/x-www-form-urlencoded.")
		return
	}
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Malformed form body.")
		return
	}
	switch gt := r.PostForm.Get("grant_type"); gt {
	case GrantTypeJWTBearer:
		g.jwtBearer(w, r)
	case "refresh_token":
		g.refreshGrant(w, r)
	case "":
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "Invalid grant_type: ")
	default:
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "Invalid grant_type: "+gt)
	}
}

func (g *Google) jwtBearer(w http.ResponseWriter, r *http.Request) {
	assertion := r.PostForm.Get("assertion")
	if assertion == "" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "Missing required parameter: assertion")
		return
	}
	tok, err := fakejwt.Parse(assertion)
	if err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "Invalid JWT Signature.")
		return
	}
	c := tok.Claims
	email, _ := fakejwt.String(c, "iss")
	key, found := g.assertionKey(email, tok.KeyID())
	if !found {
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "Invalid grant: account not found")
		return
	}
	if key == nil || tok.Verify(key.pub) != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "Invalid JWT Signature.")
		return
	}
	if aud, _ := fakejwt.String(c, "aud"); aud != AssertionAudience {
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "Invalid JWT: Failed audience check. The right audience is "+AssertionAudience)
		return
	}
	iat, okIat := fakejwt.Time(c, "iat")
	exp, okExp := fakejwt.Time(c, "exp")
	now := g.now()
	if !okIat || !okExp || !now.Before(exp) || iat.After(now.Add(assertionClockSkew)) || exp.Sub(iat) > maxAssertionLifetime {
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", msgShortLived)
		return
	}
	// A "sub" other than the account asks for domain-wide delegation, which
	// no fake account has been granted.
	if sub, _ := fakejwt.String(c, "sub"); sub != "" && sub != email {
		writeOAuthError(w, http.StatusUnauthorized, "unauthorized_client",
			"Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.")
		return
	}
	scope, _ := fakejwt.String(c, "scope")
	if strings.TrimSpace(scope) == "" {
		if _, ok := c["target_audience"]; ok {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "ID tokens (target_audience) are not implemented by the fake.")
			return
		}
		writeOAuthError(w, http.StatusBadRequest, "invalid_scope", "Invalid OAuth scope or ID token audience provided.")
		return
	}
	g.writeAccessToken(w, IssuedToken{
		Kind: KindJWTBearer, Subject: email, Email: email, Principal: ServiceAccountMember(email),
		Scopes: strings.Fields(scope),
	}, false)
}

// assertionKey finds the key that should have signed an assertion from
// email. found is false when the account does not exist; key is nil when it
// exists but has no key with that id (deleted or never created).
func (g *Google) assertionKey(email, kid string) (key *saKey, found bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	a, ok := g.accounts[email]
	if !ok {
		return nil, false
	}
	for _, k := range a.keys {
		if k.id == kid {
			return k, true
		}
	}
	return nil, true
}

func (g *Google) refreshGrant(w http.ResponseWriter, r *http.Request) {
	clientID, secret, basic := r.BasicAuth()
	if !basic {
		clientID, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	g.mu.Lock()
	u, ok := g.users[r.PostForm.Get("refresh_token")]
	var user authorizedUser
	if ok {
		user = *u
	}
	g.mu.Unlock()
	switch {
	case ok && user.clientID != clientID, !ok && !g.knownClient(clientID):
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "The OAuth client was not found.")
		return
	case ok && user.clientSecret != secret:
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "Unauthorized")
		return
	case !ok || user.revoked:
		writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "Token has been expired or revoked.")
		return
	}
	scopes := user.scopes
	if s := strings.Fields(r.PostForm.Get("scope")); len(s) > 0 {
		for _, sc := range s {
			if !slices.Contains(user.scopes, sc) {
				writeOAuthError(w, http.StatusBadRequest, "invalid_scope", "Some requested scopes were invalid. {invalid=["+sc+"]}")
				return
			}
		}
		scopes = s
	}
	g.writeAccessToken(w, IssuedToken{
		Kind: KindRefresh, Subject: user.email, Email: user.email, Principal: "user:" + user.email, Scopes: scopes,
	}, true)
}

func (g *Google) knownClient(clientID string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, u := range g.users {
		if u.clientID == clientID {
			return true
		}
	}
	return false
}

// writeAccessToken mints tmpl and writes the /token success body. Refresh
// grants also echo the scope, as Google does.
func (g *Google) writeAccessToken(w http.ResponseWriter, tmpl IssuedToken, withScope bool) {
	tok, err := g.mint(tmpl, accessTokenLifetime)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	body := map[string]any{
		"access_token": tok.Token,
		"expires_in":   int(accessTokenLifetime / time.Second),
		"token_type":   "Bearer",
	}
	if withScope {
		body["scope"] = strings.Join(tok.Scopes, " ")
	}
	w.Header().Set("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate")
	writeJSON(w, http.StatusOK, body)
}

// serveRevoke implements POST /revoke?token=... for access and refresh tokens.
func (g *Google) serveRevoke(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	token := r.Form.Get("token")
	g.mu.Lock()
	found := false
	if t, ok := g.tokens[token]; ok {
		t.Revoked, found = true, true
	}
	if u, ok := g.users[token]; ok {
		u.revoked, found = true, true
	}
	g.mu.Unlock()
	if !found {
		writeOAuthError(w, http.StatusBadRequest, "invalid_token", "Token expired or revoked")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}
