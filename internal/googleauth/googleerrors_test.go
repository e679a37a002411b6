package googleauth

import (
	"strings"
	"testing"
	"time"

	"github.com/pullsecret/pullsecret/internal/testing/check"
	"github.com/pullsecret/pullsecret/internal/testing/fakegithub"
	"github.com/pullsecret/pullsecret/internal/testing/fakegoogle"
)

// An API not enabled in the project (Google's 403 SERVICE_DISABLED) is
// explained as that, naming the API to enable, on every path that calls
// it, and never as a missing grant.
func TestServiceDisabledNamesTheAPI(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		disabled string
		in       Input
		wif      bool
		adc      bool
	}{
		{name: "STS for federation", disabled: "sts.googleapis.com", in: Input{WorkloadIdentityProvider: provider, ServiceAccount: puller}, wif: true},
		{name: "IAM Credentials for federation", disabled: "iamcredentials.googleapis.com", in: Input{WorkloadIdentityProvider: provider, ServiceAccount: puller}, wif: true},
		{name: "IAM Credentials for a key's lifetime", disabled: "iamcredentials.googleapis.com", in: Input{Key: []byte("KEY"), TokenLifetime: 30 * time.Minute}},
		{name: "IAM Credentials for the metadata server", disabled: "iamcredentials.googleapis.com", adc: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorldWith(t, nil, func(c *fakegoogle.Config) { c.DisabledServices = []string{tc.disabled} })
			in := tc.in
			if string(in.Key) == "KEY" {
				in.Key = w.key
			}
			env := map[string]string{"HOME": t.TempDir()}
			if tc.wif {
				env = w.env
			}
			_, err := Mint(t.Context(), w.input(in), w.deps(env, &masker{}))
			if d := check.ErrDiff(err, "Google API "+tc.disabled+" is not enabled in project 123456", "gcloud services enable "+tc.disabled); d != "" {
				t.Fatal(d)
			}
			if strings.Contains(err.Error(), "serviceAccountTokenCreator") || strings.Contains(err.Error(), "workloadIdentityUser") {
				t.Errorf("error blames a grant: %v", err)
			}
		})
	}
}

// STS refuses a mapped google.subject over 127 bytes (GitHub's sub grows
// with the branch name); the error says to fix the mapping, and the
// mapping docs/iam-setup.md gives works for the same token.
func TestSubjectOver127Bytes(t *testing.T) {
	t.Parallel()
	longRef := func(c *fakegithub.OIDCConfig) {
		c.Claims.Ref = "refs/heads/feature/" + strings.Repeat("a-very-long-branch-name-", 5)
	}
	w := newWorldWith(t, longRef, nil)
	_, err := Mint(t.Context(), w.input(Input{WorkloadIdentityProvider: provider, ServiceAccount: puller}), w.deps(w.env, &masker{}))
	if d := check.ErrDiff(err, "127", "attribute mapping", "docs/iam-setup.md", "google.subject exceeds the 127 bytes limit"); d != "" {
		t.Fatal(d)
	}

	safe := newWorldWith(t, longRef, func(c *fakegoogle.Config) {
		c.Providers[0].AttributeMapping = map[string]string{
			"google.subject":       "assertion.repository_id + '/' + assertion.run_id + '/' + assertion.run_attempt",
			"attribute.repository": "assertion.repository",
		}
	})
	if _, err := Mint(t.Context(), safe.input(Input{WorkloadIdentityProvider: provider, ServiceAccount: puller}), safe.deps(safe.env, &masker{})); err != nil {
		t.Fatalf("with the documented mapping: %v", err)
	}
}

// IAM grants apply minutes after add-iam-policy-binding: a run right
// after the grant is refused and told so; once it applied the same run
// works.
func TestGrantPropagation(t *testing.T) {
	t.Parallel()
	clk := &clock{now: time.Now()}
	// GitHub and Google share the clock, so advancing it ages neither
	// token's iat nor exp against the other.
	w := newWorldWith(t, func(c *fakegithub.OIDCConfig) { c.Now = clk.Now }, func(c *fakegoogle.Config) {
		c.Now = clk.Now
		c.GrantPropagation = 2 * time.Minute
	})
	const fresh = "fresh@e2e-proj.iam.gserviceaccount.com"
	if err := w.google.Grant(fresh, fakegoogle.AttributePrincipalSet(provider, "repository", "octo-org/octo-repo")); err != nil {
		t.Fatal(err)
	}
	in := w.input(Input{WorkloadIdentityProvider: provider, ServiceAccount: fresh})
	_, err := Mint(t.Context(), in, w.deps(w.env, &masker{}))
	if d := check.ErrDiff(err, "iam.serviceAccounts.getAccessToken", "granted in the last few minutes", "workloadIdentityUser"); d != "" {
		t.Fatal(d)
	}
	clk.Advance(3 * time.Minute)
	if _, err := Mint(t.Context(), in, w.deps(w.env, &masker{})); err != nil {
		t.Fatalf("after the grant applied: %v", err)
	}
}
