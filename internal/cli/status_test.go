package cli

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/refresher"
	"github.com/pullsecret/pullsecret/internal/runner"
	"github.com/pullsecret/pullsecret/internal/testing/check"
)

var statusNow = time.Date(2026, 3, 4, 12, 30, 0, 0, time.UTC)

func sampleStatus() *runner.Status {
	return &runner.Status{
		SecretName: "gcr-pull-secret",
		Namespaces: []runner.SecretStatus{
			{Namespace: "preview-41", ExpiresAt: statusNow.Add(29*time.Minute + 30*time.Second), WrittenBy: "refresher:pullsecret-system/pullsecret-refresher-0a1b2c3d4e",
				ServiceAccounts: []runner.ServiceAccountStatus{{Name: "builder", Missing: true}, {Name: "default", References: true}},
				CoveredBy:       []string{"pullsecret-system/pullsecret-refresher-0a1b2c3d4e"}},
			{Namespace: "preview-42", ExpiresAt: statusNow.Add(-5 * time.Minute), WrittenBy: "ci:acme/web#4242",
				ServiceAccounts: []runner.ServiceAccountStatus{{Name: "default"}}},
			{Namespace: "team-a", ServiceAccounts: []runner.ServiceAccountStatus{{Name: "default", References: true}}},
		},
		Refreshers: []runner.RefresherStatus{
			{Namespace: "pullsecret-system", Name: "pullsecret-refresher-0a1b2c3d4e", Mode: runner.ModeCron, Schedule: "*/30 * * * *",
				ServiceAccount: "puller@my-project.iam.gserviceaccount.com", Provider: "projects/123456/locations/global/workloadIdentityPools/k8s/providers/my-cluster",
				SecretName: "gcr-pull-secret", Coverage: refresher.Coverage{Namespaces: []string{"preview-*"}, Excludes: []string{"preview-42"}, ServiceAccounts: []string{"default"}},
				LastSuccess: statusNow.Add(-30 * time.Second), ExpiresAt: statusNow.Add(29*time.Minute + 30*time.Second),
				LastResult: "refreshed 1 namespace(s) at 2026-03-04T12:29:30Z"},
			{Namespace: "pullsecret-system", Name: "pullsecret-refresher-9f8e7d6c5b", Mode: runner.ModeWatch,
				ServiceAccount: "other@my-project.iam.gserviceaccount.com", SecretName: "other-pull",
				Coverage: refresher.Coverage{Selector: "env=preview"}, LastResult: "failed at 2026-03-04T12:00:00Z: Google refused: token ***"},
			{Namespace: "team-ops", Name: "pullsecret-refresher-1234512345", CoverageError: `unknown key "registries": the refresher's ConfigMap holds only its coverage`},
		},
	}
}

func TestStatusText(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := writeStatusText(&b, sampleStatus(), statusNow); err != nil {
		t.Fatal(err)
	}
	check.Golden(t, filepath.Join("testdata", "status.golden"), b.String())
}

func TestStatusJSON(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := writeStatusJSON(&b, newJSONStatus("gcr-pull-secret", sampleStatus(), nil, statusNow, func(s string) string { return s })); err != nil {
		t.Fatal(err)
	}
	check.Golden(t, filepath.Join("testdata", "status.golden.json"), b.String())

	// An unreadable cluster is an object with the error, redacted.
	b.Reset()
	if err := writeStatusJSON(&b, newJSONStatus("gcr-pull-secret", nil, errors.New("cannot read"), statusNow, func(string) string { return "***" })); err != nil {
		t.Fatal(err)
	}
	if want := "{\n  \"secretName\": \"gcr-pull-secret\",\n  \"namespaces\": [],\n  \"refreshers\": [],\n  \"error\": \"***\"\n}\n"; b.String() != want {
		t.Errorf("status JSON of a failure = %s, want %s", b.String(), want)
	}
}

func TestStatusRefusesOtherFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"status", "--namespaces", "a"}, "pullsecret status does not take --namespaces"},
		{[]string{"status", "extra"}, `unexpected argument "extra"`},
		{[]string{"status", "--output", "yaml"}, `--output "yaml": must be text or json`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr := mainIn(t, nil, tc.args...)
			if code != ExitBadInput || stdout != "" || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d and %q", code, stdout, stderr, ExitBadInput, tc.want)
			}
		})
	}
	t.Run("help", func(t *testing.T) {
		code, stdout, _ := mainIn(t, nil, "status", "--help")
		if code != ExitOK || !strings.HasPrefix(stdout, "Usage: pullsecret status") {
			t.Errorf("exit %d, stdout %q", code, stdout)
		}
	})
}

func TestStatusInput(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  map[string]string
		want runner.StatusInput
	}{
		{"defaults", nil, runner.StatusInput{APIServerHost: "auto", SecretName: config.DefaultSecretName, ServiceAccounts: []string{"default"}}},
		{"empty inputs are unset, but for service_accounts", map[string]string{"INPUT_SECRET_NAME": "", "INPUT_SERVICE_ACCOUNTS": "", "INPUT_REFRESH_NAMESPACE": ""},
			runner.StatusInput{APIServerHost: "auto", SecretName: config.DefaultSecretName}},
		{"given", map[string]string{"INPUT_SECRET_NAME": "other", "INPUT_SERVICE_ACCOUNTS": "a, b", "INPUT_REFRESH_NAMESPACE": "refreshers", "INPUT_CONTEXT": "kind"},
			runner.StatusInput{APIServerHost: "auto", Context: "kind", SecretName: "other", ServiceAccounts: []string{"a", "b"}, RefreshNamespace: "refreshers"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fs, lookup, _ := newFlagSet(check.Lookup(tc.env))
			if err := fs.Parse(nil); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, statusInput(lookup), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("statusInput (-want +got):\n%s", diff)
			}
		})
	}
}
