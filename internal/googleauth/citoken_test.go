package googleauth

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pullsecret/pullsecret/internal/testing/fakegoogle"
)

// Another CI's OIDC ID token, from a file or an environment variable,
// replaces GitHub's endpoint: the job has no ACTIONS_ID_TOKEN_* variables
// at all, the token is masked, and the exchange works with impersonation
// and direct federation alike.
func TestCITokenReplacesGitHub(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	tok, err := w.github.Mint("https://iam.googleapis.com/" + provider)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "oidc-token")
	if err := os.WriteFile(file, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		in       Input
		wantKind fakegoogle.TokenKind
	}{
		{"file, impersonation", Input{WorkloadIdentityProvider: provider, ServiceAccount: puller, SubjectTokenFile: file}, fakegoogle.KindImpersonated},
		{"env, impersonation", Input{WorkloadIdentityProvider: provider, ServiceAccount: puller, SubjectTokenEnv: "CI_JOB_JWT_GCP"}, fakegoogle.KindImpersonated},
		{"env, direct federation", Input{WorkloadIdentityProvider: provider, SubjectTokenEnv: "CI_JOB_JWT_GCP"}, fakegoogle.KindFederated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := &masker{}
			got, err := Mint(t.Context(), w.input(tc.in), w.deps(map[string]string{"CI_JOB_JWT_GCP": tok}, m))
			if err != nil {
				t.Fatal(err)
			}
			if info, _ := w.google.Lookup(got.AccessToken); info.Kind != tc.wantKind {
				t.Errorf("token kind %q, want %q", info.Kind, tc.wantKind)
			}
			if !slices.Contains(m.got, tok) {
				t.Error("the CI's OIDC token was not masked")
			}
		})
	}
}

// An expired CI token fails before STS, naming the input and how to get a
// fresh one; a value that is no JWT at all too. Neither error quotes it.
func TestCITokenRefusedEarly(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	claims, err := w.github.ClaimSet("https://iam.googleapis.com/" + provider)
	if err != nil {
		t.Fatal(err)
	}
	claims["iat"], claims["exp"] = time.Now().Add(-time.Hour).Unix(), time.Now().Add(-50*time.Minute).Unix()
	expired, err := w.github.Sign(claims)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		value, want string
	}{
		"expired": {expired, "expired at"},
		"not JWT": {"not-a-token-at-all", "does not hold an OIDC ID token"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := Mint(t.Context(), w.input(Input{WorkloadIdentityProvider: provider, ServiceAccount: puller, SubjectTokenEnv: "CI_TOKEN"}),
				w.deps(map[string]string{"CI_TOKEN": tc.value}, &masker{}))
			var ie *InputError
			if !errors.As(err, &ie) || ie.Field != FieldOIDCTokenEnv || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want an InputError of %s containing %q", err, FieldOIDCTokenEnv, tc.want)
			}
			if strings.Contains(err.Error(), tc.value) {
				t.Error("the error quotes the token")
			}
			if n := len(w.google.RequestsTo(fakegoogle.EndpointSTS)); n != 0 {
				t.Errorf("%d STS requests for a token refused locally", n)
			}
		})
	}
}

// A CI token fresh by this machine's clock but stale by STS's points at
// the clocks, not at GitHub's 5-minute tokens.
func TestCITokenStaleAtSTSBlamesTheClocks(t *testing.T) {
	t.Parallel()
	w := newWorldWith(t, nil, func(c *fakegoogle.Config) { c.Now = func() time.Time { return time.Now().Add(time.Hour) } })
	tok, err := w.github.Mint("https://iam.googleapis.com/" + provider)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Mint(t.Context(), w.input(Input{WorkloadIdentityProvider: provider, ServiceAccount: puller, SubjectTokenEnv: "CI_TOKEN"}),
		w.deps(map[string]string{"CI_TOKEN": tok}, &masker{}))
	if err == nil || !strings.Contains(err.Error(), "by its own clock") || strings.Contains(err.Error(), "GitHub issues them") {
		t.Fatalf("error %v, want the clock hint and not GitHub's", err)
	}
}

// An expired token's error says how its own CI hands out a fresh one,
// told by the iss each CI documents; an unknown issuer gets them all.
func TestFreshTokenHintPerCI(t *testing.T) {
	t.Parallel()
	for iss, want := range map[string]string{
		"https://gitlab.com":               "id_tokens:",
		"https://oidc.circleci.com/org/1b": "$CIRCLE_OIDC_TOKEN_V2 in the job itself",
		"https://agent.buildkite.com":      "buildkite-agent oidc request-token in the step",
		"https://jenkins.example.com/oidc": "Jenkins: bind the OIDC credential",
	} {
		hint := freshTokenHint(iss)
		if !strings.Contains(hint, want) {
			t.Errorf("%s: hint %q lacks %q", iss, hint, want)
		}
		if iss != "https://jenkins.example.com/oidc" && strings.Contains(hint, ";") {
			t.Errorf("%s: hint %q names other CIs too", iss, hint)
		}
	}
}
