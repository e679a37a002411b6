package dockerconfig

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBuildGolden(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		registries []string
		user, pass string
	}{
		{
			name:       "default-registries",
			registries: []string{"gcr.io", "*.gcr.io", "*-docker.pkg.dev", "docker.*.rep.pkg.dev"},
			user:       UserAccessToken,
			pass:       "ya29.test-token",
		},
		{
			name:       "json-key",
			registries: []string{"gcr.io"},
			user:       UserJSONKey,
			pass:       `{"type":"service_account"}`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, derived, err := Build(tc.registries, tc.user, tc.pass)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tc.name+".json")
			if os.Getenv("UPDATE_GOLDEN") == "1" {
				if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(strings.TrimSpace(string(want)), string(got)); diff != "" {
				t.Errorf("payload mismatch (-want +got):\n%s", diff)
			}
			wantDerived := []string{
				base64.StdEncoding.EncodeToString([]byte(tc.user + ":" + tc.pass)),
				base64.StdEncoding.EncodeToString(got),
			}
			if diff := cmp.Diff(wantDerived, derived); diff != "" {
				t.Errorf("derived secrets mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// Kubelet decodes `auth` and splits at the first colon; a JSON key password
// contains colons, so the round trip must keep it whole.
func TestAuthRoundTripsThroughKubeletDecoding(t *testing.T) {
	t.Parallel()
	key := `{"type":"service_account","private_key":"FAKE KEY\nabc:def\n"}`
	payload, _, err := Build([]string{"us-docker.pkg.dev"}, UserJSONKey, key)
	if err != nil {
		t.Fatal(err)
	}
	var cfg Config
	if err := json.Unmarshal(payload, &cfg); err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(cfg.Auths["us-docker.pkg.dev"].Auth)
	if err != nil {
		t.Fatal(err)
	}
	user, pass, _ := strings.Cut(string(raw), ":")
	if diff := cmp.Diff([]string{UserJSONKey, key}, []string{user, pass}); diff != "" {
		t.Errorf("auth round trip (-want +got):\n%s", diff)
	}
}

func TestBuildRejectsEmpty(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		registries []string
		user, pass string
	}{
		{
			name: "no registries",
			user: UserAccessToken,
			pass: "t",
		},
		{
			name:       "no password",
			registries: []string{"gcr.io"},
			user:       UserAccessToken,
		},
		{
			name:       "no user",
			registries: []string{"gcr.io"},
			pass:       "t",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()

			if _, _, err := Build(tc.registries, tc.user, tc.pass); err == nil {
				t.Errorf("%s: Build succeeded, want error", tc.name)
			}

		})
	}
}
