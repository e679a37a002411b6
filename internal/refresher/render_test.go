package refresher

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/testing/check"
	"github.com/pullsecret/pullsecret/internal/testrig"
)

const (
	testImage    = "ghcr.io/pullsecret/pullsecret@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	testProvider = "projects/123456/locations/global/workloadIdentityPools/kind/providers/kind"
	testSA       = "puller@e2e-proj.iam.gserviceaccount.com"
)

func testSettings(t *testing.T, extra map[string]string) Settings {
	t.Helper()
	in := map[string]string{config.InRefresh: "true", config.InRefreshImage: testImage, config.InServiceAccount: testSA,
		config.InAccessToken: "ya29.unused", config.InNamespaces: "preview-*", config.InRefreshWorkloadIdentityProvider: testProvider}
	for k, v := range extra {
		in[k] = v
	}
	cfg, err := config.Load(check.Lookup(in))
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSettings(cfg, cfg.Namespaces)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func renderYAML(t *testing.T, s Settings) string {
	t.Helper()
	objs, err := Render(s)
	if err != nil {
		t.Fatal(err)
	}
	var docs []string
	for _, o := range objs {
		b, err := yaml.Marshal(o.Body)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, string(b))
	}
	return strings.Join(docs, "---\n")
}

// The objects the action installs, rendered. UPDATE_GOLDEN=1 rewrites them.
func TestRenderGolden(t *testing.T) {
	t.Parallel()
	for name, extra := range map[string]map[string]string{
		"wif": nil,
		"gke": {config.InRefreshWorkloadIdentityProvider: "", config.InNamespaces: "team-a,team-b", config.InRefreshInterval: "15m"},
		// Workload Identity Federation for GKE without a Google service
		// account: no iam.gke.io annotation, the pod's own principal.
		"gke-direct": {config.InRefreshWorkloadIdentityProvider: "", config.InServiceAccount: ""},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := renderYAML(t, testSettings(t, extra))
			path := filepath.Join("testdata", "refresher-"+name+".yaml")
			if os.Getenv("UPDATE_GOLDEN") != "" {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(string(want), got); d != "" {
				t.Errorf("%s out of date (UPDATE_GOLDEN=1) (-want +got):\n%s", path, d)
			}
		})
	}
}

