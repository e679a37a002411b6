package fakegoogle

import (
	"fmt"
	"html"
	"net/http"
	"slices"
	"strings"
	"time"
)

// metadataCacheMargin: the metadata server hands out the same token until it
// is this close to expiry, as GCE's does; clients see expires_in fall.
const metadataCacheMargin = 5 * time.Minute

// serveMetadataRoot answers the GET / probe that
// cloud.google.com/go/compute/metadata.OnGCE sends: only the response
// header matters to it.
func (g *Google) serveMetadataRoot(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Metadata-Flavor", "Google")
	w.Header().Set("Content-Type", "application/text")
	fmt.Fprint(w, "computeMetadata/\n")
}

// metadataGuard applies the metadata server's request rules to every
// /computeMetadata/ path: the Metadata-Flavor: Google request header is
// required (it stops browsers and naive SSRF from reading tokens) and
// proxied requests, which carry X-Forwarded-For, are refused.
func metadataGuard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Metadata-Flavor", "Google")
		if r.Header.Get("X-Forwarded-For") != "" {
			metadataForbidden(w, r, "Request denied: the request header X-Forwarded-For is not allowed.")
			return
		}
		if r.Header.Get("Metadata-Flavor") != "Google" && !strings.EqualFold(r.Header.Get("X-Google-Metadata-Request"), "True") {
			metadataForbidden(w, r, "Missing Metadata-Flavor:Google header.")
			return
		}
		h.ServeHTTP(w, r)
	})
}

func metadataForbidden(w http.ResponseWriter, r *http.Request, reason string) {
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	w.WriteHeader(http.StatusForbidden)
	fmt.Fprintf(w, "<!DOCTYPE html>\n<html lang=en>\n  <title>Error 403 (Forbidden)!!1</title>\n  <p><b>403.</b> <ins>That’s an error.</ins>\n  <p>Your client does not have permission to get URL <code>%s</code> from this server. %s <ins>That’s all we know.</ins>\n",
		html.EscapeString(r.URL.Path), reason)
}

// serveMetadataText serves the plain-text metadata values.
func (g *Google) serveMetadataText(w http.ResponseWriter, r *http.Request) {
	var value string
	switch key := strings.TrimPrefix(r.URL.Path, "/computeMetadata/v1/"); key {
	case "project/project-id":
		value = g.projectID
	case "project/numeric-project-id":
		value = g.numericProject
	case "universe/universe-domain":
		value = "googleapis.com"
	case "instance/service-accounts/", "instance/service-accounts":
		if email := g.metadataEmail(); email != "" {
			value = "default/\n" + email + "/\n"
		}
	default:
		acct, field, ok := g.metadataAccount(key)
		if !ok {
			metadataNotFound(w)
			return
		}
		switch field {
		case "email":
			value = acct
		case "scopes":
			value = strings.Join(g.metadataScopes, "\n") + "\n"
		case "aliases":
			value = "default\n"
		default:
			metadataNotFound(w)
			return
		}
	}
	w.Header().Set("Content-Type", "application/text")
	fmt.Fprint(w, value)
}

// metadataAccount parses "instance/service-accounts/{default|EMAIL}/FIELD".
func (g *Google) metadataAccount(key string) (email, field string, ok bool) {
	rest, ok := strings.CutPrefix(key, "instance/service-accounts/")
	email = g.metadataEmail()
	if !ok || email == "" {
		return "", "", false
	}
	name, field, ok := strings.Cut(rest, "/")
	if !ok || (name != "default" && name != email) {
		return "", "", false
	}
	return email, field, true
}

// metadataEmail is what the metadata server names the default account: the
// attached service account, or under Workload Identity Federation for GKE
// without one, the workload pool.
func (g *Google) metadataEmail() string {
	if w := g.gkeWorkload; w != nil {
		if w.GoogleServiceAccount != "" {
			return w.GoogleServiceAccount
		}
		return GKEWorkloadPool(g.projectID)
	}
	return g.metadataSA
}

// GKEWorkloadMember is the IAM member of a Kubernetes ServiceAccount that a
// Google service account grants roles/iam.workloadIdentityUser to.
func GKEWorkloadMember(projectID, namespace, ksa string) string {
	return "serviceAccount:" + GKEWorkloadPool(projectID) + "[" + namespace + "/" + ksa + "]"
}

