package kube

import (
	"time"

	"k8s.io/client-go/rest"
)

// DefaultRequestTimeout bounds one API call, client-go's retries included.
const DefaultRequestTimeout = 30 * time.Second

// retryAndTimeout bounds every API call so that a stalled response cannot
// hang a run: rest.Config.Timeout becomes the http.Client timeout and a
// deadline over client-go's retries. Those retries are already bounded:
// client-go retries a 429 or 5xx only when the server sends Retry-After
// (honouring it), and a connection reset only for GET, at most 10 times,
// each retry passing the client's rate limiter, so they cannot storm.
func retryAndTimeout(rc *rest.Config, timeout time.Duration) {
	if timeout <= 0 {
		timeout = DefaultRequestTimeout
	}
	rc.Timeout = timeout
}
