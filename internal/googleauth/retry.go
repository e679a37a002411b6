package googleauth

import (
	"io"
	"net/http"
	"strconv"
	"time"
)

// maxAttempts bounds how often one request is sent when Google answers
// 429 or 503, the two statuses its APIs document as "retry with exponential
// backoff" (https://cloud.google.com/apis/design/errors#error_retries,
// https://cloud.google.com/iam/docs/retry-strategy). Anything else fails at
// once: a 403 or 500 will not get better by asking again within one run.
const maxAttempts = 3

// Backoff between attempts, unless Google's Retry-After says otherwise; a
// Retry-After longer than maxRetryWait is not waited for.
const (
	firstBackoff = time.Second
	maxRetryWait = 10 * time.Second
)

// retryTransport resends a request answered 429 or 503, at most
// maxAttempts times in all. Waits end with the request's context, and the
// http.Client's Timeout bounds the whole exchange, waits included.
type retryTransport struct {
	base http.RoundTripper
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	backoff := firstBackoff
	for attempt := 1; ; attempt++ {
		resp, err := t.base.RoundTrip(req)
		if err != nil || attempt >= maxAttempts || !retryable(resp.StatusCode) {
			return resp, err
		}
		wait, ok := retryAfter(resp.Header.Get("Retry-After"), backoff)
		if !ok || (req.Body != nil && req.GetBody == nil) {
			return resp, nil
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		timer := time.NewTimer(wait)
		select {
		case <-req.Context().Done():
			timer.Stop()
			return nil, req.Context().Err()
		case <-timer.C:
		}
		backoff *= 2
		next := req.Clone(req.Context())
		if req.GetBody != nil {
			if next.Body, err = req.GetBody(); err != nil {
				return nil, err
			}
		}
		req = next
	}
}

func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable
}

// retryAfter returns how long to wait: Google's Retry-After (seconds or an
// HTTP date) when present, else the backoff. ok is false when Google asks
// for a wait longer than a run should stall.
func retryAfter(header string, backoff time.Duration) (time.Duration, bool) {
	if header == "" {
		return backoff, true
	}
	wait := backoff
	if secs, err := strconv.Atoi(header); err == nil && secs >= 0 {
		wait = time.Duration(secs) * time.Second
	} else if at, err := http.ParseTime(header); err == nil {
		wait = max(time.Until(at), 0)
	}
	return wait, wait <= maxRetryWait
}