// gkeTokenDenied is GKE's metadata server's answer when the Google service
// account does not let the Kubernetes ServiceAccount impersonate it: plain
// text over several lines, the way out in the last ones.
const gkeTokenDenied = "Unable to generate access token; IAM returned 403 Forbidden: Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).\n" +
	"This error could be caused by a missing IAM policy binding on the target IAM service account.\n" +
	"For more information, refer to the Workload Identity documentation:\n" +
	"\thttps://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity#authenticating_to\n\n"

// gkeMayImpersonate reports whether the annotated Google service account
// grants the pod's Kubernetes ServiceAccount workloadIdentityUser.
func (g *Google) gkeMayImpersonate(w *GKEWorkload) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	a := g.accounts[w.GoogleServiceAccount]
	return a != nil && slices.Contains(a.impersonators, GKEWorkloadMember(g.projectID, w.Namespace, w.ServiceAccount))
}

// GKEWorkloadPool is the workload pool of a GKE project, which the metadata
// server reports as the email when no Google service account is bound.
func GKEWorkloadPool(projectID string) string { return projectID + ".svc.id.goog" }

// GKEWorkloadPrincipal is the IAM principal of a Kubernetes ServiceAccount
// under Workload Identity Federation for GKE
// (https://cloud.google.com/kubernetes-engine/docs/concepts/workload-identity#kubernetes-resources-iam-policies).
func GKEWorkloadPrincipal(projectNumber, projectID, namespace, ksa string) string {
	return "principal://iam.googleapis.com/projects/" + projectNumber + "/locations/global/workloadIdentityPools/" +
		GKEWorkloadPool(projectID) + "/subject/ns/" + namespace + "/sa/" + ksa
}

// serveMetadataToken implements
// GET /computeMetadata/v1/instance/service-accounts/{default|EMAIL}/token.
// A ?scopes= query is ignored: the token carries the instance's access
// scopes, whatever a client asks for
// (https://cloud.google.com/compute/docs/access/service-accounts#accesscopesiam,
// https://cloud.google.com/compute/docs/access/authenticate-workloads#applications).
func (g *Google) serveMetadataToken(w http.ResponseWriter, r *http.Request) {
	email, _, ok := g.metadataAccount("instance/service-accounts/" + r.PathValue("acct") + "/token")
	if !ok {
		metadataNotFound(w)
		return
	}
	if wl := g.gkeWorkload; wl != nil && wl.GoogleServiceAccount != "" && !g.gkeMayImpersonate(wl) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, gkeTokenDenied)
		return
	}
	tok, err := g.metadataToken(email)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok.Token,
		"expires_in":   int(tok.Expiry.Sub(g.now()) / time.Second),
		"token_type":   "Bearer",
	})
}

// metadataToken returns the cached token, minting a new one when there is
// none usable for at least metadataCacheMargin. Like GCE's, the cache means
// a caller may get a token with only minutes left.
func (g *Google) metadataToken(email string) (IssuedToken, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if t := g.metadataCache; t != nil && t.Active(g.now().Add(metadataCacheMargin)) {
		return t.clone(), nil
	}
	tmpl := IssuedToken{Kind: KindMetadata, Subject: email, Email: email, Principal: ServiceAccountMember(email), Scopes: g.metadataScopes}
	if w := g.gkeWorkload; w != nil && w.GoogleServiceAccount == "" {
		// A federated token of the pod's principal, with no account
		// behind it; it carries cloud-platform whatever is asked.
		tmpl = IssuedToken{Kind: KindFederated, Subject: "ns/" + w.Namespace + "/sa/" + w.ServiceAccount,
			Principal: GKEWorkloadPrincipal(g.numericProject, g.projectID, w.Namespace, w.ServiceAccount), Scopes: []string{ScopeCloudPlatform}}
	}
	t, err := g.mintLocked(tmpl, accessTokenLifetime)
	if err != nil {
		return IssuedToken{}, err
	}
	g.metadataCache = t
	return t.clone(), nil
}

func metadataNotFound(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	w.WriteHeader(http.StatusNotFound)
	fmt.Fprint(w, "<!DOCTYPE html>\n<html lang=en>\n  <title>Error 404 (Not Found)!!1</title>\n  <p><b>404.</b> <ins>That’s an error.</ins>\n  <p>The requested URL was not found on this server.  <ins>That’s all we know.</ins>\n")
}
