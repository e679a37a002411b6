package googleauth

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	githubactions "github.com/sethvargo/go-githubactions"

	"github.com/pullsecret/pullsecret/internal/sakey"
	"github.com/pullsecret/pullsecret/internal/testing/check"
	"github.com/pullsecret/pullsecret/internal/testing/fakegithub"
	"github.com/pullsecret/pullsecret/internal/testing/fakegoogle"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

// The ready-made project's names (fakestack).
const (
	provider = fakestack.Provider
	puller   = fakestack.ImpersonatedSA
	keyed    = fakestack.KeySA
	node     = fakestack.MetadataSA
)

// world is fakestack's project on loopback: Google and GitHub's issuer.
type world struct {
	google    *fakegoogle.Google
	github    *fakegithub.OIDC
	googleURL string
	env       map[string]string
	key       []byte
}

func newWorld(t *testing.T, maxLifetime time.Duration) *world {
	t.Helper()
	return newWorldWith(t, nil, func(c *fakegoogle.Config) { c.MaxLifetime = maxLifetime })
}

// newWorldWith is newWorld with edits of the issuer's config and of
// Google's. The key's and the node's accounts hold
// roles/iam.serviceAccountTokenCreator on themselves unless google removes
// the node's grant.
func newWorldWith(t *testing.T, github func(*fakegithub.OIDCConfig), google func(*fakegoogle.Config)) *world {
	t.Helper()
	s, err := fakestack.StartWith("", fakestack.Options{GitHub: github, Google: google})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return &world{google: s.Google, github: s.GitHub, googleURL: s.GoogleURL, env: s.GitHubEnv(""), key: s.Key}
}

// testNames spell the fields as the action's inputs do.
var testNames = map[Field]string{
	FieldWorkloadIdentityProvider: "workload_identity_provider",
	FieldServiceAccount:           "service_account",
	FieldKey:                      "credentials_json",
	FieldAccessToken:              "access_token",
	FieldTokenLifetime:            "token_lifetime",
	FieldScopes:                   "scopes",
	FieldSTSEndpoint:              "sts_endpoint",
	FieldIAMCredentialsEndpoint:   "iam_credentials_endpoint",
	FieldOAuthTokenEndpoint:       "oauth_token_endpoint",
}

// readOnlyScope is the action's default scope.
const readOnlyScope = "https://www.googleapis.com/auth/devstorage.read_only"

