package config

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pullsecret/pullsecret/internal/testing/check"
	"github.com/pullsecret/pullsecret/internal/version"
)

const (
	testImage    = "ghcr.io/pullsecret/pullsecret@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	testProvider = "projects/42/locations/global/workloadIdentityPools/kind/providers/kind"
	testSA       = "puller@p.iam.gserviceaccount.com"
)

func refreshInputs(extra map[string]string) map[string]string {
	in := map[string]string{InRefresh: "true", InRefreshImage: testImage, InServiceAccount: testSA, InAccessToken: "ya29.x"}
	for k, v := range extra {
		in[k] = v
	}
	return in
}

func load(in map[string]string) (*Config, error) {
	return Load(check.Lookup(in))
}

func TestRefreshInputsDefaultsAndAccepted(t *testing.T) {
	t.Parallel()
	c, err := load(refreshInputs(map[string]string{InRefreshWorkloadIdentityProvider: "//iam.googleapis.com/" + testProvider}))
	if err != nil {
		t.Fatal(err)
	}
	got := []any{c.Refresh, c.RefreshInterval, c.RefreshNamespace, c.RefreshImage, c.RefreshWorkloadIdentityProvider, c.ServiceAccount}
	want := []any{true, 30 * time.Minute, "pullsecret-system", testImage, testProvider, testSA}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	// Without refresh nothing about it is checked, and it is off.
	c, err = load(map[string]string{})
	if err != nil || c.Refresh {
		t.Fatalf("default: refresh %v, err %v", c != nil && c.Refresh, err)
	}
}

func TestRefreshSchedule(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		interval, lifetime, want string
	}{
		{
			interval: "1m",
			lifetime: "3600s",
			want:     "*/1 * * * *",
		},
		{
			interval: "30m",
			lifetime: "3600s",
			want:     "*/30 * * * *",
		},
		{
			interval: "1h",
			lifetime: "2h",
			want:     "0 * * * *",
		},
		{
			interval: "6h",
			lifetime: "12h",
			want:     "0 */6 * * *",
		},
		{
			interval: "600",
			lifetime: "3600",
			want:     "*/10 * * * *",
		},
	} {
		t.Run(tc.interval+" every "+tc.lifetime, func(t *testing.T) {
			t.Parallel()

			c, err := load(refreshInputs(map[string]string{InRefreshInterval: tc.interval, InTokenLifetime: tc.lifetime}))
			if err != nil {
				t.Fatalf("%s: %v", tc.interval, err)
			}
			if got, _ := c.RefreshSchedule(); got != tc.want {
				t.Errorf("%s: schedule %q, want %q", tc.interval, got, tc.want)
			}

		})
	}
}

func TestRefreshRejects(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		inputs map[string]string
		want   []string // the error names these inputs and says this
	}{
		{
			name:   "interval over half the lifetime",
			inputs: map[string]string{InRefreshInterval: "1h"},
			want:   []string{`input "refresh_interval"`, "more than half", "token_lifetime"},
		},
		{
			name:   "interval over half a short lifetime",
			inputs: map[string]string{InTokenLifetime: "2m", InRefreshInterval: "2m"},
			want:   []string{`input "refresh_interval"`, "more than half"},
		},
		{
			name:   "interval not dividing an hour",
			inputs: map[string]string{InRefreshInterval: "7m", InTokenLifetime: "1h"},
			want:   []string{`input "refresh_interval"`, "divide"},
		},
		{
			name:   "interval seconds",
			inputs: map[string]string{InRefreshInterval: "90s"},
			want:   []string{`input "refresh_interval"`, "whole number of minutes"},
		},
		{
			name:   "interval garbage",
			inputs: map[string]string{InRefreshInterval: "often"},
			want:   []string{`input "refresh_interval"`},
		},
		{
			name:   "bad namespace",
			inputs: map[string]string{InRefreshNamespace: "Pull_Secret"},
			want:   []string{`input "refresh_namespace"`},
		},
		{
			name:   "image by tag",
			inputs: map[string]string{InRefreshImage: "ghcr.io/pullsecret/pullsecret:v1"},
			want:   []string{`input "refresh_image"`, "by digest"},
		},
		{
			name:   "no service account with a refresh provider",
			inputs: map[string]string{InServiceAccount: "", InRefreshWorkloadIdentityProvider: "projects/1/locations/global/workloadIdentityPools/p/providers/k"},
			want:   []string{`input "service_account"`, "refresher impersonates"},
		},
		{
			name:   "bad refresh provider",
			inputs: map[string]string{InRefreshWorkloadIdentityProvider: "projects/x/providers/y"},
			want:   []string{`input "refresh_workload_identity_provider"`},
		},
		{
			name:   "json key",
			inputs: map[string]string{InAccessToken: "", InCredentialsJSON: testKey, InCredentialMode: "json_key"},
			want:   []string{`input "refresh"`, "json_key"},
		},
		{
			name:   "unknown mode",
			inputs: map[string]string{InRefreshMode: "daemon"},
			want:   []string{`input "refresh_mode"`, `"daemon" is not a refresh mode`, "cron", "watch"},
		},
		{
			name:   "watch without refresh",
			inputs: map[string]string{InRefresh: "false", InRefreshMode: "watch"},
			want:   []string{`input "refresh_mode": is only used with refresh: true`},
		},
		{
			name:   "recover pods without refresh",
			inputs: map[string]string{InRefresh: "", InRefreshRecoverPods: "true"},
			want:   []string{`input "refresh_recover_pods": is only used with refresh: true`},
		},
		{
			name:   "recover pods with cron",
			inputs: map[string]string{InRefreshRecoverPods: "true"},
			want:   []string{`input "refresh_recover_pods": is only used with refresh_mode: watch`},
		},
		{
			name:   "recover pods not a boolean",
			inputs: map[string]string{InRefreshMode: "watch", InRefreshRecoverPods: "sometimes"},
			want:   []string{`input "refresh_recover_pods"`, "not a boolean"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := load(refreshInputs(tc.inputs))
			if d := check.ErrDiff(err, tc.want...); d != "" {
				t.Fatal(d)
			}
		})
	}
}

