package googleauth

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/pullsecret/pullsecret/internal/testing/fakegoogle"
)

// With oauth_token_endpoint set (Private Service Connect) the assertion is
// posted there but must still name Google's audience: Google answers
// "Invalid JWT: Failed audience check" to anything else.
func TestKeyAssertionKeepsGoogleAudience(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	adcFile := writeADC(t, w.key)
	cases := []struct {
		name string
		in   Input
		env  map[string]string
	}{
		{
			name: "credentials_json",
			in:   Input{Key: w.key},
		},
		{
			name: "adc key file",
			env:  map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": adcFile},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(w.google.RequestsTo(fakegoogle.EndpointOAuth2Token))
			if _, err := Mint(t.Context(), w.input(tc.in), w.deps(tc.env, &masker{})); err != nil {
				t.Fatal(err)
			}
			reqs := w.google.RequestsTo(fakegoogle.EndpointOAuth2Token)[before:]
			if len(reqs) != 1 {
				t.Fatalf("%d token requests", len(reqs))
			}
			parts := strings.Split(reqs[0].Form.Get("assertion"), ".")
			if len(parts) != 3 {
				t.Fatal("assertion is not a JWT")
			}
			payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
			var claims struct {
				Aud string `json:"aud"`
			}
			if err := json.Unmarshal(payload, &claims); err != nil {
				t.Fatal(err)
			}
			if claims.Aud != "https://oauth2.googleapis.com/token" {
				t.Errorf("assertion aud %q, want https://oauth2.googleapis.com/token", claims.Aud)
			}
		})
	}
}
