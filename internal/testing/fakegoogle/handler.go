package fakegoogle

import "net/http"

// Handler serves every fake endpoint from one mux, recording each request:
//
//	POST     /v1/token                                              STS token exchange
//	POST     /v1/projects/-/serviceAccounts/{account}:generateAccessToken
//	POST     /token, /oauth2/v4/token                               OAuth 2.0 token endpoint
//	GET|POST /tokeninfo, /oauth2/v3/tokeninfo
//	POST     /revoke
//	GET      /service_accounts/v1/metadata/x509/{email}, /robot/v1/metadata/x509/{email}
//	GET      /service_accounts/v1/jwk/{email}
//	GET      /                                                      metadata server probe
//	GET      /computeMetadata/v1/...                                metadata server
//	POST     /fakegoogle/v1/checkPermission                         fake-only: see serveCheckPermission
//
// Faults injected with InjectFault answer before the endpoint does.
func (g *Google) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/token", g.serveSTS)
	mux.HandleFunc("POST /v1/projects/{project}/serviceAccounts/{name}", g.serveIAMCredentials)
	mux.HandleFunc("POST /token", g.serveToken)
	mux.HandleFunc("POST /oauth2/v4/token", g.serveToken)
	for _, p := range []string{"/tokeninfo", "/oauth2/v3/tokeninfo"} {
		mux.HandleFunc("GET "+p, g.serveTokenInfo)
		mux.HandleFunc("POST "+p, g.serveTokenInfo)
	}
	mux.HandleFunc("POST /revoke", g.serveRevoke)
	mux.HandleFunc("GET /service_accounts/v1/metadata/x509/{email}", g.serveX509)
	mux.HandleFunc("GET /robot/v1/metadata/x509/{email}", g.serveX509)
	mux.HandleFunc("GET /service_accounts/v1/jwk/{email}", g.serveJWK)
	mux.HandleFunc("POST /fakegoogle/v1/checkPermission", g.serveCheckPermission)

	mux.HandleFunc("GET /{$}", g.serveMetadataRoot)
	md := http.NewServeMux()
	md.HandleFunc("GET /computeMetadata/v1/instance/service-accounts/{acct}/token", g.serveMetadataToken)
	md.HandleFunc("GET /computeMetadata/v1/", g.serveMetadataText)
	mux.Handle("/computeMetadata/", metadataGuard(md))
	return g.record(g.withFaults(mux))
}
