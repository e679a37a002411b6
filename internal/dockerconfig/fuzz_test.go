package dockerconfig

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// FuzzBuild: for any registries and credentials Build either refuses or
// returns a payload kubelet can read back exactly, with every derived
// secret listed for masking.
func FuzzBuild(f *testing.F) {
	f.Add("gcr.io,*.gcr.io,*-docker.pkg.dev", UserAccessToken, "ya29.token")
	f.Add("localhost:5000", UserJSONKey, "{\"type\":\"service_account\"}\n")
	f.Fuzz(func(t *testing.T, registries, user, password string) {
		regs := strings.Split(registries, ",")
		payload, derived, err := Build(regs, user, password)
		if err != nil {
			return
		}
		var cfg Config
		if err := json.Unmarshal(payload, &cfg); err != nil {
			t.Fatalf("payload is not JSON: %v", err)
		}
		for _, r := range regs {
			e, ok := cfg.Auths[r]
			if !ok {
				// Invalid UTF-8 is replaced by encoding/json; such a key
				// cannot round-trip and is not a host name anyway.
				if !json.Valid([]byte(`"`+r+`"`)) || strings.ToValidUTF8(r, "\uFFFD") != r {
					continue
				}
				t.Fatalf("registry %q missing from the payload", r)
			}
			if strings.ToValidUTF8(user+password, "\uFFFD") != user+password {
				continue
			}
			if e.Username != user || e.Password != password {
				t.Fatalf("entry %q does not hold the credentials", r)
			}
			auth, err := base64.StdEncoding.DecodeString(e.Auth)
			if err != nil || string(auth) != user+":"+password {
				t.Fatalf("auth of %q does not decode to user:password", r)
			}
			if !slices.Contains(derived, e.Auth) {
				t.Fatal("auth field not listed for masking")
			}
		}
		if !slices.Contains(derived, base64.StdEncoding.EncodeToString(payload)) {
			t.Fatal("base64 payload not listed for masking")
		}
	})
}
