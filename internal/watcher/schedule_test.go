package watcher

import (
	"testing"
	"time"
)

func TestSchedule(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name         string
		expiry       time.Time
		lifetime     time.Duration
		wantInterval time.Duration
		wantNext     time.Time
	}{
		// Google issued it 2 s after start (the mint's round trips) and
		// states the expiry to the second.
		{"half of token_lifetime from issue", start.Add(3602 * time.Second), time.Hour, 30 * time.Minute, start.Add(1802 * time.Second)},
		{"no expiry stated", time.Time{}, time.Hour, defaultInterval, start.Add(defaultInterval)},
		// The metadata server's own token, 40 min left, token_lifetime 12h.
		{"a token token_lifetime does not govern", start.Add(40 * time.Minute), 12 * time.Hour, 20 * time.Minute, start.Add(20 * time.Minute)},
		{"a token that came expired", start.Add(-time.Minute), time.Hour, minInterval, start.Add(minInterval)},
		{"a token about to expire", start.Add(4 * time.Second), time.Hour, minInterval, start.Add(minInterval)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			interval, next := schedule(start, tc.expiry, tc.lifetime)
			if interval != tc.wantInterval || !next.Equal(tc.wantNext) {
				t.Errorf("schedule = %s, next at +%s; want %s, +%s", interval, next.Sub(start), tc.wantInterval, tc.wantNext.Sub(start))
			}
		})
	}
}
