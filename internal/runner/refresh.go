package runner

import (
	"context"
	"fmt"
	"strings"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/kube"
	"github.com/pullsecret/pullsecret/internal/refresher"
)

// refreshPlan is what refresh: true will do to the in-cluster refresher,
// decided before anything is written.
type refreshPlan struct {
	cfg       *config.Config
	c         *kube.Client
	installed map[string]string
	settings  refresher.Settings // apply
	coverage  []string           // this run's namespace patterns
}

func planRefresh(ctx context.Context, cfg *config.Config, conn *kube.Connection) (*refreshPlan, error) {
	p := &refreshPlan{cfg: cfg, c: conn.Client, coverage: cfg.Namespaces}
	if len(p.coverage) == 0 && cfg.NamespaceSelector == "" {
		p.coverage = []string{conn.Namespace}
	}
	cm, err := installedRefresher(ctx, p.c, cfg.RefreshNamespace)
	if err != nil {
		return nil, explainForbidden(err, cfg.SecretName)
	}
	if p.installed, err = refresher.InstalledInputs(cm); err != nil {
		return nil, err
	}
	if cfg.Mode == config.ModeDelete {
		return p, nil
	}
	if p.settings, err = refresher.NewSettings(cfg, p.coverage); err != nil {
		return nil, err
	}
	if err := p.settings.Merge(p.installed); err != nil {
		return nil, err
	}
	return p, nil
}

// carryOut installs, narrows or removes the refresher and says so in the
// log and the step summary.
func (p *refreshPlan) carryOut(ctx context.Context, r Reporter, res *Result) error {
	ns := p.cfg.RefreshNamespace
	would := ""
	if p.cfg.DryRun {
		would = "would be "
	}
	r.Group("In-cluster refresher in namespace " + ns)
	defer r.EndGroup()
	if p.cfg.Mode == config.ModeApply {
		objs, err := installRefresher(ctx, p.c, p.settings, p.cfg.DryRun)
		if err != nil {
			return fmt.Errorf("failed to install the refresher in namespace %q: %w", ns, err)
		}
		for _, o := range objs {
			r.Infof("%sapplied: %s", would, o)
		}
		how := "the metadata server (GKE)"
		if p.settings.Provider != "" {
			how = "Workload Identity provider `" + p.settings.Provider + "`"
		}
		res.Refresher = fmt.Sprintf("%sinstalled in `%s` — every %s (`%s`), image `%s`, authenticating as `%s` through %s; covers `%s`.",
			would, ns, p.cfg.RefreshInterval, p.settings.Schedule, p.settings.Image, p.settings.ServiceAccount, how,
			strings.ReplaceAll(p.settings.Inputs[config.InNamespaces], "\n", "`, `"))
		r.Infof("Refresher %s", res.Refresher)
		return nil
	}
	if p.installed == nil {
		res.Refresher = fmt.Sprintf("none in `%s`; nothing to remove.", ns)
		r.Infof("No refresher in namespace %s; nothing to remove.", ns)
		return nil
	}
	remaining, covers := refresher.Without(p.installed, p.coverage, p.cfg.NamespaceSelector)
	if covers {
		cm, err := installedRefresher(ctx, p.c, ns)
		if err != nil {
			return err
		}
		if cm != nil {
			if err := narrowRefresher(ctx, p.c, cm, remaining, p.cfg.DryRun); err != nil {
				return fmt.Errorf("failed to update the refresher in namespace %q: %w", ns, err)
			}
		}
		res.Refresher = fmt.Sprintf("%skept in `%s`, still covering `%s`.", would, ns, strings.ReplaceAll(remaining[config.InNamespaces], "\n", "`, `"))
		r.Infof("Refresher %s", res.Refresher)
		return nil
	}
	removed, err := uninstallRefresher(ctx, p.c, ns, p.cfg.DryRun)
	for _, o := range removed {
		r.Infof("%sdeleted: %s", would, o)
	}
	if err != nil {
		return fmt.Errorf("failed to remove the refresher from namespace %q: %w", ns, err)
	}
	res.Refresher = fmt.Sprintf("%sremoved from `%s` (no namespace left to cover).", would, ns)
	r.Infof("Refresher %s", res.Refresher)
	return nil
}
