package promrule

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"
)

const ruleFile = "../../deploy/prometheusrule.yaml"

type ruleDoc struct {
	Kind string `json:"kind"`
	Spec struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Alert string `json:"alert"`
				Expr  string `json:"expr"`
				For   string `json:"for"`
			} `json:"rules"`
		} `json:"groups"`
	} `json:"spec"`
}

// Every alert of the PrometheusRule parses as PromQL, as Prometheus would
// load it, into an instant vector (what an alerting rule must be), and its
// `for` is a Prometheus duration.
func TestPrometheusRuleParses(t *testing.T) {
	raw, err := os.ReadFile(filepath.FromSlash(ruleFile))
	if err != nil {
		t.Fatal(err)
	}
	p := parser.NewParser(parser.Options{})
	alerts := 0
	for _, part := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(raw), -1) {
		var d ruleDoc
		if err := yaml.Unmarshal([]byte(part), &d); err != nil {
			t.Fatalf("%s: %v", ruleFile, err)
		}
		if d.Kind != "PrometheusRule" {
			continue
		}
		for _, g := range d.Spec.Groups {
			for _, r := range g.Rules {
				alerts++
				expr, err := p.ParseExpr(r.Expr)
				if err != nil {
					t.Errorf("%s: alert %s: %v", ruleFile, r.Alert, err)
					continue
				}
				if expr.Type() != parser.ValueTypeVector {
					t.Errorf("%s: alert %s is a %s, want an instant vector", ruleFile, r.Alert, expr.Type())
				}
				if _, err := model.ParseDuration(r.For); r.For != "" && err != nil {
					t.Errorf("%s: alert %s: for %q: %v", ruleFile, r.Alert, r.For, err)
				}
			}
		}
	}
	if alerts == 0 {
		t.Fatalf("%s holds no alert", ruleFile)
	}
}