// A build from source has no image baked in: refresh then needs
// refresh_image, and says so naming the input. A release build's baked
// image is the default. version.Image is process-wide, so this test
// is not parallel.
func TestRefreshImageDefault(t *testing.T) {
	in := refreshInputs(map[string]string{InRefreshImage: ""})
	_, err := load(in)
	if check.ErrDiff(err, `input "refresh_image": is required`, "built from source") != "" {
		t.Fatalf("error %v, want refresh_image required", err)
	}
	old := version.Image
	version.Image = testImage
	defer func() { version.Image = old }()
	c, err := load(in)
	if err != nil {
		t.Fatal(err)
	}
	if c.EffectiveRefreshImage() != testImage {
		t.Errorf("image %q, want the baked %q", c.EffectiveRefreshImage(), testImage)
	}
	// Teardown needs no image.
	if _, err := load(map[string]string{InRefresh: "true", InMode: "delete"}); err != nil {
		t.Errorf("delete with refresh: %v", err)
	}
}

// A release's action.yml tells the step which image it runs from (the
// digest cannot be inside the binary): that is the refresher's default, and
// refresh_image still wins over it.
func TestRefreshImageFromRelease(t *testing.T) {
	t.Parallel()
	const other = "ghcr.io/acme/pullsecret@sha256:1111111111111111111111111111111111111111111111111111111111111111"
	tests := []struct {
		name   string
		inputs map[string]string
		want   string
	}{
		{
			name:   "release image is the default",
			inputs: map[string]string{InRefreshImage: ""},
			want:   testImage,
		},
		{
			name:   "refresh_image wins",
			inputs: map[string]string{InRefreshImage: other},
			want:   other,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := refreshInputs(tc.inputs)
			c, err := Load(func(n string) (string, bool) { v, ok := in[n]; return v, ok }, ReleaseImage(testImage))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.EffectiveRefreshImage(); got != tc.want {
				t.Errorf("refresher image %q, want %q", got, tc.want)
			}
		})
	}
	// A release image that is not by digest is refused like refresh_image.
	in := refreshInputs(map[string]string{InRefreshImage: ""})
	if _, err := Load(func(n string) (string, bool) { v, ok := in[n]; return v, ok }, ReleaseImage("ghcr.io/acme/pullsecret:v1")); err == nil {
		t.Error("a release image by tag was accepted")
	}
}

// On GKE (no refresh provider) the refresher may run without a Google
// service account: Workload Identity Federation for GKE hands its pod a
// federated token directly.
func TestRefreshGKEWithoutServiceAccountAccepted(t *testing.T) {
	t.Parallel()
	if _, err := load(refreshInputs(map[string]string{InServiceAccount: ""})); err != nil {
		t.Fatal(err)
	}
}

// Watch mode refreshes at half of token_lifetime: refresh_interval is not
// checked (a CronJob schedule it will never have), and a value other than
// the default is reported as ignored, not refused.
func TestRefreshModeWatch(t *testing.T) {
	t.Parallel()
	c, err := load(refreshInputs(map[string]string{InRefreshMode: "Watch", InRefreshRecoverPods: "true", InRefreshInterval: "7m"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := []any{c.RefreshMode, c.RefreshRecoverPods}; !cmp.Equal(got, []any{RefreshWatch, true}) {
		t.Errorf("mode, recover pods = %v", got)
	}
	if w := c.Warnings(); len(w) != 1 || check.ErrDiff(errors.New(w[0]), `input "refresh_interval" (7m0s) is not used with refresh_mode: watch`, "half of token_lifetime (30m0s)") != "" {
		t.Errorf("warnings %q", w)
	}
	for _, in := range []map[string]string{
		refreshInputs(map[string]string{InRefreshMode: "watch"}), // default interval: nothing to say
		refreshInputs(map[string]string{InRefreshInterval: "15m"}),
		{InRefreshMode: "cron", InRefreshRecoverPods: "false", InAccessToken: "ya29.x"}, // the defaults an action passes
		{InRefresh: "true", InMode: "delete", InRefreshMode: "watch", InRefreshRecoverPods: "true", InRefreshInterval: "7m"},
	} {
		c, err := load(in)
		if err != nil {
			t.Errorf("%v: %v", in, err)
			continue
		}
		if w := c.Warnings(); len(w) != 0 {
			t.Errorf("%v: warnings %q", in, w)
		}
	}
}
