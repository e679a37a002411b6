package fakegoogle

import (
	"net/http"

	"github.com/pullsecret/pullsecret/internal/testing/fakejwt"
)

// serveX509 implements GET /service_accounts/v1/metadata/x509/{email} (and
// the legacy /robot/v1/metadata/x509/{email} that key files link to): a JSON
// object mapping each key id to its PEM certificate.
func (g *Google) serveX509(w http.ResponseWriter, r *http.Request) {
	keys, ok := g.accountKeys(r.PathValue("email"))
	if !ok {
		writeAPIError(w, http.StatusNotFound, "NOT_FOUND", "Not found; Gaia id not found for email "+r.PathValue("email"))
		return
	}
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		out[k.id] = k.certPEM
	}
	writeJSON(w, http.StatusOK, out)
}

// serveJWK implements GET /service_accounts/v1/jwk/{email}.
func (g *Google) serveJWK(w http.ResponseWriter, r *http.Request) {
	keys, ok := g.accountKeys(r.PathValue("email"))
	if !ok {
		writeAPIError(w, http.StatusNotFound, "NOT_FOUND", "Not found; Gaia id not found for email "+r.PathValue("email"))
		return
	}
	set := fakejwt.JWKS{Keys: []fakejwt.JWK{}}
	for _, k := range keys {
		set.Keys = append(set.Keys, fakejwt.NewJWK(k.id, k.pub))
	}
	writeJSON(w, http.StatusOK, set)
}

func (g *Google) accountKeys(email string) ([]saKey, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	a, ok := g.accounts[email]
	if !ok {
		return nil, false
	}
	out := make([]saKey, len(a.keys))
	for i, k := range a.keys {
		out[i] = *k
	}
	return out, true
}
