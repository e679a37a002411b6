package refresher

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pullsecret/pullsecret/internal/testing/fakeci"
	"github.com/pullsecret/pullsecret/internal/testing/fakegoogle"
)

const ciProvider = "projects/123456/locations/global/workloadIdentityPools/ci/providers/deploy"

// projectClaim is the claim each CI's condition pins, to forge another
// project's token with the same (trusted) key.
var projectClaim = map[fakeci.Shape]string{
	fakeci.GitLab:    "project_path",
	fakeci.CircleCI:  "oidc.circleci.com/project-id",
	fakeci.Buildkite: "pipeline_slug",
}

// The provider --print-wif-setup --ci prints, given to the fake STS with
// its very mapping and condition text, admits the CI's tokens of the
// project, refuses another project's and a wrong audience, and maps a
// google.subject within 127 bytes.
func TestCISetupAgainstSTS(t *testing.T) {
	for _, shape := range fakeci.Shapes {
		t.Run(string(shape), func(t *testing.T) {
			iss, err := fakeci.New(fakeci.Config{Shape: shape})
			if err != nil {
				t.Fatal(err)
			}
			ciSrv := httptest.NewServer(iss.Handler())
			defer ciSrv.Close()
			ci, err := NewCI(string(shape), fakeci.DefaultProject(shape), "", ciProvider)
			if err != nil {
				t.Fatal(err)
			}
			if ci.Issuer != iss.Issuer() {
				t.Fatalf("printed issuer %q, the CI's tokens carry %q", ci.Issuer, iss.Issuer())
			}
			p, err := iss.Provider(ciProvider, ciSrv.URL+iss.JWKSPath(), ci.Audience, ci.Mapping, ci.Condition)
			if err != nil {
				t.Fatal(err)
			}
			g, err := fakegoogle.New(fakegoogle.Config{Providers: []fakegoogle.Provider{p}})
			if err != nil {
				t.Fatal(err)
			}
			gSrv := httptest.NewServer(g.Handler())
			defer gSrv.Close()
			exchange := func(claims map[string]any) (int, map[string]any) {
				tok, err := iss.Sign(claims)
				if err != nil {
					t.Fatal(err)
				}
				resp, err := http.PostForm(fakegoogle.STSTokenURL(gSrv.URL), url.Values{
					"grant_type": {fakegoogle.GrantTypeTokenExchange}, "audience": {"//iam.googleapis.com/" + ciProvider},
					"scope": {fakegoogle.ScopeCloudPlatform}, "requested_token_type": {fakegoogle.TokenTypeAccessToken},
					"subject_token": {tok}, "subject_token_type": {fakegoogle.TokenTypeJWT},
				})
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var body map[string]any
				_ = json.NewDecoder(resp.Body).Decode(&body)
				return resp.StatusCode, body
			}

			status, body := exchange(iss.ClaimSet(ci.Audience))
			if status != http.StatusOK {
				t.Fatalf("the project's token: %d %v", status, body)
			}
			info, _ := g.Lookup(body["access_token"].(string))
			if len(info.Subject) == 0 || len(info.Subject) > MaxSubjectBytes || info.Attributes[ci.ProjectAttribute] != ci.ProjectValue {
				t.Errorf("subject %q (%d bytes), attributes %v; want at most %d bytes and %s=%s", info.Subject, len(info.Subject), info.Attributes, MaxSubjectBytes, ci.ProjectAttribute, ci.ProjectValue)
			}

			other := iss.ClaimSet(ci.Audience)
			other[projectClaim[shape]] = "other"
			if status, body := exchange(other); status != http.StatusBadRequest || body["error"] != "unauthorized_client" {
				t.Errorf("another project's token: %d %v, want the attribute condition's unauthorized_client", status, body)
			}
			wrongAud := iss.ClaimSet(ci.Audience)
			wrongAud["aud"] = "https://example.com"
			if status, body := exchange(wrongAud); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
				t.Errorf("wrong audience: %d %v, want invalid_grant", status, body)
			}
			expired := iss.ClaimSet(ci.Audience)
			expired["iat"], expired["exp"] = time.Now().Add(-2*time.Hour).Unix(), time.Now().Add(-time.Hour).Unix()
			if status, _ := exchange(expired); status != http.StatusBadRequest {
				t.Errorf("expired token: %d, want 400", status)
			}
		})
	}
}

func TestCISetupCommands(t *testing.T) {
	for _, shape := range fakeci.Shapes {
		ci, err := NewCI(string(shape), fakeci.DefaultProject(shape), "", ciProvider)
		if err != nil {
			t.Fatal(err)
		}
		out, err := CISetupCommands(ci, ciProvider, "puller@p.iam.gserviceaccount.com")
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{
			"--issuer-uri=" + shellQuote(ci.Issuer), "--allowed-audiences=" + shellQuote(ci.Audience),
			"--attribute-mapping=" + shellDoubleQuote(ci.MappingFlag()), "--attribute-condition=" + shellDoubleQuote(ci.Condition),
			"attribute." + ci.ProjectAttribute + "/" + ci.ProjectValue,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: output lacks %s:\n%s", shape, want, out)
			}
		}
	}
	if ci, _ := NewCI("gitlab", "group/app", "https://gitlab.example.com/", ciProvider); ci.Issuer != "https://gitlab.example.com" {
		t.Errorf("self-managed issuer %q", ci.Issuer)
	}
	for _, bad := range [][2]string{{"jenkins", "a/b"}, {"gitlab", "app"}, {"gitlab", "g/a'; rm -rf /"}, {"circleci", "org/project"}, {"buildkite", "Acme/Deploy"}} {
		if _, err := NewCI(bad[0], bad[1], "", ciProvider); err == nil {
			t.Errorf("NewCI(%q, %q) accepted", bad[0], bad[1])
		}
	}
	ci, _ := NewCI("gitlab", "group/app", "", ciProvider)
	if _, err := CISetupCommands(ci, "projects/p/bad", ""); err == nil {
		t.Error("a malformed provider was accepted")
	}
}
