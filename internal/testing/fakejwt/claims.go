package fakejwt

import (
	"encoding/json"
	"math"
	"time"
)

// String returns claims[name] if it is a JSON string.
func String(claims map[string]any, name string) (string, bool) {
	s, ok := claims[name].(string)
	return s, ok
}

// Int64 returns claims[name] as an integer if it is a JSON number with no
// fractional part. It accepts json.Number (what Parse produces) as well as
// float64 and Go integers, so it also works on maps built by hand.
func Int64(claims map[string]any, name string) (int64, bool) {
	switch v := claims[name].(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i, true
		}
		f, err := v.Float64()
		if err != nil || f != math.Trunc(f) {
			return 0, false
		}
		return int64(f), true
	case float64:
		if v != math.Trunc(v) {
			return 0, false
		}
		return int64(v), true
	case int64:
		return v, true
	case int:
		return int64(v), true
	}
	return 0, false
}

// Time returns a NumericDate claim (exp, iat, nbf) as a time.Time.
func Time(claims map[string]any, name string) (time.Time, bool) {
	n, ok := Int64(claims, name)
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(n, 0), true
}

// Audiences returns the "aud" claim as a list. RFC 7519 section 4.1.3 allows
// either a single string or an array of strings; GitHub sends a string and
// other issuers send arrays, so verifiers must handle both.
func Audiences(claims map[string]any) []string {
	switch v := claims["aud"].(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, a := range v {
			if s, ok := a.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return append([]string(nil), v...)
	}
	return nil
}
