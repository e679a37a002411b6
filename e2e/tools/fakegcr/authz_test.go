package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Names per https://cloud.google.com/artifact-registry/docs/docker/names and
// https://cloud.google.com/artifact-registry/docs/transition/gcr-repositories.
func TestLocate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		host, path string
		want       repository
		wantErr    bool
	}{
		{"us-docker.pkg.dev", "e2e-proj/private/app", repository{resource: "projects/e2e-proj/locations/us/repositories/private"}, false},
		{"europe-west1-docker.pkg.dev", "p/r/team/app", repository{resource: "projects/p/locations/europe-west1/repositories/r"}, false},
		{"gcr.io", "p/app", repository{resource: "projects/p/locations/us/repositories/gcr.io"}, false},
		{"us.gcr.io", "p/team/app", repository{resource: "projects/p/locations/us/repositories/us.gcr.io"}, false},
		{"eu.gcr.io", "p/app", repository{resource: "projects/p/locations/europe/repositories/eu.gcr.io"}, false},
		{"asia.gcr.io", "p/app", repository{resource: "projects/p/locations/asia/repositories/asia.gcr.io"}, false},
		{"gcr.io", "example.com/p/app", repository{resource: "projects/example.com:p/locations/us/repositories/gcr.io"}, false},
		{"us-docker.pkg.dev", "example.com/p/r/app", repository{resource: "projects/example.com:p/locations/us/repositories/r"}, false},
		{"US-Docker.pkg.dev", "p/r/app", repository{resource: "projects/p/locations/us/repositories/r"}, false},
		{"us-docker.pkg.dev", "p/app", repository{}, true},
		{"gcr.io", "app", repository{}, true},
		{"registry.example.com", "p/r/app", repository{}, true},
		{"127.0.0.1:5000", "p/r/app", repository{}, true},
	} {
		got, err := locate(tc.host, tc.path)
		if (err != nil) != tc.wantErr {
			t.Errorf("locate(%q, %q) error %v, want error %v", tc.host, tc.path, err, tc.wantErr)
			continue
		}
		if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(repository{})); diff != "" {
			t.Errorf("locate(%q, %q) (-want +got):\n%s", tc.host, tc.path, diff)
		}
	}
}
