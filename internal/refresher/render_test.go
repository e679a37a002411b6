package refresher

import (
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

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
		// Glob coverage, Workload Identity Federation.
		"glob": {config.InNamespaceSelector: "team in (web,api),tier!=db", config.InExcludeNamespaces: "preview-keep"},
		// Named coverage, the GKE metadata server.
		"named": {config.InRefreshWorkloadIdentityProvider: "", config.InNamespaces: "team-a,team-b", config.InRefreshInterval: "15m", config.InServiceAccounts: "default,builder"},
		// Workload Identity Federation for GKE without a Google service
		// account: no iam.gke.io annotation, the pod's own principal.
		"gke-direct": {config.InRefreshWorkloadIdentityProvider: "", config.InServiceAccount: ""},
		// The watching refresher, recovering pods: a Deployment and its
		// PodDisruptionBudget instead of the CronJob, watch verbs, the
		// Lease, pod deletes bounded by the admission policy.
		"watch-glob": {config.InRefreshMode: "watch", config.InRefreshRecoverPods: "true", config.InNamespaceSelector: "team in (web,api)", config.InServiceAccounts: "*"},
		"watch-named": {config.InRefreshMode: "watch", config.InRefreshRecoverPods: "true", config.InNamespaces: "team-a,team-b",
			config.InServiceAccounts: "default,builder", config.InTokenLifetime: "2h"},
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
	raw, err := CredentialConfig(testSettings(t, map[string]string{config.InTokenLifetime: "2h", config.InRefreshInterval: "1h"}), TokenPath)
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
		var want []string
		if allow && testrig.Enabled {
			want = []string{config.EnvAllowHTTPEndpoints + "=true"}
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
	proj := cj.Spec.JobTemplate.Spec.Template.Spec.Volumes[0].Projected.Sources[0].ServiceAccountToken
	got := []any{cj.Spec.Schedule, cj.Spec.ConcurrencyPolicy, *cj.Spec.JobTemplate.Spec.ActiveDeadlineSeconds, proj.Audience, *proj.ExpirationSeconds,
		cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Image}
	want := []any{"*/1 * * * *", batchv1.ForbidConcurrent, int64(60), "https://iam.googleapis.com/" + testProvider, int64(600), testImage}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// RBAC narrows by name wherever the coverage allows. Named coverage: the
// cluster-wide rule only reads the named namespaces, the write rules live
// in each one. Globs and selectors: list, and the write rules cluster-wide
// (the admission policy bounds them).
func TestRulesNarrowByName(t *testing.T) {
	t.Parallel()
	s := testSettings(t, map[string]string{config.InNamespaces: "b,a", config.InServiceAccounts: "default,builder", config.InSecretName: "s"})
	write := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"s"}, Verbs: []string{"list", "create", "patch"}},
		{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, ResourceNames: []string{"builder", "default"}, Verbs: []string{"get", "list", "update"}},
	}
	want := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"}, ResourceNames: []string{"a", "b"}, Verbs: []string{"get"}}}
	if d := cmp.Diff(want, s.clusterRules()); d != "" {
		t.Errorf("named, cluster rules (-want +got):\n%s", d)
	}
	objs := s.CoveredNamespaceObjects()
	if len(objs) != 4 || objs[0].Namespace != "a" || objs[2].Namespace != "b" {
		t.Fatalf("named coverage: %v, want a Role and RoleBinding in a and in b", objs)
	}
	if d := cmp.Diff(write, objs[0].Body.(*rbacv1.Role).Rules); d != "" {
		t.Errorf("named, Role in a (-want +got):\n%s", d)
	}
	g := testSettings(t, map[string]string{config.InNamespaces: "preview-*", config.InServiceAccounts: "*", config.InSecretName: "s"})
	globbed := g.clusterRules()
	if len(g.CoveredNamespaceObjects()) != 0 || len(globbed) != 3 || len(globbed[0].ResourceNames) != 0 || !cmp.Equal(globbed[0].Verbs, []string{"get", "list"}) ||
		!cmp.Equal(globbed[2].Verbs, []string{"get", "list", "update"}) || len(globbed[2].ResourceNames) != 0 {
		t.Errorf("globbed rules: %+v", globbed)
	}
}

func TestMergeAndWithout(t *testing.T) {
	t.Parallel()
	installed := Coverage{Namespaces: []string{"preview-1"}, Selector: "team=web", ServiceAccounts: []string{"default"}}
	merged := Coverage{Namespaces: []string{"preview-2"}, ServiceAccounts: []string{"builder"}}.Merge(installed)
	want := Coverage{Namespaces: []string{"preview-1", "preview-2"}, Selector: "team=web", ServiceAccounts: []string{"default", "builder"}}
	if d := cmp.Diff(want, merged); d != "" {
		t.Errorf("merged (-want +got):\n%s", d)
	}
	left := merged.Without([]string{"preview-1"}, "")
	if left.Empty() || !cmp.Equal(left.Namespaces, []string{"preview-2"}) {
		t.Errorf("without preview-1: %+v", left)
	}
	if gone := left.Without([]string{"preview-2"}, "team=web"); !gone.Empty() {
		t.Errorf("nothing left, yet it still covers %+v", gone)
	}
}

