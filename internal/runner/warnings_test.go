package runner

import (
	"context"
	"fmt"
	"io/fs"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/testing/check"
	"github.com/pullsecret/pullsecret/internal/testing/fakegoogle"
)

// warningsReporter records the warnings a run prints.
type warningsReporter struct {
	nopReporter
	mu       sync.Mutex
	warnings []string
}

func (w *warningsReporter) Warningf(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.warnings = append(w.warnings, fmt.Sprintf(format, args...))
}

// Inputs that are allowed but hand more than a pull needs, or send the
// credential off Google, are warned about before anything is sent: the
// cluster is never reached here (its kubeconfig does not exist).
func TestRiskyInputsWarnBeforeAnythingIsSent(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		inputs map[string]string
		want   []string // substrings of the one warning; nil: none
	}{
		{name: "defaults"},
		{name: "read-only scopes", inputs: map[string]string{config.InScopes: "https://www.googleapis.com/auth/cloud-platform.read-only,https://www.googleapis.com/auth/userinfo.email"}},
		{
			name:   "cloud-platform",
			inputs: map[string]string{config.InScopes: "https://www.googleapis.com/auth/cloud-platform"},
			want:   []string{`input "scopes"`, "auth/cloud-platform,", "devstorage.read_only is enough"},
		},
		{
			name:   "read_write",
			inputs: map[string]string{config.InScopes: "https://www.googleapis.com/auth/devstorage.read_only,https://www.googleapis.com/auth/devstorage.read_write"},
			want:   []string{`input "scopes"`, "devstorage.read_write"},
		},
		{
			name:   "STS off Google",
			inputs: map[string]string{config.InSTSEndpoint: "https://sts.example.com/v1/token"},
			want:   []string{`input "sts_endpoint"`, "sts.example.com", "*.googleapis.com"},
		},
		{
			name:   "lookalike host",
			inputs: map[string]string{config.InOAuthTokenEndpoint: "https://oauth2.googleapis.com.example.net/token"},
			want:   []string{`input "oauth_token_endpoint"`, "oauth2.googleapis.com.example.net"},
		},
		{
			name:   "Private Service Connect",
			inputs: map[string]string{config.InIAMCredentialsEndpoint: "https://iamcredentials-myendpoint.p.googleapis.com"},
		},
		{
			name:   "loopback test rig",
			inputs: map[string]string{config.InSTSEndpoint: "http://127.0.0.1:8080/v1/token"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			inputs := map[string]string{config.InKubeconfig: "/nonexistent/kubeconfig", config.InAccessToken: ""}
			for k, v := range tc.inputs {
				inputs[k] = v
			}
			cfg, err := config.Load(check.Lookup(inputs))
			if err != nil {
				t.Fatal(err)
			}
			r := &warningsReporter{}
			if _, err := Run(context.Background(), cfg, Deps{Reporter: r, Getenv: func(string) string { return "" }}); err == nil {
				t.Fatal("the run reached a cluster that does not exist")
			}
			if tc.want == nil {
				if len(r.warnings) != 0 {
					t.Errorf("unexpected warnings: %q", r.warnings)
				}
				return
			}
			if len(r.warnings) != 1 {
				t.Fatalf("warnings = %q, want exactly one", r.warnings)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.warnings[0], w) {
					t.Errorf("warning %q does not say %q", r.warnings[0], w)
				}
			}
		})
	}
}

// A person's credentials (gcloud auth application-default login) work, but
// the secret then acts as that person: the run says so.
func TestUserCredentialWarns(t *testing.T) {
	t.Parallel()
	g, err := fakegoogle.New(fakegoogle.Config{})
	if err != nil {
		t.Fatal(err)
	}
	gs := httptest.NewServer(g.Handler())
	t.Cleanup(gs.Close)
	adc, err := g.NewAuthorizedUser("dev@example.com", fakegoogle.TokenURL(gs.URL))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(check.Lookup(map[string]string{
		config.InSTSEndpoint:            fakegoogle.STSTokenURL(gs.URL),
		config.InIAMCredentialsEndpoint: gs.URL,
		config.InOAuthTokenEndpoint:     fakegoogle.TokenURL(gs.URL),
		config.InMetadataEndpoint:       gs.URL,
	}))
	if err != nil {
		t.Fatal(err)
	}
	const path = "/home/dev/.config/gcloud/application_default_credentials.json"
	env := map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": path}
	r := &warningsReporter{}
	_, err = newWriter(context.Background(), cfg, Deps{
		Reporter: r, Getenv: func(k string) string { return env[k] }, HTTPClient: gs.Client(), Now: time.Now,
		ReadFile: func(p string) ([]byte, error) {
			if p == path {
				return adc, nil
			}
			return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(r.warnings, func(w string) bool {
		return strings.Contains(w, "authorized_user") && strings.Contains(w, "service account")
	}) {
		t.Errorf("no warning that the credential is a person's; warnings: %q", r.warnings)
	}
}
