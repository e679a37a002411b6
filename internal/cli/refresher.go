package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/labels"
	"github.com/pullsecret/pullsecret/internal/refresher"
	"github.com/pullsecret/pullsecret/internal/runner"
)

// RefresherCommand and RenderCommand select `pullsecret refresher render`.
const (
	RefresherCommand = "refresher"
	RenderCommand    = "render"
)

const renderHelp = `pullsecret refresher render prints the in-cluster refresher's manifests as
multi-document YAML: the objects the action installs with refresh: true
(ServiceAccount, admission policy, RBAC, the coverage ConfigMap, and the
CronJob or, with --refresh-mode watch, the Deployment), for Argo CD, Flux or
kubectl apply from Git. It reads no cluster and needs no credentials; the
coverage is --namespaces and --namespace-selector (there is no context's
namespace to fall back on). See docs/recipes.md#install-from-git-argo-cd-flux.

Usage:
  pullsecret refresher render [input flags]

Example:
  pullsecret refresher render --refresh-mode watch --namespaces 'team-a-*' \
    --service-account puller@my-project.iam.gserviceaccount.com \
    --refresh-workload-identity-provider projects/123/locations/global/workloadIdentityPools/k8s/providers/prod \
    --refresh-image ghcr.io/pullsecret/pullsecret@sha256:…

Flags: every input flag of pullsecret (pullsecret --help), --refresh implied.
`

// refresherCommand is `pullsecret refresher render`.
func refresherCommand(e Env) int {
	args := e.Args[1:]
	if len(args) == 0 || args[0] != RenderCommand {
		return usageError(e.Stderr, fmt.Errorf("%s takes one command: %s", RefresherCommand, RenderCommand))
	}
	fs, lookup, o := newFlagSet(e.LookupEnv)
	if err := fs.Parse(args[1:]); err != nil {
		return usageError(e.Stderr, err)
	}
	switch {
	case o.help:
		fmt.Fprint(e.Stdout, renderHelp)
		return ExitOK
	case fs.NArg() > 0:
		return usageError(e.Stderr, fmt.Errorf("unexpected argument %q: pullsecret refresher render takes flags only", fs.Arg(0)))
	}
	if err := renderRefresher(e.Stdout, e.Stderr, lookup, o.releaseImage); err != nil {
		fmt.Fprintf(e.Stderr, "error: %v\n", err)
		return ExitCode(err)
	}
	return ExitOK
}

// renderRefresher prints what installRefresher would apply for a first
// install: refresh_namespace (labelled as dedicated to refreshers, so the
// action accepts it later and never deletes it), then refresher.Recorded's
// objects.
func renderRefresher(stdout, stderr io.Writer, lookup config.Lookup, releaseImage string) error {
	refresh := func(name string) (string, bool) {
		if name == config.InRefresh {
			return "true", true
		}
		return lookup(name)
	}
	cfg, err := config.Load(refresh, config.ReleaseImage(releaseImage))
	if err == nil && cfg.Mode != config.ModeApply {
		err = fmt.Errorf("input %q: pullsecret refresher render prints an install; remove the refresher from Git to uninstall it", config.InMode)
	}
	if err == nil && len(cfg.Namespaces) == 0 && cfg.NamespaceSelector == "" {
		err = fmt.Errorf("input %q: pullsecret refresher render needs the coverage: set %s or %s (no cluster is read for the context's namespace)",
			config.InNamespaces, config.InNamespaces, config.InNamespaceSelector)
	}
	if err != nil {
		return fmt.Errorf("invalid configuration:\n%w", runner.Classify(runner.ErrBadInput, err))
	}
	for _, w := range cfg.Warnings() {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	s, err := refresher.NewSettings(cfg, cfg.Namespaces)
	if err != nil {
		return runner.Classify(runner.ErrBadInput, err)
	}
	objs, err := refresher.Recorded(s)
	if err != nil {
		return runner.Classify(runner.ErrBadInput, err)
	}
	bodies := []any{map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{
		"name": s.Namespace, "labels": map[string]string{labels.Dedicated: "refresher"}}}}
	for _, o := range objs {
		bodies = append(bodies, o.Body)
	}
	var docs []string
	for _, b := range bodies {
		doc, err := manifest(b)
		if err != nil {
			return err
		}
		docs = append(docs, doc)
	}
	_, err = io.WriteString(stdout, "---\n"+strings.Join(docs, "---\n"))
	return err
}

// manifest is body as YAML without what only the API server fills in
// (status, creationTimestamp), which a GitOps tool would report as drift.
func manifest(body any) (string, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return "", fmt.Errorf("failed to encode a refresher object: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return "", fmt.Errorf("failed to encode a refresher object: %w", err)
	}
	delete(m, "status")
	dropNullTimestamps(m)
	out, err := yaml.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("failed to encode a refresher object: %w", err)
	}
	return string(out), nil
}

// dropNullTimestamps removes the creationTimestamp: null that every
// object's and template's metadata marshals to.
func dropNullTimestamps(v any) {
	switch v := v.(type) {
	case map[string]any:
		if ts, ok := v["creationTimestamp"]; ok && ts == nil {
			delete(v, "creationTimestamp")
		}
		for _, x := range v {
			dropNullTimestamps(x)
		}
	case []any:
		for _, x := range v {
			dropNullTimestamps(x)
		}
	}
}
