package fakegithub

import (
	"regexp"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/pullsecret/pullsecret/internal/testing/fakejwt"
)

var fixedNow = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

func TestMintClaims(t *testing.T) {
	t.Parallel()
	o, err := NewOIDC(OIDCConfig{Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := o.Mint("https://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/x")
	if err != nil {
		t.Fatal(err)
	}
	header, claims, err := fakejwt.VerifyRS256(tok, o.PublicKey())
	if err != nil {
		t.Fatalf("token does not verify under PublicKey: %v", err)
	}
	if diff := cmp.Diff(map[string]any{"alg": "RS256", "typ": "JWT", "kid": o.KeyID()}, header); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
	want := map[string]any{
		"iss":                   "https://token.actions.githubusercontent.com",
		"aud":                   "https://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/x",
		"sub":                   "repo:octo-org/octo-repo:ref:refs/heads/main",
		"repository":            "octo-org/octo-repo",
		"repository_owner":      "octo-org",
		"repository_id":         "123456789",
		"repository_owner_id":   "987654",
		"repository_visibility": "private",
		"ref":                   "refs/heads/main",
		"ref_type":              "branch",
		"sha":                   "0123456789abcdef0123456789abcdef01234567",
		"workflow":              "CI",
		"workflow_ref":          "octo-org/octo-repo/.github/workflows/ci.yml@refs/heads/main",
		"workflow_sha":          "0123456789abcdef0123456789abcdef01234567",
		"job_workflow_ref":      "octo-org/octo-repo/.github/workflows/ci.yml@refs/heads/main",
		"job_workflow_sha":      "0123456789abcdef0123456789abcdef01234567",
		"actor":                 "octocat",
		"actor_id":              "583231",
		"run_id":                "1234567890",
		"run_number":            "42",
		"run_attempt":           "1",
		"event_name":            "push",
		"runner_environment":    "github-hosted",
		"head_ref":              "",
		"base_ref":              "",
	}
	ignoreTimes := cmpopts.IgnoreMapEntries(func(k string, _ any) bool {
		return k == "iat" || k == "nbf" || k == "exp" || k == "jti"
	})
	if diff := cmp.Diff(want, claims, ignoreTimes); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
	for name, want := range map[string]time.Time{
		"iat": fixedNow,
		"nbf": fixedNow.Add(-10 * time.Minute),
		"exp": fixedNow.Add(5 * time.Minute),
	} {
		if got, ok := fakejwt.Time(claims, name); !ok || !got.Equal(want) {
			t.Errorf("%s = %v (ok=%v), want %v", name, got, ok, want)
		}
	}
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if jti, _ := fakejwt.String(claims, "jti"); !uuid.MatchString(jti) {
		t.Errorf("jti %q is not a v4 UUID", jti)
	}
}

func TestMintDefaultAudienceAndUniqueJTI(t *testing.T) {
	t.Parallel()
	o, err := NewOIDC(OIDCConfig{Claims: Claims{Repository: "acme/widgets"}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := o.ClaimSet("")
	if err != nil {
		t.Fatal(err)
	}
	b, err := o.ClaimSet("")
	if err != nil {
		t.Fatal(err)
	}
	if a["aud"] != "https://github.com/acme" {
		t.Errorf("default aud = %v, want https://github.com/acme", a["aud"])
	}
	if a["jti"] == b["jti"] {
		t.Error("two tokens share a jti")
	}
}

func TestClaimDerivation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		claims Claims
		want   map[string]any
	}{
		{
			name:   "environment subject",
			claims: Claims{Repository: "a/b", Environment: "prod"},
			want:   map[string]any{"sub": "repo:a/b:environment:prod", "environment": "prod", "repository_owner": "a"},
		},
		{
			name:   "pull request subject",
			claims: Claims{Repository: "a/b", EventName: "pull_request", Ref: "refs/pull/7/merge", HeadRef: "feature", BaseRef: "main"},
			want:   map[string]any{"sub": "repo:a/b:pull_request", "head_ref": "feature", "base_ref": "main", "ref_type": "branch"},
		},
		{
			name:   "tag ref",
			claims: Claims{Ref: "refs/tags/v1.2.3"},
			want:   map[string]any{"sub": "repo:octo-org/octo-repo:ref:refs/tags/v1.2.3", "ref_type": "tag"},
		},
		{
			name:   "explicit subject and extra claims win",
			claims: Claims{Subject: "custom", Extra: map[string]any{"actor": "hubot", "enterprise": "acme"}},
			want:   map[string]any{"sub": "custom", "actor": "hubot", "enterprise": "acme"},
		},
		{
			name:   "reusable workflow",
			claims: Claims{JobWorkflowRef: "org/shared/.github/workflows/deploy.yml@refs/heads/main"},
			want: map[string]any{
				"job_workflow_ref": "org/shared/.github/workflows/deploy.yml@refs/heads/main",
				"workflow_ref":     "octo-org/octo-repo/.github/workflows/ci.yml@refs/heads/main",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := tc.claims.withDefaults().workflowClaims()
			for k, want := range tc.want {
				if got[k] != want {
					t.Errorf("%s = %v, want %v", k, got[k], want)
				}
			}
			if _, ok := got["environment"]; ok != (tc.claims.Environment != "" || tc.claims.Extra["environment"] != nil) {
				t.Errorf("environment claim present = %v, want only when set", ok)
			}
		})
	}
}

func TestContextEnvMatchesClaims(t *testing.T) {
	t.Parallel()
	o, err := NewOIDC(OIDCConfig{Claims: Claims{Repository: "acme/widgets", Ref: "refs/tags/v2"}})
	if err != nil {
		t.Fatal(err)
	}
	env := o.ContextEnv()
	want := map[string]string{
		"GITHUB_REPOSITORY":       "acme/widgets",
		"GITHUB_REPOSITORY_OWNER": "acme",
		"GITHUB_REF":              "refs/tags/v2",
		"GITHUB_REF_NAME":         "v2",
		"GITHUB_REF_TYPE":         "tag",
		"GITHUB_ACTIONS":          "true",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
}
