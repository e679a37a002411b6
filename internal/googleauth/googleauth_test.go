package googleauth

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	githubactions "github.com/sethvargo/go-githubactions"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/testing/check"
	"github.com/pullsecret/pullsecret/internal/testing/fakegithub"
	"github.com/pullsecret/pullsecret/internal/testing/fakegoogle"
)

const (
	provider = "projects/123456/locations/global/workloadIdentityPools/gh/providers/gh"
	puller   = "puller@p.iam.gserviceaccount.com"
	keyed    = "keyed@p.iam.gserviceaccount.com"
	node     = "node@p.iam.gserviceaccount.com"
)

// world is a hermetic Google + GitHub on httptest servers.
type world struct {
	google    *fakegoogle.Google
	github    *fakegithub.OIDC
	googleURL string
	env       map[string]string
	key       []byte
}

func newWorld(t *testing.T, maxLifetime time.Duration) *world {
	t.Helper()
	return newWorldWith(t, fakegithub.OIDCConfig{}, func(c *fakegoogle.Config) { c.MaxLifetime = maxLifetime })
}

// newWorldWith is newWorld with the issuer's config and an edit of
// Google's. The key's and the node's accounts hold
// roles/iam.serviceAccountTokenCreator on themselves unless edit removes
// the node's grant.
func newWorldWith(t *testing.T, ghCfg fakegithub.OIDCConfig, edit func(*fakegoogle.Config)) *world {
	t.Helper()
	gh, err := fakegithub.NewOIDC(ghCfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg := fakegoogle.Config{
		Providers: []fakegoogle.Provider{{Name: provider, IssuerURI: gh.Issuer(), PublicKeys: map[string]*rsa.PublicKey{gh.KeyID(): gh.PublicKey()}}},
		ServiceAccounts: []fakegoogle.ServiceAccount{
			{Email: puller, Impersonators: []string{fakegoogle.AttributePrincipalSet(provider, "repository", "octo-org/octo-repo")}},
			{Email: node, Impersonators: []string{fakegoogle.ServiceAccountMember(node)}},
			{Email: keyed, Impersonators: []string{fakegoogle.ServiceAccountMember(keyed)}},
		},
		DefaultServiceAccount: node,
	}
	if edit != nil {
		edit(&cfg)
	}
	g, err := fakegoogle.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	gs := httptest.NewServer(g.Handler())
	t.Cleanup(gs.Close)
	hs := httptest.NewServer(gh.Handler())
	t.Cleanup(hs.Close)
	key, err := g.NewServiceAccountKey(keyed, "")
	if err != nil {
		t.Fatal(err)
	}
	return &world{google: g, github: gh, googleURL: gs.URL, env: gh.Env(hs.URL), key: key}
}

// load builds a validated config with every endpoint on the fake.
func (w *world) load(t *testing.T, inputs map[string]string) *config.Config {
	t.Helper()
	all := map[string]string{
		config.InSTSEndpoint:            fakegoogle.STSTokenURL(w.googleURL),
		config.InIAMCredentialsEndpoint: w.googleURL,
		config.InOAuthTokenEndpoint:     fakegoogle.TokenURL(w.googleURL),
		config.InMetadataEndpoint:       w.googleURL,
	}
	for k, v := range inputs {
		all[k] = v
	}
	c, err := config.Load(check.Lookup(all))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type masker struct {
	mu  sync.Mutex
	got []string
}

func (m *masker) mask(s string) { m.mu.Lock(); m.got = append(m.got, s); m.mu.Unlock() }

func (w *world) deps(env map[string]string, m *masker) Deps {
	getenv := func(k string) string { return env[k] }
	return Deps{
		Getenv:   getenv,
		ReadFile: os.ReadFile,
		IDToken:  githubactions.New(githubactions.WithGetenv(getenv)),
		Mask:     m.mask,
	}
}

func TestMintEachSource(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	adcFile := writeADC(t, w.key)
	cases := []struct {
		name      string
		inputs    map[string]string
		env       map[string]string
		wantKind  fakegoogle.TokenKind
		wantEmail string
		lifetime  time.Duration
		warns     bool
	}{
		{
			name:      "wif impersonation",
			inputs:    map[string]string{config.InWorkloadIdentityProvider: provider, config.InServiceAccount: puller},
			env:       w.env,
			wantKind:  fakegoogle.KindImpersonated,
			wantEmail: puller,
			lifetime:  time.Hour,
		},
		{
			name:      "wif impersonation 30m",
			inputs:    map[string]string{config.InWorkloadIdentityProvider: provider, config.InServiceAccount: puller, config.InTokenLifetime: "1800s"},
			env:       w.env,
			wantKind:  fakegoogle.KindImpersonated,
			wantEmail: puller,
			lifetime:  30 * time.Minute,
		},
		{
			name:     "wif direct warns",
			inputs:   map[string]string{config.InWorkloadIdentityProvider: provider},
			env:      w.env,
			wantKind: fakegoogle.KindFederated,
			warns:    true,
		},
		{
			name:      "key",
			inputs:    map[string]string{config.InCredentialsJSON: "KEY"},
			wantKind:  fakegoogle.KindJWTBearer,
			wantEmail: keyed,
			lifetime:  time.Hour,
		},
		{
			name:      "key 2h self-impersonates",
			inputs:    map[string]string{config.InCredentialsJSON: "KEY", config.InTokenLifetime: "2h"},
			wantKind:  fakegoogle.KindImpersonated,
			wantEmail: keyed,
			lifetime:  2 * time.Hour,
		},
		{
			name:      "key json_key warns",
			inputs:    map[string]string{config.InCredentialsJSON: "KEY", config.InCredentialMode: "json_key"},
			wantKind:  fakegoogle.KindJWTBearer,
			wantEmail: keyed,
			lifetime:  time.Hour,
			warns:     true,
		},
		{
			name:      "adc file",
			env:       map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": adcFile},
			wantKind:  fakegoogle.KindJWTBearer,
			wantEmail: keyed,
			lifetime:  time.Hour,
		},
		// The metadata server's token only authenticates the call that
		// mints a token of token_lifetime for the node's account.
		{
			name:      "adc metadata",
			env:       map[string]string{"HOME": t.TempDir()},
			wantKind:  fakegoogle.KindImpersonated,
			wantEmail: node,
			lifetime:  time.Hour,
		},
		{
			name:      "adc metadata 30m",
			inputs:    map[string]string{config.InTokenLifetime: "30m"},
			env:       map[string]string{"HOME": t.TempDir()},
			wantKind:  fakegoogle.KindImpersonated,
			wantEmail: node,
			lifetime:  30 * time.Minute,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := w
			if tc.lifetime > time.Hour {
				w = newWorld(t, 12*time.Hour)
				if tc.env != nil && tc.env["GOOGLE_APPLICATION_CREDENTIALS"] == "" {
					tc.env = w.env
				}
			}
			if tc.inputs[config.InCredentialsJSON] == "KEY" {
				tc.inputs[config.InCredentialsJSON] = string(w.key)
			}
			m := &masker{}
			tok, err := Mint(t.Context(), w.load(t, tc.inputs), w.deps(tc.env, m))
			if err != nil {
				t.Fatal(err)
			}
			info, ok := w.google.Lookup(tok.AccessToken)
			if !ok {
				t.Fatal("token not issued by the fake")
			}
			if info.Kind != tc.wantKind || info.Email != tc.wantEmail {
				t.Errorf("kind %s email %q, want %s %q", info.Kind, info.Email, tc.wantKind, tc.wantEmail)
			}
			if tc.lifetime > 0 {
				if got := info.Expiry.Sub(info.IssuedAt).Round(time.Minute); got != tc.lifetime {
					t.Errorf("lifetime %s, want %s", got, tc.lifetime)
				}
			}
			if tok.Expiry.IsZero() || tok.Expiry.Sub(info.Expiry).Abs() > 5*time.Second {
				t.Errorf("reported expiry %s, issued expiry %s", tok.Expiry, info.Expiry)
			}
			if (len(tok.Warnings) > 0) != tc.warns {
				t.Errorf("warnings %q, want some: %v", tok.Warnings, tc.warns)
			}
			if !contains(m.got, tok.AccessToken) {
				t.Error("token was not masked")
			}
			if info.Kind != fakegoogle.KindFederated {
				if diff := cmp.Diff([]string{config.DefaultScope}, info.Scopes); diff != "" {
					t.Errorf("scopes (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// The wire fields x/oauth2 sends to STS are the ones Google documents.
func TestSTSRequestFields(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	_, err := Mint(t.Context(), w.load(t, map[string]string{config.InWorkloadIdentityProvider: provider, config.InServiceAccount: puller}), w.deps(w.env, &masker{}))
	if err != nil {
		t.Fatal(err)
	}
	reqs := w.google.RequestsTo(fakegoogle.EndpointSTS)
	if len(reqs) != 1 {
		t.Fatalf("%d STS requests", len(reqs))
	}
	f := reqs[0].Form
	got := map[string]string{}
	for _, k := range []string{"grant_type", "audience", "scope", "requested_token_type", "subject_token_type"} {
		got[k] = f.Get(k)
	}
	want := map[string]string{
		"grant_type":           "urn:ietf:params:oauth:grant-type:token-exchange",
		"audience":             "//iam.googleapis.com/" + provider,
		"scope":                "https://www.googleapis.com/auth/cloud-platform",
		"requested_token_type": "urn:ietf:params:oauth:token-type:access_token",
		"subject_token_type":   "urn:ietf:params:oauth:token-type:jwt",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("STS form (-want +got):\n%s", diff)
	}
}

func TestMintErrorsAreActionable(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	wrongKey, err := w.google.NewServiceAccountKey("other@p.iam.gserviceaccount.com", "")
	if err != nil {
		t.Fatal(err)
	}
	// Same account and key id, different private key: Google says "Invalid JWT Signature."
	var forged, real map[string]any
	_ = json.Unmarshal(w.key, &real)
	_ = json.Unmarshal(wrongKey, &forged)
	real["private_key"] = forged["private_key"]
	forgedKey, _ := json.Marshal(real)
	cases := []struct {
		name   string
		inputs map[string]string
		env    map[string]string
		want   []string
	}{
		{
			name:   "no id-token permission",
			inputs: map[string]string{config.InWorkloadIdentityProvider: provider, config.InServiceAccount: puller},
			env:    map[string]string{},
			want:   []string{"id-token: write"},
		},
		{
			name:   "wrong audience",
			inputs: map[string]string{config.InWorkloadIdentityProvider: provider, config.InServiceAccount: puller, config.InAudience: "https://example.com/other"},
			env:    w.env,
			want:   []string{provider, "audience"},
		},
		{
			name:   "repo may not impersonate",
			inputs: map[string]string{config.InWorkloadIdentityProvider: provider, config.InServiceAccount: node},
			env:    w.env,
			want:   []string{"iam.serviceAccounts.getAccessToken"},
		},
		{
			name:   "lifetime over the org limit",
			inputs: map[string]string{config.InWorkloadIdentityProvider: provider, config.InServiceAccount: puller, config.InTokenLifetime: "2h"},
			env:    w.env,
			want:   []string{"lifetime"},
		},
		{
			name:   "forged key",
			inputs: map[string]string{config.InCredentialsJSON: string(forgedKey)},
			want:   []string{"Invalid JWT Signature", keyed},
		},
		{
			name:   "dead access token",
			inputs: map[string]string{config.InAccessToken: "ya29.not-a-real-token"},
			want:   []string{config.InAccessToken, "expired"},
		},
		{
			name:   "no credentials at all",
			inputs: map[string]string{config.InMetadataEndpoint: "http://127.0.0.1:1"},
			env:    map[string]string{"HOME": t.TempDir()},
			want:   []string{config.InWorkloadIdentityProvider, config.InCredentialsJSON, config.InAccessToken, "GOOGLE_APPLICATION_CREDENTIALS"},
		},
		{
			name: "adc file missing",
			env:  map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": "/nonexistent/creds.json"},
			want: []string{"GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/creds.json"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Mint(t.Context(), w.load(t, tc.inputs), w.deps(tc.env, &masker{}))
			if d := check.ErrDiff(err, tc.want...); d != "" {
				t.Fatal(d)
			}
		})
	}
}

// A revoked token passed as access_token is caught before anything is
// written; a live one reports its real expiry, who it acts as (never an
// empty principal: tokeninfo shows the email only to tokens with the
// userinfo.email scope) and scopes broader than asked.
func TestAccessTokenCheckedAtTokenInfo(t *testing.T) {
	t.Parallel()
	const email = "https://www.googleapis.com/auth/userinfo.email"
	cases := []struct {
		name          string
		scopes        []string // of the token given as access_token
		wantPrincipal []string
		wantWarning   string
	}{
		{
			name:          "narrow token",
			scopes:        []string{config.DefaultScope},
			wantPrincipal: []string{"unknown principal (token lacks userinfo.email scope)", "unique ID 1"},
		},
		{
			name:          "token with userinfo.email",
			scopes:        []string{config.DefaultScope, email},
			wantPrincipal: []string{node},
			wantWarning:   email,
		},
		{
			name:          "cloud-platform token",
			scopes:        []string{fakegoogle.ScopeCloudPlatform},
			wantPrincipal: []string{"unknown principal"},
			wantWarning:   fakegoogle.ScopeCloudPlatform,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// A token with exactly these scopes: the metadata server's.
			w := newWorldWith(t, fakegithub.OIDCConfig{}, func(c *fakegoogle.Config) { c.MetadataScopes = tc.scopes })
			tok := metadataToken(t, w)
			got, err := Mint(t.Context(), w.load(t, map[string]string{config.InAccessToken: tok.AccessToken}), w.deps(nil, &masker{}))
			if err != nil {
				t.Fatal(err)
			}
			if info, _ := w.google.Lookup(tok.AccessToken); got.Expiry.Sub(info.Expiry).Abs() > 5*time.Second {
				t.Errorf("expiry %s, want %s", got.Expiry, info.Expiry)
			}
			for _, s := range tc.wantPrincipal {
				if !strings.Contains(got.Principal, s) {
					t.Errorf("principal %q lacks %q", got.Principal, s)
				}
			}
			warned := strings.Join(got.Warnings, "\n")
			if tc.wantWarning == "" && warned != "" {
				t.Errorf("unexpected warnings %q", warned)
			}
			if tc.wantWarning != "" && (!strings.Contains(warned, tc.wantWarning) || !strings.Contains(warned, config.InScopes)) {
				t.Errorf("warnings %q do not name the broader scope %q", warned, tc.wantWarning)
			}
			w.google.RevokeToken(tok.AccessToken)
			_, err = Mint(t.Context(), w.load(t, map[string]string{config.InAccessToken: tok.AccessToken}), w.deps(nil, &masker{}))
			if check.ErrDiff(err, config.InAccessToken) != "" {
				t.Fatalf("revoked token: %v", err)
			}
			if strings.Contains(err.Error(), tok.AccessToken) {
				t.Error("error echoes the token")
			}
		})
	}
}

type tokenJSON struct {
	AccessToken string `json:"access_token"`
}

// metadataToken fetches the instance's token straight from the fake
// metadata server.
func metadataToken(t *testing.T, w *world) tokenJSON {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, w.googleURL+"/computeMetadata/v1/instance/service-accounts/default/token", nil)
	req.Header.Set("Metadata-Flavor", "Google")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok tokenJSON
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("metadata token: %v", err)
	}
	return tok
}

// An external_account ADC file pointing its token URL at a stranger is
// refused before any token is sent there.
func TestADCRefusesForeignExternalAccountURLs(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	f := filepath.Join(t.TempDir(), "ext.json")
	ext := `{"type":"external_account","audience":"//iam.googleapis.com/` + provider + `","subject_token_type":"urn:ietf:params:oauth:token-type:jwt","token_url":"https://attacker.example/token","credential_source":{"file":"/dev/null"}}`
	if err := os.WriteFile(f, []byte(ext), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Mint(t.Context(), w.load(t, nil), w.deps(map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": f}, &masker{}))
	if check.ErrDiff(err, "attacker.example") != "" {
		t.Fatalf("want refusal naming the endpoint, got %v", err)
	}
	if n := len(w.google.Requests()); n != 0 {
		t.Errorf("%d requests reached Google", n)
	}
}

func TestExplainIDTokenError(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err  error
		want string
	}{
		{
			err:  &githubactions.EnvMissingError{Name: "ACTIONS_ID_TOKEN_REQUEST_URL"},
			want: "permissions: id-token: write",
		},
		{
			err:  &githubactions.RequestFailedError{StatusCode: 403, Body: "secret body"},
			want: "id-token: write",
		},
		{
			err:  &githubactions.RequestFailedError{StatusCode: 500, Body: "secret body"},
			want: "HTTP 500",
		},
		{
			err:  errors.New("dial tcp: refused"),
			want: "refused",
		},
	}
	for _, tc := range cases {
		t.Run(tc.err.Error(), func(t *testing.T) {
			t.Parallel()

			got := explainIDTokenError(tc.err).Error()
			if !strings.Contains(got, tc.want) || strings.Contains(got, "secret body") {
				t.Errorf("explain(%v) = %q, want it to contain %q and no body", tc.err, got, tc.want)
			}

		})
	}
}

func TestMaskKeyMasksEveryLine(t *testing.T) {
	t.Parallel()
	w := newWorld(t, 0)
	m := &masker{}
	MaskKey(w.key, m.mask)
	var k struct {
		PrivateKey   string `json:"private_key"`
		PrivateKeyID string `json:"private_key_id"`
	}
	if err := json.Unmarshal(w.key, &k); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(k.PrivateKey, "\n") {
		if len(line) > 8 && !strings.HasPrefix(line, "-----") && !contains(m.got, line) {
			t.Errorf("key line %.6s... not masked", line)
		}
	}
	if !contains(m.got, k.PrivateKeyID) || !contains(m.got, strings.TrimSpace(string(w.key))) {
		t.Error("key id or whole key not masked")
	}
}

func TestTokenInfoURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://oauth2.googleapis.com/token": "https://oauth2.googleapis.com/tokeninfo",
		"http://127.0.0.1:8080/token":         "http://127.0.0.1:8080/tokeninfo",
		"https://psc.example/oauth2/v4/token": "https://psc.example/oauth2/v4/tokeninfo",
	} {
		if got := tokenInfoURL(in); got != want {
			t.Errorf("tokenInfoURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// writeADC writes an Application Default Credentials file for one test.
func writeADC(t *testing.T, raw []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "adc.json")
	if err := os.WriteFile(f, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}
