package fakegithub

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/pullsecret/pullsecret/internal/testing/fakejwt"
)

// Handler serves the ID token endpoint and the issuer's discovery documents:
//
//	GET /_apis/idtoken?api-version=2.0[&audience=AUD]
//	GET /.well-known/openid-configuration
//	GET /.well-known/jwks
func (o *OIDC) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+IDTokenPath, o.serveIDToken)
	mux.HandleFunc("GET /.well-known/openid-configuration", o.serveDiscovery)
	mux.HandleFunc("GET /.well-known/jwks", o.serveJWKS)
	return mux
}

func (o *OIDC) serveIDToken(w http.ResponseWriter, r *http.Request) {
	// Authentication comes first, as on GitHub: without the job's runtime
	// token nothing else about the request is evaluated.
	if !o.authorized(r.Header.Get("Authorization")) {
		writeVSSError(w, http.StatusUnauthorized,
			"TF400813: The user '' is not authorized to access this resource.",
			"Microsoft.TeamFoundation.Framework.Server.UnauthorizedRequestException, Microsoft.TeamFoundation.Framework.Server",
			"UnauthorizedRequestException")
		return
	}
	if o.idTokenDisabled() {
		// Not reachable on GitHub (the URL is never handed out without the
		// permission); the body is the fake's own wording.
		writeVSSError(w, http.StatusForbidden,
			"The job is not permitted to request an OIDC token: the workflow lacks the 'id-token: write' permission.",
			"Microsoft.TeamFoundation.Framework.Server.AccessDeniedException, Microsoft.TeamFoundation.Framework.Server",
			"AccessDeniedException")
		return
	}
	// The URL GitHub hands out already carries api-version=2.0; a client that
	// rebuilds the query instead of adding to it loses it. The fake insists
	// on it to catch exactly that bug.
	if r.URL.Query().Get("api-version") == "" {
		writeVSSError(w, http.StatusBadRequest,
			"No api-version was supplied for the \"GET\" request. The version must be supplied either as part of the Accept header (e.g. \"application/json; api-version=1.0\") or as a query parameter (e.g. \"?api-version=1.0\").",
			"Microsoft.VisualStudio.Services.WebApi.VssVersionNotSpecifiedException, Microsoft.VisualStudio.Services.WebApi",
			"VssVersionNotSpecifiedException")
		return
	}
	tok, err := o.Mint(r.URL.Query().Get("audience"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"value": tok})
}

// authorized reports whether header is "Bearer <request token>". The scheme
// is case-insensitive (RFC 9110 section 11.1); the token is compared in
// constant time out of habit, not because the fake holds secrets.
func (o *OIDC) authorized(header string) bool {
	scheme, tok, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	tok = strings.TrimSpace(tok)
	return subtle.ConstantTimeCompare([]byte(tok), []byte(o.requestToken)) == 1
}

func (o *OIDC) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer": o.Issuer(),
		// GitHub publishes the JWKS under the issuer. The fake points at
		// itself instead, so the document stays usable when the issuer is
		// left at the real (unreachable) github.com value; the two agree
		// once SetIssuer is given the fake's URL.
		"jwks_uri":                              requestBase(r) + "/.well-known/jwks",
		"subject_types_supported":               []string{"public", "pairwise"},
		"response_types_supported":              []string{"id_token"},
		"claims_supported":                      claimsSupported,
		"id_token_signing_alg_values_supported": []string{fakejwt.AlgRS256},
		"scopes_supported":                      []string{"openid"},
	})
}

func (o *OIDC) serveJWKS(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, fakejwt.JWKS{Keys: []fakejwt.JWK{fakejwt.NewJWK(o.kid, o.PublicKey())}})
}

func requestBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// writeVSSError writes the JSON error body the Actions runtime services
// (built on Azure DevOps) return.
func writeVSSError(w http.ResponseWriter, status int, message, typeName, typeKey string) {
	writeJSON(w, status, map[string]any{
		"$id":            "1",
		"innerException": nil,
		"message":        message,
		"typeName":       typeName,
		"typeKey":        typeKey,
		"errorCode":      0,
		"eventId":        3000,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
