package fakegoogle

import (
	"fmt"
	"net/http"
	"strings"
)

// Fault makes one endpoint fail the way Google's front ends do, so clients'
// error handling, retries and timeouts can be tested: statuses with
// Google's error bodies (https://cloud.google.com/apis/design/errors for the
// REST APIs, RFC 6749 section 5.2 for the OAuth endpoints), a 200 with a
// body that is not JSON, or a response that never comes.
type Fault struct {
	// Endpoint is one of the Endpoint* names; empty matches every request.
	Endpoint string
	// Status, when non-zero, is answered with Google's error body for the
	// endpoint. Message replaces the default message for the status.
	Status  int
	Message string
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter string
	// Malformed answers 200 with a truncated JSON body.
	Malformed bool
	// Stall holds the request open until the client gives up (its
	// context or timeout ends), like an overloaded or black-holed front end.
	Stall bool
	// Times is how many matching requests fail; 0 means all of them.
	Times int
}

// InjectFault adds f; the first matching fault answers a request. Faults
// stay until they are used up or ClearFaults is called.
func (g *Google) InjectFault(f Fault) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.faults = append(g.faults, &f)
}

// ClearFaults removes every injected fault.
func (g *Google) ClearFaults() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.faults = nil
}

// takeFault returns the fault for a request to endpoint, counting it used.
func (g *Google) takeFault(endpoint string) *Fault {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, f := range g.faults {
		if f.Endpoint != "" && f.Endpoint != endpoint {
			continue
		}
		out := *f
		if f.Times > 0 {
			if f.Times--; f.Times == 0 {
				g.faults = append(g.faults[:i:i], g.faults[i+1:]...)
			}
		}
		return &out
	}
	return nil
}

// withFaults answers requests from the injected faults before h sees them.
func (g *Google) withFaults(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		endpoint := endpointOf(r.URL.Path)
		f := g.takeFault(endpoint)
		if f == nil {
			h.ServeHTTP(w, r)
			return
		}
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		switch {
		case f.Stall:
			<-r.Context().Done()
		case f.Malformed:
			if endpoint == EndpointMetadata {
				w.Header().Set("Metadata-Flavor", "Google")
			}
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			fmt.Fprint(w, `{"access_token": "ya29.trunc`)
		case f.Status != 0:
			writeFault(w, endpoint, f.Status, f.Message)
		default:
			h.ServeHTTP(w, r)
		}
	})
}

// faultStatus is the google.rpc.Code name and canonical message Google's
// front ends send with an HTTP status.
var faultStatus = map[int][2]string{
	http.StatusBadRequest:          {"INVALID_ARGUMENT", "Request contains an invalid argument."},
	http.StatusUnauthorized:        {"UNAUTHENTICATED", msgInvalidCredential},
	http.StatusForbidden:           {"PERMISSION_DENIED", "The caller does not have permission"},
	http.StatusTooManyRequests:     {"RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Token requests' and limit 'Token requests per minute' of service."},
	http.StatusInternalServerError: {"INTERNAL", "Internal error encountered."},
	http.StatusServiceUnavailable:  {"UNAVAILABLE", "The service is currently unavailable."},
}

// writeFault writes the error body the endpoint's family uses: the OAuth
// endpoints answer client errors in RFC 6749 form, everything else (and
// every 429/5xx, which come from the front end) as google.rpc.Status; the
// metadata server answers in plain text.
func writeFault(w http.ResponseWriter, endpoint string, status int, message string) {
	name, def := "UNKNOWN", http.StatusText(status)
	if s, ok := faultStatus[status]; ok {
		name, def = s[0], s[1]
	}
	if message == "" {
		message = def
	}
	switch {
	case endpoint == EndpointMetadata:
		w.Header().Set("Metadata-Flavor", "Google")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprintln(w, message)
	case isOAuthEndpoint(endpoint) && status < 500 && status != http.StatusTooManyRequests:
		code := "invalid_request"
		if status == http.StatusForbidden {
			code = "access_denied"
		}
		writeOAuthError(w, status, code, message)
	default:
		writeAPIError(w, status, name, message)
	}
}

func isOAuthEndpoint(endpoint string) bool {
	return endpoint == EndpointSTS || strings.HasPrefix(endpoint, "oauth2.")
}