// input completes in as the caller would: the source its fields select,
// every endpoint on the fake, the action's defaults.
func (w *world) input(in Input) Input {
	switch {
	case in.WorkloadIdentityProvider != "":
		in.Source = SourceWorkloadIdentity
	case len(in.Key) > 0:
		in.Source = SourceKey
	case in.AccessToken != "":
		in.Source = SourceAccessToken
	}
	if in.STSEndpoint == "" {
		in.STSEndpoint = fakegoogle.STSTokenURL(w.googleURL)
	}
	if in.IAMCredentialsEndpoint == "" {
		in.IAMCredentialsEndpoint = w.googleURL
	}
	if in.OAuthTokenEndpoint == "" {
		in.OAuthTokenEndpoint = fakegoogle.TokenURL(w.googleURL)
	}
	if in.MetadataEndpoint == "" {
		in.MetadataEndpoint = w.googleURL
	}
	if in.TokenLifetime == 0 {
		in.TokenLifetime = time.Hour
	}
	if in.Scopes == nil {
		in.Scopes = []string{readOnlyScope}
	}
	in.Names = testNames
	return in
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
		in        Input
		env       map[string]string
		wantKind  fakegoogle.TokenKind
		wantEmail string
		lifetime  time.Duration
		warns     bool
	}{
		{
			name:      "wif impersonation",
			in:        Input{WorkloadIdentityProvider: provider, ServiceAccount: puller},
			env:       w.env,
			wantKind:  fakegoogle.KindImpersonated,
			wantEmail: puller,
			lifetime:  time.Hour,
		},
		{
			name:      "wif impersonation 30m",
			in:        Input{WorkloadIdentityProvider: provider, ServiceAccount: puller, TokenLifetime: 1800 * time.Second},
			env:       w.env,
			wantKind:  fakegoogle.KindImpersonated,
			wantEmail: puller,
			lifetime:  30 * time.Minute,
		},
		{
			name:     "wif direct warns",
			in:       Input{WorkloadIdentityProvider: provider},
			env:      w.env,
			wantKind: fakegoogle.KindFederated,
			warns:    true,
		},
		{
			name:      "key",
			in:        Input{Key: []byte("KEY")},
			wantKind:  fakegoogle.KindJWTBearer,
			wantEmail: keyed,
			lifetime:  time.Hour,
		},
		{
			name:      "key 2h self-impersonates",
			in:        Input{Key: []byte("KEY"), TokenLifetime: 2 * time.Hour},
			wantKind:  fakegoogle.KindImpersonated,
			wantEmail: keyed,
			lifetime:  2 * time.Hour,
		},
		{
			name:      "key json_key warns",
			in:        Input{Key: []byte("KEY"), StoreKey: true},
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
			in:        Input{TokenLifetime: 30 * time.Minute},
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
			if string(tc.in.Key) == "KEY" {
				tc.in.Key = w.key
			}
			m := &masker{}
			tok, err := Mint(t.Context(), w.input(tc.in), w.deps(tc.env, m))
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
				if diff := cmp.Diff([]string{readOnlyScope}, info.Scopes); diff != "" {
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
	_, err := Mint(t.Context(), w.input(Input{WorkloadIdentityProvider: provider, ServiceAccount: puller}), w.deps(w.env, &masker{}))
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
		name string
		in   Input
		env  map[string]string
		want []string
	}{
		{
			name: "no id-token permission",
			in:   Input{WorkloadIdentityProvider: provider, ServiceAccount: puller},
			env:  map[string]string{},
			want: []string{"id-token: write"},
		},
		{
			name: "wrong audience",
			in:   Input{WorkloadIdentityProvider: provider, ServiceAccount: puller, Audience: "https://example.com/other"},
			env:  w.env,
			want: []string{provider, "audience"},
		},
		{
			name: "repo may not impersonate",
			in:   Input{WorkloadIdentityProvider: provider, ServiceAccount: node},
			env:  w.env,
			want: []string{"iam.serviceAccounts.getAccessToken"},
		},
		{
			name: "lifetime over the org limit",
			in:   Input{WorkloadIdentityProvider: provider, ServiceAccount: puller, TokenLifetime: 2 * time.Hour},
			env:  w.env,
			want: []string{"lifetime"},
		},
		{
			name: "forged key",
			in:   Input{Key: forgedKey},
			want: []string{"Invalid JWT Signature", keyed},
		},
		{
			name: "dead access token",
			in:   Input{AccessToken: "ya29.not-a-real-token"},
			want: []string{"expired"},
		},
		{
			name: "no credentials at all",
			in:   Input{MetadataEndpoint: "http://127.0.0.1:1"},
			env:  map[string]string{"HOME": t.TempDir()},
			want: []string{"workload_identity_provider", "credentials_json", "access_token", "GOOGLE_APPLICATION_CREDENTIALS"},
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
			_, err := Mint(t.Context(), w.input(tc.in), w.deps(tc.env, &masker{}))
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
			scopes:        []string{readOnlyScope},
			wantPrincipal: []string{"unknown principal (token lacks userinfo.email scope)", "unique ID 1"},
		},
		{
			name:          "token with userinfo.email",
			scopes:        []string{readOnlyScope, email},
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
			w := newWorldWith(t, nil, func(c *fakegoogle.Config) { c.MetadataScopes = tc.scopes })
			tok := metadataToken(t, w)
			got, err := Mint(t.Context(), w.input(Input{AccessToken: tok.AccessToken}), w.deps(nil, &masker{}))
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
			if tc.wantWarning != "" && (!strings.Contains(warned, tc.wantWarning) || !strings.Contains(warned, `input "scopes"`)) {
				t.Errorf("warnings %q do not name the broader scope %q", warned, tc.wantWarning)
			}
			w.google.RevokeToken(tok.AccessToken)
			_, err = Mint(t.Context(), w.input(Input{AccessToken: tok.AccessToken}), w.deps(nil, &masker{}))
			if ie := (*InputError)(nil); !errors.As(err, &ie) || ie.Field != FieldAccessToken {
				t.Fatalf("revoked token: %v, want an InputError of %s", err, FieldAccessToken)
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
	_, err := Mint(t.Context(), w.input(Input{}), w.deps(map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": f}, &masker{}))
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
	sakey.Mask(w.key, m.mask)
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
