package fakegoogle

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ScopeUserinfoEmail (or its alias "email") is what a token must carry for
// tokeninfo to reveal the account's email.
const ScopeUserinfoEmail = "https://www.googleapis.com/auth/userinfo.email"

// serveTokenInfo implements GET|POST /tokeninfo?access_token=... on
// oauth2.googleapis.com (also served as /oauth2/v3/tokeninfo, its
// www.googleapis.com alias), as described at
// https://developers.google.com/identity/sign-in/web/backend-auth#calling-the-tokeninfo-endpoint
// and https://cloud.google.com/docs/authentication/token-types#access-contents.
// Registries and other resource servers use it to validate bearer tokens.
//
// For a service account it returns azp, aud and sub = the account's unique
// numeric id, scope, exp and expires_in; email and email_verified only when
// the token carries the userinfo.email scope, as on Google. A resource server
// that needs the principal of a narrower token must go by the unique id.
func (g *Google) serveTokenInfo(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm() // query and, for POST, form body
	tok, ok := g.activeToken(r.Form.Get("access_token"))
	if !ok {
		writeOAuthError(w, http.StatusBadRequest, "invalid_token", "Invalid Value")
		return
	}
	now := g.now()
	body := map[string]string{
		"scope":      strings.Join(tok.Scopes, " "),
		"exp":        strconv.FormatInt(tok.Expiry.Unix(), 10),
		"expires_in": strconv.Itoa(int(tok.Expiry.Sub(now) / time.Second)),
	}
	switch tok.Kind {
	case KindFederated:
		// Google does not document tokeninfo for federated tokens; the fake
		// reports scope and lifetime only, with no email, so a resource
		// server relying on the email cannot mistake it for an account.
		body["access_type"] = "online"
	case KindRefresh:
		u := g.userByEmail(tok.Email)
		body["azp"], body["aud"], body["sub"] = u.clientID, u.clientID, u.userID
		body["access_type"] = "offline"
	default:
		id := g.uniqueID(tok.Email)
		// For service accounts azp, aud and sub are the account's unique id.
		body["azp"], body["aud"], body["sub"] = id, id, id
		body["access_type"] = "online"
	}
	if tok.Kind != KindFederated && (slices.Contains(tok.Scopes, ScopeUserinfoEmail) || slices.Contains(tok.Scopes, "email")) {
		body["email"], body["email_verified"] = tok.Email, "true"
	}
	w.Header().Set("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate")
	writeJSON(w, http.StatusOK, body)
}

func (g *Google) uniqueID(email string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if a, ok := g.accounts[email]; ok {
		return a.uniqueID
	}
	return ""
}

func (g *Google) userByEmail(email string) authorizedUser {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, u := range g.users {
		if u.email == email {
			return *u
		}
	}
	return authorizedUser{}
}
