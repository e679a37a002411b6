package runner

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/kube"
)

func TestSummaryGolden(t *testing.T) {
	t.Parallel()
	exp := time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC)
	cases := map[string]*Result{
		"apply": {
			SecretName: "gcr-pull-secret", Registries: []string{"gcr.io", "*-docker.pkg.dev"}, Mode: config.ModeApply,
			ExpiresAt: exp, Principal: "puller@p.iam.gserviceaccount.com", Method: "Workload Identity Federation with service account impersonation",
			Namespaces: []NamespaceResult{
				{Namespace: "preview-1", CreatedNamespace: true, Secret: kube.SecretCreated, Patched: []string{"default"}},
				{Namespace: "web", Secret: kube.SecretUpdated, Unchanged: []string{"default"}},
				{Namespace: "locked", Err: errors.New(`namespace "locked": failed to apply secret "gcr-pull-secret": secret is not managed by pullsecret | x`)},
			},
		},
		"delete-dry-run": {
			SecretName: "gcr-pull-secret", Registries: []string{"gcr.io"}, Mode: config.ModeDelete, DryRun: true,
			Namespaces: []NamespaceResult{{Namespace: "preview-1", Secret: kube.SecretDeleted, Patched: []string{"default", "builder"}}},
		},
		"nothing-matched": {SecretName: "s", Registries: []string{"gcr.io"}, Mode: config.ModeApply},
		"verify-image-failed": {
			SecretName: "gcr-pull-secret", Registries: []string{"*-docker.pkg.dev"}, Mode: config.ModeApply,
			ExpiresAt: exp, Principal: "puller@p.iam.gserviceaccount.com", Method: "service-account key",
			ImageChecks: []ImageCheck{
				{Image: "us-docker.pkg.dev/p/r/app:v1"},
				{Image: "us-docker.pkg.dev/q/r/app:v1", Err: errors.New("us-docker.pkg.dev/q/r/app:v1: access denied (403 Forbidden): puller@p.iam.gserviceaccount.com lacks roles/artifactregistry.reader on repository projects/q/locations/us/repositories/r")},
			},
		},
		"verify-image-ok": {
			SecretName: "gcr-pull-secret", Registries: []string{"*-docker.pkg.dev"}, Mode: config.ModeApply,
			ExpiresAt: exp, Principal: "puller@p.iam.gserviceaccount.com", Method: "service-account key",
			Namespaces:  []NamespaceResult{{Namespace: "web", Secret: kube.SecretCreated, Patched: []string{"default"}}},
			ImageChecks: []ImageCheck{{Image: "us-docker.pkg.dev/p/r/app:v1"}},
		},
	}
	for name, res := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := Summary(res)
			golden := filepath.Join("testdata", "summary-"+name+".md")
			if os.Getenv("UPDATE_GOLDEN") == "1" {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("summary (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResultErrCountsFailures(t *testing.T) {
	t.Parallel()
	r := &Result{Namespaces: []NamespaceResult{
		{Namespace: "a"},
		NamespaceResult{Namespace: "b"}.fail(errors.New("boom")),
		NamespaceResult{Namespace: "c"}.fail(errors.New("bang")),
	}}
	if diff := cmp.Diff([]string{"a"}, r.Succeeded()); diff != "" {
		t.Errorf("succeeded (-want +got):\n%s", diff)
	}
	err := r.Err()
	if err == nil || err.Error() != "2 of 3 namespace(s) failed: namespace \"b\": boom\nnamespace \"c\": bang" {
		t.Errorf("Err() = %v", err)
	}
	if (&Result{Namespaces: []NamespaceResult{{Namespace: "a"}}}).Err() != nil {
		t.Error("all succeeded: want nil error")
	}
}
