package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/pullsecret/pullsecret/internal/testing/check"
)

// verify_image sends the minted credential to the image's host, so that
// host must be one the secret covers; the input error names the input.
func TestVerifyImage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		registries string
		images     string
		want       []string
		wantErr    []string
	}{
		{name: "list under the default registries", images: "us-docker.pkg.dev/p/r/app:v1\n gcr.io/p/app@sha256:" + strings.Repeat("a", 64) + ",eu.gcr.io/p/x",
			want: []string{"us-docker.pkg.dev/p/r/app:v1", "gcr.io/p/app@sha256:" + strings.Repeat("a", 64), "eu.gcr.io/p/x"}},
		{name: "host not in registries is refused", images: "ghcr.io/o/app:v1",
			wantErr: []string{`input "verify_image"`, `"ghcr.io/o/app:v1" is on host "ghcr.io"`, "refusing to send the token there"}},
		{name: "host not in explicit registries", registries: "gcr.io", images: "us-docker.pkg.dev/p/r/app:v1",
			wantErr: []string{`input "verify_image"`, `host "us-docker.pkg.dev"`}},
		{name: "no host", images: "app:v1", wantErr: []string{`input "verify_image"`, "does not start with a registry host"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := map[string]string{InVerifyImage: tc.images}
			if tc.registries != "" {
				in[InRegistries] = tc.registries
			}
			cfg, err := Load(check.Lookup(in))
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatal("accepted")
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, cfg.VerifyImages); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
