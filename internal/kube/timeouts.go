package kube

import (
	"time"

	"k8s.io/client-go/rest"
)

// DefaultRequestTimeout bounds one API call, client-go's retries included.
const DefaultRequestTimeout = 30 * time.Second

// retryAndTimeout bounds every API call so that a stalled response cannot
// hang a run: rest.Config.Timeout becomes the http.Client timeout and a
// deadline over client-go's retries, and the per-call limit of pullsecret's
// own retries after connection errors (retry.go). Both are bounded:
// client-go retries a 429 or 5xx only when the server sends Retry-After
// (honouring it), at most 10 times, each retry passing the client's rate
// limiter; retry.go waits growing, jittered intervals, and gives a server
// that stays unreachable one limit in all, so they cannot storm.
func retryAndTimeout(rc *rest.Config, timeout time.Duration) {
	if timeout <= 0 {
		timeout = DefaultRequestTimeout
	}
	rc.Timeout = timeout
}
