package repocheck

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/labels"
	"github.com/pullsecret/pullsecret/internal/metrics"
	"github.com/pullsecret/pullsecret/internal/refresher"
)

const promRuleFile = "deploy/prometheusrule.yaml"

type monitoringDoc struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec struct {
		Groups []struct {
			Rules []struct {
				Alert       string            `json:"alert"`
				Expr        string            `json:"expr"`
				For         string            `json:"for"`
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"rules"`
		} `json:"groups"`
		Selector struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"selector"`
		NamespaceSelector struct {
			MatchNames []string `json:"matchNames"`
		} `json:"namespaceSelector"`
		PodMetricsEndpoints []struct {
			Port string `json:"port"`
			Path string `json:"path"`
		} `json:"podMetricsEndpoints"`
	} `json:"spec"`
}

var metricName = regexp.MustCompile(`\bpullsecret_[a-z0-9_]+\b`)

// TestPrometheusRuleUsesRegisteredMetrics keeps deploy/'s PrometheusRule
// and PodMonitor from drifting: every pullsecret_ metric an alert names is
// one the metrics package registers, the two alerts the docs promise
// exist, and the PodMonitor selects the refresher's pods by the labels
// they carry and the port that serves /metrics. (tools/promrule parses
// the expressions with Prometheus's own parser.)
func TestPrometheusRuleUsesRegisteredMetrics(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(promRuleFile)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]monitoringDoc{}
	for _, part := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(raw), -1) {
		var d monitoringDoc
		if err := yaml.Unmarshal([]byte(part), &d); err != nil {
			t.Fatalf("%s: %v", promRuleFile, err)
		}
		if d.APIVersion != "monitoring.coreos.com/v1" {
			t.Errorf("%s: %s has apiVersion %q, want monitoring.coreos.com/v1", promRuleFile, d.Kind, d.APIVersion)
		}
		if d.Metadata.Namespace != config.DefaultRefreshNamespace {
			t.Errorf("%s: %s in namespace %q, want refresh_namespace's default %q", promRuleFile, d.Kind, d.Metadata.Namespace, config.DefaultRefreshNamespace)
		}
		kinds[d.Kind] = d
	}

	rule, ok := kinds["PrometheusRule"]
	if !ok {
		t.Fatalf("%s has no PrometheusRule", promRuleFile)
	}
	used := map[string]bool{}
	var exprs []string
	for _, g := range rule.Spec.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" || r.Expr == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("%s: rule %q needs alert, expr, labels.severity and annotations.summary", promRuleFile, r.Alert)
			}
			if strings.Count(r.Expr, "(") != strings.Count(r.Expr, ")") {
				t.Errorf("%s: alert %s: unbalanced parentheses in %q", promRuleFile, r.Alert, r.Expr)
			}
			for _, m := range metricName.FindAllString(r.Expr, -1) {
				used[m] = true
				if !slices.Contains(metrics.Names, m) {
					t.Errorf("%s: alert %s uses %s, which internal/metrics does not register (it registers %v)", promRuleFile, r.Alert, m, metrics.Names)
				}
			}
			// Only the leader's gauges move: an alert on a raw series
			// would fire on the follower's zeros.
			if !strings.Contains(r.Expr, "by (namespace, "+metrics.ConstLabel) {
				t.Errorf("%s: alert %s does not aggregate by (namespace, %s) over the replicas: %q", promRuleFile, r.Alert, metrics.ConstLabel, r.Expr)
			}
			exprs = append(exprs, strings.Join(strings.Fields(r.Expr), " "))
		}
	}
	for _, want := range [][]string{
		{metrics.TokenExpiry, "- time() < 600"},
		{"time() - ", metrics.LastSuccess, "> 2 * ", metrics.RefreshInterval},
	} {
		if !slices.ContainsFunc(exprs, func(e string) bool {
			return !slices.ContainsFunc(want, func(w string) bool { return !strings.Contains(e, w) })
		}) {
			t.Errorf("%s: no alert whose expression has all of %q", promRuleFile, want)
		}
	}
	if len(used) == 0 {
		t.Errorf("%s: no alert names a pullsecret_ metric", promRuleFile)
	}

	mon, ok := kinds["PodMonitor"]
	if !ok {
		t.Fatalf("%s has no PodMonitor", promRuleFile)
	}
	// The pods of a rendered watch-mode refresher: their labels and the
	// container port the PodMonitor names.
	deployment := renderedDeployment(t)
	podLabels := deployment.Spec.Template.Labels
	if !slices.ContainsFunc(deployment.Spec.Template.Spec.Containers[0].Ports, func(p corev1.ContainerPort) bool {
		return p.Name == refresher.MetricsPortName
	}) {
		t.Errorf("the rendered Deployment has no container port named %q", refresher.MetricsPortName)
	}
	if len(mon.Spec.Selector.MatchLabels) == 0 {
		t.Errorf("%s: the PodMonitor selects no labels", promRuleFile)
	}
	for k, v := range mon.Spec.Selector.MatchLabels {
		if k == labels.Instance {
			t.Errorf("%s: the PodMonitor selects one refresher (%s); it must scrape every one", promRuleFile, k)
		}
		if podLabels[k] != v {
			t.Errorf("%s: the PodMonitor selects %s=%s; a refresher's pods carry %v", promRuleFile, k, v, podLabels)
		}
	}
	if !slices.Equal(mon.Spec.NamespaceSelector.MatchNames, []string{config.DefaultRefreshNamespace}) {
		t.Errorf("%s: the PodMonitor scrapes namespaces %v, want [%s]", promRuleFile, mon.Spec.NamespaceSelector.MatchNames, config.DefaultRefreshNamespace)
	}
	if len(mon.Spec.PodMetricsEndpoints) != 1 || mon.Spec.PodMetricsEndpoints[0].Port != refresher.MetricsPortName || mon.Spec.PodMetricsEndpoints[0].Path != "/metrics" {
		t.Errorf("%s: the PodMonitor scrapes %+v, want port %q path /metrics", promRuleFile, mon.Spec.PodMetricsEndpoints, refresher.MetricsPortName)
	}
}

// renderedDeployment is the Deployment the installer renders for a
// watch-mode refresher.
func renderedDeployment(t *testing.T) *appsv1.Deployment {
	t.Helper()
	cfg, err := config.Load(func(name string) (string, bool) {
		v, ok := map[string]string{config.InRefresh: "true", config.InRefreshMode: config.RefreshWatch, config.InNamespaces: "preview-*",
			config.InServiceAccount: "puller@my-project.iam.gserviceaccount.com", config.InAccessToken: "ya29.unused",
			config.InRefreshImage: "ghcr.io/pullsecret/pullsecret@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		}[name]
		return v, ok
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := refresher.NewSettings(cfg, cfg.Namespaces)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := refresher.Render(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if d, ok := o.Body.(*appsv1.Deployment); ok {
			return d
		}
	}
	t.Fatal("a watch-mode refresher renders no Deployment")
	return nil
}
