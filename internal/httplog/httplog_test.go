package httplog

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestWrapLogsMethodPathStatusDurationOnly(t *testing.T) {
	t.Parallel()
	const secret = "ya29.secret-token-value"
	cases := []struct {
		name string
		url  string
		resp *http.Response
		err  error
		want string
	}{
		{
			name: "success drops query, fragment and user information",
			url:  "https://user:" + secret + "@oauth2.example/tokeninfo?access_token=" + secret + "#" + secret,
			resp: &http.Response{StatusCode: 200, Body: http.NoBody},
			want: "HTTP GET oauth2.example/tokeninfo 200 (750ms)",
		},
		{
			name: "API server path",
			url:  "https://10.0.0.1:6443/api/v1/namespaces/preview-1/secrets/gcr-pull-secret",
			resp: &http.Response{StatusCode: 404, Body: http.NoBody},
			want: "HTTP GET 10.0.0.1:6443/api/v1/namespaces/preview-1/secrets/gcr-pull-secret 404 (750ms)",
		},
		{
			name: "transport error",
			url:  "https://127.0.0.1:1/api?token=" + secret,
			err:  errors.New("dial tcp 127.0.0.1:1: connect: connection refused"),
			want: "HTTP GET 127.0.0.1:1/api: dial tcp 127.0.0.1:1: connect: connection refused (750ms)",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var lines []string
			rt := Wrap(func(f string, a ...any) { lines = append(lines, fmt.Sprintf(f, a...)) })(roundTripFunc(func(*http.Request) (*http.Response, error) {
				return tc.resp, tc.err
			}))
			clock := time.Unix(0, 0)
			rt.(*transport).now = func() time.Time { clock = clock.Add(750 * time.Millisecond); return clock }
			req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, tc.url, strings.NewReader("body "+secret))
			req.Header.Set("Authorization", "Bearer "+secret)
			_, _ = rt.RoundTrip(req)
			if diff := cmp.Diff([]string{tc.want}, lines); diff != "" {
				t.Errorf("logged (-want +got):\n%s", diff)
			}
			if strings.Contains(strings.Join(lines, "\n"), secret) {
				t.Error("the token was logged")
			}
		})
	}
}