// One refresher per (service_account, secret_name): stable, distinct,
// valid names of at most 63 characters.
func TestObjectName(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 30) + "@" + strings.Repeat("p", 30) + ".iam.gserviceaccount.com"
	names := map[string]bool{}
	for _, id := range [][2]string{{testSA, "gcr-pull-secret"}, {testSA, "other"}, {"keyed@e2e-proj.iam.gserviceaccount.com", "gcr-pull-secret"}, {long, strings.Repeat("s", 253)}} {
		n := ObjectName(id[0], id[1])
		if n != ObjectName(id[0], id[1]) || len(n) > 63 || !regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`).MatchString(n) {
			t.Errorf("ObjectName%v = %q: not a stable DNS label", id, n)
		}
		if names[n] {
			t.Errorf("ObjectName%v = %q collides", id, n)
		}
		names[n] = true
	}
}

// The ConfigMap is read through an allowlist: coverage only.
func TestCoverageFromRefusesUnknownKeys(t *testing.T) {
	t.Parallel()
	for _, k := range []string{config.InSTSEndpoint, config.InKubeconfig, config.InRegistries, config.InServiceAccount, "inputs.json", "credentials.json"} {
		if _, err := CoverageFrom(map[string]string{KeyNamespaces: "a", k: "x"}); check.ErrDiff(err, `unknown key "`+k+`"`) != "" {
			t.Errorf("key %q: %v", k, err)
		}
	}
	c, err := CoverageFrom(Coverage{Namespaces: []string{"a", "b-*"}, Selector: "x=y", Excludes: []string{"b-1"}, ServiceAccounts: []string{"*"}}.Data())
	if err != nil || !c.Covers("a", nil) || !c.Covers("b-2", nil) || c.Covers("b-1", nil) || !c.Covers("z", map[string]string{"x": "y"}) || c.Covers("z", nil) {
		t.Errorf("round trip: %+v, %v", c, err)
	}
}

// A glob becomes the regular expression the admission policy matches
// with, agreeing with path.Match.
func TestGlobRegexpAgreesWithPathMatch(t *testing.T) {
	t.Parallel()
	names := []string{"preview-1", "preview-12", "preview-", "prod", "team-a", "team-b", "team-c", "a.b", "axb"}
	for _, p := range []string{"preview-*", "preview-?", "team-[ab]", "team-[^a]", "*", "a.b", "pre*-1*"} {
		re := regexp.MustCompile(GlobRegexp(p))
		for _, n := range names {
			want, _ := path.Match(p, n)
			if re.MatchString(n) != want {
				t.Errorf("pattern %q, name %q: regexp %s says %v, path.Match %v", p, n, re, !want, want)
			}
		}
	}
}

// Watch mode: watch verbs by name where the coverage names them, the
// Lease by name, and pod rules only with refresh_recover_pods. Without it
// nothing grants or admits a pod delete.
func TestWatchRules(t *testing.T) {
	t.Parallel()
	kinds := func(objs []Object) []string {
		var out []string
		for _, o := range objs {
			out = append(out, o.Kind)
		}
		return out
	}
	for _, recover := range []bool{false, true} {
		s := testSettings(t, map[string]string{config.InRefreshMode: "watch", config.InRefreshRecoverPods: strconv.FormatBool(recover),
			config.InNamespaces: "b,a", config.InServiceAccounts: "default", config.InSecretName: "s"})
		want := []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"s"}, Verbs: []string{"list", "watch", "create", "patch"}},
			{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, ResourceNames: []string{"default"}, Verbs: []string{"get", "list", "watch", "update"}},
		}
		if recover {
			want = append(want, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list", "delete"}},
				rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create"}})
		}
		if d := cmp.Diff(want, s.CoveredNamespaceObjects()[0].Body.(*rbacv1.Role).Rules); d != "" {
			t.Errorf("recover=%v: Role in a (-want +got):\n%s", recover, d)
		}
		// Its own ConfigMap, watched by name and nothing else.
		cm := rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{s.Name()}, Verbs: []string{"get", "list", "watch", "patch"}}
		if d := cmp.Diff(cm, s.ownRules()[0]); d != "" {
			t.Errorf("recover=%v: ConfigMap rule (-want +got):\n%s", recover, d)
		}
		ns := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"}, ResourceNames: []string{"a", "b"}, Verbs: []string{"get", "list", "watch"}}}
		if d := cmp.Diff(ns, s.clusterRules()); d != "" {
			t.Errorf("recover=%v: cluster rules (-want +got):\n%s", recover, d)
		}
		policy, _, err := s.admissionPolicy()
		if err != nil {
			t.Fatal(err)
		}
		var resources []string
		for _, r := range policy.Spec.MatchConstraints.ResourceRules {
			resources = append(resources, r.Resources...)
		}
		if got := slices.Contains(resources, "pods"); got != recover {
			t.Errorf("recover=%v: the policy matches pod deletes: %v", recover, got)
		}
		objs, err := Render(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := kinds(objs[len(objs)-2:]); !cmp.Equal(got, []string{"PodDisruptionBudget", "Deployment"}) || slices.Contains(kinds(objs), "CronJob") {
			t.Errorf("watch mode renders %v", kinds(objs))
		}
		if got := kinds(Retired(s)); !cmp.Equal(got, []string{"CronJob"}) {
			t.Errorf("watch mode retires %v, want the CronJob", got)
		}
	}
	cron := testSettings(t, nil)
	if got := cron.ownRules()[0].Verbs; !cmp.Equal(got, []string{"get", "patch"}) {
		t.Errorf("cron mode's ConfigMap verbs %v, want get and patch", got)
	}
	if got := kinds(Retired(cron)); !cmp.Equal(got, []string{"PodDisruptionBudget", "Deployment", "Lease"}) {
		t.Errorf("cron mode retires %v", got)
	}
}
