// Package promrule checks deploy/prometheusrule.yaml with Prometheus's own
// PromQL parser: a nested module, so that the product's module never
// depends on the Prometheus server (the root's repocheck test checks the
// metric names against internal/metrics; this one the expressions).
package promrule
