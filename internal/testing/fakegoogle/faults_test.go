package fakegoogle

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestInjectFault(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		fault     Fault
		url       func(base string) string
		header    http.Header
		want      int
		wantBody  map[string]any
		wantRetry string
	}{
		{
			name:     "sts 403 in OAuth form",
			fault:    Fault{Endpoint: EndpointSTS, Status: 403, Message: "Permission denied."},
			url:      STSTokenURL,
			header:   formHeader(),
			want:     403,
			wantBody: map[string]any{"error": "access_denied", "error_description": "Permission denied."},
		},
		{
			name:      "sts 429 from the front end",
			fault:     Fault{Endpoint: EndpointSTS, Status: 429, RetryAfter: "2"},
			url:       STSTokenURL,
			header:    formHeader(),
			want:      429,
			wantBody:  map[string]any{"error": map[string]any{"code": float64(429), "status": "RESOURCE_EXHAUSTED", "message": faultStatus[429][1]}},
			wantRetry: "2",
		},
		{
			name:     "iamcredentials 503",
			fault:    Fault{Endpoint: EndpointIAMCredentials, Status: 503},
			url:      func(b string) string { return GenerateAccessTokenURL(b, testSA) },
			header:   bearerJSON("x"),
			want:     503,
			wantBody: map[string]any{"error": map[string]any{"code": float64(503), "status": "UNAVAILABLE", "message": "The service is currently unavailable."}},
		},
		{
			name:     "oauth 500",
			fault:    Fault{Endpoint: EndpointOAuth2Token, Status: 500},
			url:      TokenURL,
			header:   formHeader(),
			want:     500,
			wantBody: map[string]any{"error": map[string]any{"code": float64(500), "status": "INTERNAL", "message": "Internal error encountered."}},
		},
		{
			name:     "other endpoints unaffected",
			fault:    Fault{Endpoint: EndpointIAMCredentials, Status: 500},
			url:      STSTokenURL,
			header:   formHeader(),
			want:     400,
			wantBody: map[string]any{"error": "unsupported_grant_type", "error_description": "Invalid value for \"grant_type\": \"\" is not supported."},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, nil, nil)
			tc.fault.Times = 1
			w.google.InjectFault(tc.fault)
			r := do(t, http.MethodPost, tc.url(w.url), tc.header)
			var body map[string]any
			_ = json.Unmarshal([]byte(r.body), &body)
			if r.status != tc.want || r.header.Get("Retry-After") != tc.wantRetry {
				t.Errorf("status %d Retry-After %q, want %d %q", r.status, r.header.Get("Retry-After"), tc.want, tc.wantRetry)
			}
			if diff := cmp.Diff(tc.wantBody, body); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
			// Times: 1 is used up: the endpoint answers for itself again.
			if again := do(t, http.MethodPost, tc.url(w.url), tc.header); again.status == tc.fault.Status {
				t.Errorf("second request got the fault again: %+v", again)
			}
		})
	}
}

func TestInjectFaultBodies(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil, func(c *Config) { c.DefaultServiceAccount = metadataSA })
	w.google.InjectFault(Fault{Endpoint: EndpointSTS, Status: 403, Message: "Permission denied."})
	status, body := call(t, http.MethodPost, STSTokenURL(w.url), formHeader(), "")
	if diff := cmp.Diff(map[string]any{"error": "access_denied", "error_description": "Permission denied."}, body); status != 403 || diff != "" {
		t.Errorf("status %d, body (-want +got):\n%s", status, diff)
	}

	w.google.InjectFault(Fault{Endpoint: EndpointMetadata, Malformed: true, Times: 1})
	resp := get(t, w.url+"/computeMetadata/v1/instance/service-accounts/default/token", http.Header{"Metadata-Flavor": {"Google"}})
	if resp.status != 200 || resp.header.Get("Metadata-Flavor") != "Google" || resp.body != `{"access_token": "ya29.trunc` {
		t.Errorf("malformed metadata answer %+v", resp)
	}

	// A stalled answer ends only when the client gives up.
	w.google.InjectFault(Fault{Endpoint: EndpointMetadata, Stall: true, Times: 1})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, w.url+"/computeMetadata/v1/project/project-id", nil)
	req.Header.Set("Metadata-Flavor", "Google")
	if _, err := http.DefaultClient.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("stalled request: %v, want the client's deadline", err)
	}
	if r := get(t, w.url+"/computeMetadata/v1/project/project-id", http.Header{"Metadata-Flavor": {"Google"}}); r.status != 200 {
		t.Errorf("after the stall: %+v", r)
	}

	w.google.ClearFaults()
	if status, _ := call(t, http.MethodPost, STSTokenURL(w.url), formHeader(), ""); status != 400 {
		t.Errorf("after ClearFaults: status %d, want the endpoint's own 400", status)
	}
}

type rawResp struct {
	status int
	header http.Header
	body   string
}

func get(t *testing.T, u string, h http.Header) rawResp {
	t.Helper()
	return do(t, http.MethodGet, u, h)
}

func do(t *testing.T, method, u string, h http.Header) rawResp {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return rawResp{resp.StatusCode, resp.Header, string(b)}
}
