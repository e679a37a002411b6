package googleauth

import (
	"strings"
	"testing"
)

// When tokeninfo cannot be reached, the report says so instead of blaming
// the token's scopes ("token lacks userinfo.email scope"), and a warning
// says what happened.
func TestTokenInfoUnreachableSaysSo(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	tok, err := Mint(t.Context(), w.input(Input{AccessToken: "ya29.from-another-step", OAuthTokenEndpoint: "http://127.0.0.1:1/token"}), w.deps(nil, &masker{}))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(tok.Principal, "userinfo.email") || !strings.Contains(tok.Principal, "tokeninfo could not be reached") {
		t.Errorf("principal %q, want it to say tokeninfo could not be reached", tok.Principal)
	}
	if w := strings.Join(tok.Warnings, "\n"); !strings.Contains(w, "tokeninfo") || !strings.Contains(w, "127.0.0.1:1") {
		t.Errorf("warnings %q do not say what happened", w)
	}
}
