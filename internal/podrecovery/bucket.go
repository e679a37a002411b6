package podrecovery

import "time"

// bucket is a token bucket: size tokens, refilled at size per period. It
// reads the clock it is given, so tests drive it without waiting.
type bucket struct {
	tokens, size float64
	perSecond    float64
	last         time.Time
}

func newBucket(size int, period time.Duration, now time.Time) bucket {
	return bucket{tokens: float64(size), size: float64(size), perSecond: float64(size) / period.Seconds(), last: now}
}

// take spends one token if there is one.
func (b *bucket) take(now time.Time) bool {
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = min(b.size, b.tokens+elapsed*b.perSecond)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