// The credential configuration is what Google's external_account loader
// expects, with the projected token as subject and impersonation of
// service_account for token_lifetime.
func TestCredentialConfig(t *testing.T) {
	t.Parallel()
	raw, err := CredentialConfig(testSettings(t, map[string]string{config.InTokenLifetime: "2h", config.InRefreshInterval: "1h"}))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"type":                              "external_account",
		"audience":                          "//iam.googleapis.com/" + testProvider,
		"subject_token_type":                "urn:ietf:params:oauth:token-type:jwt",
		"token_url":                         "https://sts.googleapis.com/v1/token",
		"service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/" + testSA + ":generateAccessToken",
		"service_account_impersonation":     map[string]any{"token_lifetime_seconds": float64(7200)},
		"credential_source":                 map[string]any{"file": "/var/run/secrets/pullsecret/token", "format": map[string]any{"type": "text"}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// The test-rig switch reaches the refresher's pod only from a test-rig
// build's run that has it: a production build renders no such variable.
func TestAllowHTTPEndpointsOnlyFromATestRig(t *testing.T) {
	t.Parallel()
	for _, allow := range []bool{false, true} {
		s := testSettings(t, nil)
		s.AllowHTTPEndpoints = allow
		objs, err := Render(s)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range objs[len(objs)-1].Body.(*batchv1.CronJob).Spec.JobTemplate.Spec.Template.Spec.Containers[0].Env {
			got = append(got, e.Name+"="+e.Value)
		}
		want := []string{"GOOGLE_APPLICATION_CREDENTIALS=/etc/pullsecret/credentials.json"}
		if allow && testrig.Enabled {
			want = append([]string{config.EnvAllowHTTPEndpoints + "=true"}, want...)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("allow=%v: env (-want +got):\n%s", allow, d)
		}
	}
	cfg, err := config.Load(func(n string) (string, bool) {
		v, ok := map[string]string{config.InRefresh: "true", config.InRefreshImage: testImage, config.InServiceAccount: testSA, config.InAccessToken: "ya29.unused"}[n]
		return v, ok
	}, config.AllowHTTPEndpoints(true))
	if err != nil {
		t.Fatal(err)
	}
	if s, err := NewSettings(cfg, nil); err != nil || !s.AllowHTTPEndpoints {
		t.Errorf("NewSettings from a run with %s: AllowHTTPEndpoints = %v (err %v)", config.EnvAllowHTTPEndpoints, s.AllowHTTPEndpoints, err)
	}
}

// The projected token is short-lived and for the provider; the CronJob
// never overlaps and ends before the next is due.
func TestCronJobTokenAndDeadline(t *testing.T) {
	t.Parallel()
	objs, err := Render(testSettings(t, map[string]string{config.InRefreshInterval: "1m", config.InTokenLifetime: "2m"}))
	if err != nil {
		t.Fatal(err)
	}
	cj := objs[len(objs)-1].Body.(*batchv1.CronJob)
	proj := cj.Spec.JobTemplate.Spec.Template.Spec.Volumes[1].Projected.Sources[0].ServiceAccountToken
	got := []any{cj.Spec.Schedule, cj.Spec.ConcurrencyPolicy, *cj.Spec.JobTemplate.Spec.ActiveDeadlineSeconds, proj.Audience, *proj.ExpirationSeconds,
		cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Image}
	want := []any{"*/1 * * * *", batchv1.ForbidConcurrent, int64(60), "https://iam.googleapis.com/" + testProvider, int64(600), testImage}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// RBAC narrows by name wherever the coverage allows: explicit namespaces
// and ServiceAccounts by name; globs and "*" need list.
func TestClusterRulesNarrowByName(t *testing.T) {
	t.Parallel()
	named := clusterRules(map[string]string{config.InNamespaces: "b\na", config.InServiceAccounts: "default,builder", config.InSecretName: "s"})
	want := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"namespaces"}, ResourceNames: []string{"a", "b"}, Verbs: []string{"get"}},
		{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"s"}, Verbs: []string{"list", "create", "patch"}},
		{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, ResourceNames: []string{"builder", "default"}, Verbs: []string{"get", "list", "update"}},
	}
	if d := cmp.Diff(want, named); d != "" {
		t.Errorf("named (-want +got):\n%s", d)
	}
	globbed := clusterRules(map[string]string{config.InNamespaces: "preview-*", config.InServiceAccounts: "*", config.InSecretName: "s"})
	if len(globbed[0].ResourceNames) != 0 || !cmp.Equal(globbed[0].Verbs, []string{"get", "list"}) || !cmp.Equal(globbed[2].Verbs, []string{"get", "list", "update"}) || len(globbed[2].ResourceNames) != 0 {
		t.Errorf("globbed rules: %+v", globbed)
	}
}

func TestMergeAndWithout(t *testing.T) {
	t.Parallel()
	s := testSettings(t, map[string]string{config.InNamespaces: "preview-2"})
	installed := map[string]string{config.InNamespaces: "preview-1", config.InSecretName: config.DefaultSecretName, config.InNamespaceSelector: "team=web"}
	if err := s.Merge(installed); err != nil {
		t.Fatal(err)
	}
	if got := s.Inputs[config.InNamespaces]; got != "preview-1\npreview-2" {
		t.Errorf("merged coverage %q", got)
	}
	left, covers := Without(s.Inputs, []string{"preview-1"}, "")
	if !covers || left[config.InNamespaces] != "preview-2" {
		t.Errorf("without preview-1: %q, covers %v", left[config.InNamespaces], covers)
	}
	if _, covers := Without(left, []string{"preview-2"}, "team=web"); covers {
		t.Error("nothing left, yet it still covers something")
	}
	other := testSettings(t, map[string]string{config.InSecretName: "other"})
	if err := other.Merge(installed); check.ErrDiff(err, `input "refresh_namespace"`) != "" {
		t.Errorf("another secret name in the same refresh_namespace: %v", err)
	}
	_ = time.Second
}
