package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/kube"
	"github.com/pullsecret/pullsecret/internal/refresher"
)

// refreshPlan is what refresh: true will do to the in-cluster refresher,
// decided before anything is written.
type refreshPlan struct {
	cfg      *config.Config
	c        *kube.Client
	settings refresher.Settings // apply
	coverage []string           // this run's namespace patterns
	// targets are the refreshers a teardown narrows: the one of
	// service_account when it is set, else every one keeping secret_name
	// fresh in refresh_namespace.
	targets []refresher.Settings
}

func planRefresh(ctx context.Context, cfg *config.Config, conn *kube.Connection) (*refreshPlan, error) {
	p := &refreshPlan{cfg: cfg, c: conn.Client, coverage: cfg.Namespaces}
	if len(p.coverage) == 0 && cfg.NamespaceSelector == "" {
		p.coverage = []string{conn.Namespace}
	}
	if cfg.Mode == config.ModeDelete {
		return p, p.planTeardown(ctx)
	}
	var err error
	if p.settings, err = refresher.NewSettings(cfg, p.coverage); err != nil {
		return nil, err
	}
	if err := checkAdmissionPolicies(ctx, p.c); err != nil {
		return nil, Classify(ErrBadInput, explainForbidden(err, cfg.SecretName))
	}
	if err := checkRefreshNamespace(ctx, p.c, cfg.RefreshNamespace, p.settings.Coverage, cfg.RefreshNamespaceAdopt); err != nil {
		return nil, Classify(ErrBadInput, explainForbidden(err, cfg.SecretName))
	}
	return p, nil
}

func (p *refreshPlan) planTeardown(ctx context.Context) error {
	id := refresher.Settings{Namespace: p.cfg.RefreshNamespace, SecretName: p.cfg.SecretName}
	if p.cfg.ServiceAccount != "" {
		id.ServiceAccount = p.cfg.ServiceAccount
		p.targets = []refresher.Settings{id}
		return nil
	}
	found, err := listRefreshers(ctx, p.c, p.cfg.RefreshNamespace, p.cfg.SecretName)
	if err != nil {
		return explainForbidden(err, p.cfg.SecretName)
	}
	for _, in := range found {
		id.ServiceAccount = in.Identity.ServiceAccount
		p.targets = append(p.targets, id)
	}
	return nil
}

// carryOut installs the refresher (after the secrets were written) or
// narrows or removes it (before they are deleted, so that no refresher run
// writes them again), and says so in the log and the step summary.
func (p *refreshPlan) carryOut(ctx context.Context, r Reporter, res *Result) error {
	ns := p.cfg.RefreshNamespace
	would := ""
	if p.cfg.DryRun {
		would = "would be "
	}
	r.Group("In-cluster refresher in namespace " + ns)
	defer r.EndGroup()
	if p.cfg.Mode == config.ModeApply {
		done, err := installRefresher(ctx, p.c, p.settings, p.cfg.DryRun)
		if err != nil {
			return fmt.Errorf("failed to install the refresher in namespace %q: %w", ns, err)
		}
		for _, o := range done.retired {
			r.Infof("%sdeleted: %s (refresh_mode is now %s)", would, o, p.settings.ModeName())
		}
		for _, o := range done.applied {
			r.Infof("%sapplied: %s", would, o)
		}
		how := "the metadata server (GKE)"
		if p.settings.Provider != "" {
			how = "Workload Identity provider `" + p.settings.Provider + "`"
		}
		res.Refresher = fmt.Sprintf("%sinstalled in `%s` as `%s` — %s, image `%s`, authenticating as `%s` through %s; covers %s.",
			would, ns, p.settings.Name(), describeMode(p.settings, p.cfg), p.settings.Image, p.settings.ServiceAccount, how, describeCoverage(done.coverage))
		r.Infof("Refresher %s", res.Refresher)
		return nil
	}
	if len(p.targets) == 0 {
		res.Refresher = fmt.Sprintf("none in `%s` for secret `%s`; nothing to remove.", ns, p.cfg.SecretName)
		r.Infof("No refresher in namespace %s keeps %s fresh; nothing to remove.", ns, p.cfg.SecretName)
		return nil
	}
	var said []string
	var errs []error
	for _, t := range p.targets {
		rest, removed, err := narrowRefresher(ctx, p.c, t, p.coverage, p.cfg.NamespaceSelector, p.cfg.DryRun)
		for _, o := range removed {
			r.Infof("%sdeleted: %s", would, o)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("failed to update the refresher %s in namespace %q: %w", t.Name(), ns, err))
			continue
		}
		switch {
		case rest.Empty() && len(removed) == 0:
			said = append(said, fmt.Sprintf("none in `%s` for `%s`; nothing to remove", ns, t.ServiceAccount))
		case rest.Empty():
			said = append(said, fmt.Sprintf("`%s` %sremoved from `%s` (no namespace left to cover)", t.Name(), would, ns))
		default:
			said = append(said, fmt.Sprintf("`%s` %skept in `%s`, still covering %s", t.Name(), would, ns, describeCoverage(rest)))
		}
	}
	res.Refresher = strings.Join(said, "; ") + "."
	r.Infof("Refresher %s", res.Refresher)
	return errors.Join(errs...)
}

// describeMode says how the refresher runs: refresh_mode and its rhythm.
func describeMode(s refresher.Settings, cfg *config.Config) string {
	if !s.Watch() {
		return fmt.Sprintf("mode `cron`: every %s (`%s`)", cfg.RefreshInterval, s.Schedule)
	}
	recover := "stuck pods are not recovered"
	if s.RecoverPods {
		recover = "recovering stuck pods"
	}
	return fmt.Sprintf("mode `watch`: a Deployment of %d replicas covering new namespaces and ServiceAccounts as they appear, refreshing every %s (half of `%s`), %s",
		refresher.Replicas, s.Interval, config.InTokenLifetime, recover)
}

func describeCoverage(c refresher.Coverage) string {
	var parts []string
	if len(c.Namespaces) > 0 {
		parts = append(parts, "`"+strings.Join(c.Namespaces, "`, `")+"`")
	}
	if c.Selector != "" {
		parts = append(parts, "namespaces labelled `"+c.Selector+"`")
	}
	return strings.Join(parts, " and ")
}
