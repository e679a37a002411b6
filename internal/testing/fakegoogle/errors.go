package fakegoogle

import (
	"encoding/json"
	"net/http"
	"slices"
)

// writeJSON writes v with the Content-Type Google's JSON APIs use.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeOAuthError writes the RFC 6749 section 5.2 error body that
// oauth2.googleapis.com and sts.googleapis.com return.
func writeOAuthError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

// errorInfo is a google.rpc.ErrorInfo detail, which Google attaches to IAM
// permission errors.
type errorInfo struct {
	Type     string            `json:"@type"`
	Reason   string            `json:"reason"`
	Domain   string            `json:"domain"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// writeAPIError writes the google.rpc.Status JSON error body of Google's
// REST APIs, such as iamcredentials.googleapis.com.
func writeAPIError(w http.ResponseWriter, code int, status, message string, details ...errorInfo) {
	body := map[string]any{"code": code, "message": message, "status": status}
	if len(details) > 0 {
		for i := range details {
			details[i].Type = "type.googleapis.com/google.rpc.ErrorInfo"
		}
		body["details"] = details
	}
	writeJSON(w, code, map[string]any{"error": body})
}

// serviceDisabled answers Google's 403 for an API not enabled in the
// project (reason SERVICE_DISABLED, naming the service and the consumer
// project), as every Google API does, and reports whether it did.
func (g *Google) serviceDisabled(w http.ResponseWriter, service, title string) bool {
	if !slices.Contains(g.disabled, service) {
		return false
	}
	activation := "https://console.developers.google.com/apis/api/" + service + "/overview?project=" + g.numericProject
	writeAPIError(w, http.StatusForbidden, "PERMISSION_DENIED",
		title+" has not been used in project "+g.numericProject+" before or it is disabled. Enable it by visiting "+activation+
			" then retry. If you enabled this API recently, wait a few minutes for the action to propagate to our systems and retry.",
		errorInfo{Reason: "SERVICE_DISABLED", Domain: "googleapis.com", Metadata: map[string]string{
			"consumer": "projects/" + g.numericProject, "service": service, "serviceTitle": title, "activationUrl": activation,
		}})
	return true
}
