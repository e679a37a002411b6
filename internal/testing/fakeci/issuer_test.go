package fakeci

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/pullsecret/pullsecret/internal/testing/fakejwt"
)

// Each shape's iss, sub and project claims are as its CI documents them,
// and the JWKS its discovery document names verifies its tokens.
func TestShapes(t *testing.T) {
	sub := map[Shape]*regexp.Regexp{
		GitLab:    regexp.MustCompile(`^project_path:acme/platform/deploy:ref_type:branch:ref:main$`),
		CircleCI:  regexp.MustCompile(`^org/[0-9a-f-]{36}/project/[0-9a-f-]{36}/user/[0-9a-f-]{36}$`),
		Buildkite: regexp.MustCompile(`^organization:acme-inc:pipeline:deploy:ref:refs/heads/main:commit:[0-9a-f]{40}:step:deploy$`),
	}
	for _, s := range Shapes {
		i, err := New(Config{Shape: s})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(i.Handler())
		c := i.ClaimSet("aud")
		if got, _ := c["sub"].(string); !sub[s].MatchString(got) {
			t.Errorf("%s: sub %q", s, got)
		}
		if s == CircleCI && (c["aud"] != "1b2c3d4e-0000-4000-8000-00000000000a" || len(c["sub"].(string)) != 127) {
			t.Errorf("circleci: aud %v, sub %d bytes; want the org ID and 127", c["aud"], len(c["sub"].(string)))
		}
		path := "/.well-known/openid-configuration"
		if s == CircleCI {
			path = "/org/1b2c3d4e-0000-4000-8000-00000000000a" + path
		}
		var doc struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		get(t, srv.URL+path, &doc)
		var set fakejwt.JWKS
		get(t, doc.JWKSURI, &set)
		keys, err := set.PublicKeys()
		if err != nil {
			t.Fatal(err)
		}
		tok, err := i.Mint("aud")
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := fakejwt.Parse(tok)
		if err != nil || parsed.Verify(keys[parsed.KeyID()]) != nil || doc.Issuer != i.Issuer() {
			t.Errorf("%s: token does not verify with the published JWKS, or issuer %q != %q", s, doc.Issuer, i.Issuer())
		}
		srv.Close()
	}
}

func get(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(v) != nil {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
}
