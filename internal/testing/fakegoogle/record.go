package fakegoogle

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// Endpoint names used in RecordedRequest.Endpoint.
const (
	EndpointSTS            = "sts"
	EndpointIAMCredentials = "iamcredentials"
	EndpointOAuth2Token    = "oauth2.token"
	EndpointTokenInfo      = "oauth2.tokeninfo"
	EndpointRevoke         = "oauth2.revoke"
	EndpointCerts          = "certs"
	EndpointMetadata       = "metadata"
	EndpointUnknown        = "unknown"
)

// maxBody bounds request bodies, as every Google front end does.
const maxBody = 1 << 20

// RecordedRequest is one request as the fake received it, so tests can
// assert on exactly what a client put on the wire.
type RecordedRequest struct {
	Endpoint    string
	Method      string
	Path        string
	Query       url.Values
	Header      http.Header
	ContentType string // media type without parameters
	Body        []byte
	// Form is the parsed body of an application/x-www-form-urlencoded
	// request; JSON the parsed body of an application/json one.
	Form url.Values
	JSON map[string]any
	// HasAuthorization reports an Authorization header was present.
	HasAuthorization bool
	// Status is the HTTP status the fake answered with.
	Status int
}

// Requests returns every request received so far, oldest first.
func (g *Google) Requests() []RecordedRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]RecordedRequest(nil), g.requests...)
}

// RequestsTo returns the recorded requests for one endpoint.
func (g *Google) RequestsTo(endpoint string) []RecordedRequest {
	var out []RecordedRequest
	for _, r := range g.Requests() {
		if r.Endpoint == endpoint {
			out = append(out, r)
		}
	}
	return out
}

// record wraps h so that every request is captured with its parsed body and
// the status it got. The body is restored for h to read.
func (g *Google) record(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			writeAPIError(w, http.StatusRequestEntityTooLarge, "INVALID_ARGUMENT", "Request payload is too large.")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		rec := RecordedRequest{
			Endpoint:         endpointOf(r.URL.Path),
			Method:           r.Method,
			Path:             r.URL.Path,
			Query:            r.URL.Query(),
			Header:           r.Header.Clone(),
			ContentType:      mt,
			Body:             body,
			HasAuthorization: r.Header.Get("Authorization") != "",
		}
		switch mt {
		case "application/x-www-form-urlencoded":
			rec.Form, _ = url.ParseQuery(string(body))
		case "application/json":
			_ = json.Unmarshal(body, &rec.JSON)
		}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		rec.Status = sw.status
		g.mu.Lock()
		g.requests = append(g.requests, rec)
		g.mu.Unlock()
	})
}

func endpointOf(path string) string {
	switch {
	case path == "/v1/token":
		return EndpointSTS
	case strings.HasPrefix(path, "/v1/projects/"):
		return EndpointIAMCredentials
	case path == "/token" || path == "/oauth2/v4/token":
		return EndpointOAuth2Token
	case path == "/tokeninfo" || path == "/oauth2/v3/tokeninfo":
		return EndpointTokenInfo
	case path == "/revoke":
		return EndpointRevoke
	case strings.HasPrefix(path, "/service_accounts/") || strings.HasPrefix(path, "/robot/"):
		return EndpointCerts
	case path == "/" || strings.HasPrefix(path, "/computeMetadata/"):
		return EndpointMetadata
	}
	return EndpointUnknown
}

type statusWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wroteHeader {
		s.status, s.wroteHeader = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	s.wroteHeader = true
	return s.ResponseWriter.Write(b)
}
