package googleauth

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pullsecret/pullsecret/internal/testing/check"
	"github.com/pullsecret/pullsecret/internal/testing/fakegithub"
	"github.com/pullsecret/pullsecret/internal/testing/fakegoogle"
)

// Google failing in each way it can, on each endpoint a run calls: a clear
// error carrying Google's message, retries only for 429/503 (which Google
// documents as retryable, https://cloud.google.com/storage/docs/retry-strategy
// and https://developers.google.com/identity/protocols/oauth2/service-account#error-codes)
// and only a bounded number of times, and never a hang.
func TestGoogleFaults(t *testing.T) {
	t.Parallel()
	paths := []struct {
		name      string
		in        Input
		env       func(w *world) map[string]string
		endpoints []string
	}{
		{
			name:      "wif",
			in:        Input{WorkloadIdentityProvider: provider, ServiceAccount: puller},
			env:       func(w *world) map[string]string { return w.env },
			endpoints: []string{fakegoogle.EndpointSTS, fakegoogle.EndpointIAMCredentials},
		},
		{
			name:      "key",
			in:        Input{Key: []byte("KEY")},
			env:       func(*world) map[string]string { return nil },
			endpoints: []string{fakegoogle.EndpointOAuth2Token},
		},
		{
			name:      "key 30m",
			in:        Input{Key: []byte("KEY"), TokenLifetime: 30 * time.Minute},
			env:       func(*world) map[string]string { return nil },
			endpoints: []string{fakegoogle.EndpointIAMCredentials},
		},
		{
			name:      "metadata",
			env:       func(*world) map[string]string { return map[string]string{"HOME": "/nonexistent"} },
			endpoints: []string{fakegoogle.EndpointMetadata, fakegoogle.EndpointIAMCredentials},
		},
	}
	const msg = "Denied by the test's organisation policy."
	const timedOut = "<timed out>"
	faults := []struct {
		name      string
		fault     fakegoogle.Fault
		ok        bool
		want      []string
		attempts  int // requests answered with the fault
		timeout   time.Duration
		notInBody string
	}{
		{
			name:     "403",
			fault:    fakegoogle.Fault{Status: 403, Message: msg},
			want:     []string{msg, "403"},
			attempts: 1,
		},
		{
			name:     "429 once",
			fault:    fakegoogle.Fault{Status: 429, RetryAfter: "0", Times: 1},
			ok:       true,
			attempts: 1,
		},
		{
			name:     "503 once",
			fault:    fakegoogle.Fault{Status: 503, RetryAfter: "0", Times: 1},
			ok:       true,
			attempts: 1,
		},
		{
			name:     "429 always",
			fault:    fakegoogle.Fault{Status: 429, RetryAfter: "0"},
			want:     []string{"Quota exceeded", "429"},
			attempts: maxAttempts,
		},
		{
			name:     "500",
			fault:    fakegoogle.Fault{Status: 500},
			want:     []string{"Internal error encountered.", "500"},
			attempts: 1,
		},
		{
			name:      "malformed JSON",
			fault:     fakegoogle.Fault{Malformed: true},
			want:      []string{"JSON"},
			attempts:  1,
			notInBody: "ya29.trunc",
		},
		{
			name:     "stalled",
			fault:    fakegoogle.Fault{Stall: true},
			want:     []string{timedOut},
			attempts: 1,
			timeout:  2 * time.Second,
		},
	}
	for _, p := range paths {
		for _, endpoint := range p.endpoints {
			for _, f := range faults {
				t.Run(p.name+"/"+endpoint+"/"+f.name, func(t *testing.T) {
					t.Parallel()
					w := newWorld(t, 0)
					in := p.in
					if string(in.Key) == "KEY" {
						in.Key = w.key
					}
					fault := f.fault
					fault.Endpoint = endpoint
					w.google.InjectFault(fault)
					d := w.deps(p.env(w), &masker{})
					if f.timeout > 0 {
						d.HTTPClient = &http.Client{Timeout: f.timeout}
					}
					tok, err := Mint(t.Context(), w.input(in), d)
					faulted := 0
					for _, r := range w.google.RequestsTo(endpoint) {
						if (fault.Status != 0 && r.Status == fault.Status) || (fault.Status == 0 && r.Status == http.StatusOK && fault.Malformed) {
							faulted++
						}
					}
					if f.ok {
						if err != nil {
							t.Fatalf("Mint failed after one retryable answer: %v", err)
						}
						if _, issued := w.google.Lookup(tok.AccessToken); !issued {
							t.Error("token not issued by the fake")
						}
					} else {
						if err == nil {
							t.Fatal("Mint succeeded")
						}
						for _, s := range f.want {
							if s == timedOut {
								// Which timer fires first (the client's, the
								// transport's header wait, the context's) is
								// the scheduler's choice; each says it gave up.
								if msg := strings.ToLower(err.Error()); !strings.Contains(msg, "deadline exceeded") && !strings.Contains(msg, "timeout") {
									t.Errorf("error %q does not say the request timed out", err)
								}
								continue
							}
							if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(s)) {
								t.Errorf("error %q lacks %q", err, s)
							}
						}
						if f.notInBody != "" && strings.Contains(err.Error(), f.notInBody) {
							t.Errorf("error echoes the response body: %q", err)
						}
					}
					if fault.Status != 0 && faulted != f.attempts {
						t.Errorf("%d requests answered %d, want %d", faulted, fault.Status, f.attempts)
					}
				})
			}
		}
	}
}

// Retry-After is honoured, but a wait longer than a run should take is not:
// the run fails at once with Google's message.
func TestRetryAfterTooLong(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	w.google.InjectFault(fakegoogle.Fault{Endpoint: fakegoogle.EndpointOAuth2Token, Status: 429, RetryAfter: "3600"})
	_, err := Mint(t.Context(), w.input(Input{Key: w.key}), w.deps(nil, &masker{}))
	if check.ErrDiff(err, "Quota exceeded") != "" {
		t.Fatalf("error %v, want Google's quota message", err)
	}
	if n := len(w.google.RequestsTo(fakegoogle.EndpointOAuth2Token)); n != 1 {
		t.Errorf("%d token requests, want 1 (no retry when told to wait an hour)", n)
	}
}

// A GitHub OIDC token that expired before it reached STS (GitHub's live 5
// minutes) fails with Google's reason and what to check.
func TestExpiredGitHubToken(t *testing.T) {
	t.Parallel()
	w := newWorldWith(t, func(c *fakegithub.OIDCConfig) { c.Now = func() time.Time { return time.Now().Add(-6 * time.Minute) } }, nil)
	_, err := Mint(t.Context(), w.input(Input{WorkloadIdentityProvider: provider, ServiceAccount: puller}), w.deps(w.env, &masker{}))
	if err == nil {
		t.Fatal("Mint succeeded with an expired subject token")
	}
	for _, want := range []string{provider, "is stale to sign-in", "expired"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
