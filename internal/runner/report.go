package runner

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/kube"
)

// report sets the outputs and writes the step summary. Outputs name only
// namespaces that really succeeded.
func report(r Reporter, res *Result) error {
	ns, err := json.Marshal(res.Succeeded())
	if err != nil {
		return err
	}
	regs, err := json.Marshal(res.Registries)
	if err != nil {
		return err
	}
	r.SetOutput("secret_name", res.SecretName)
	r.SetOutput("namespaces", string(ns))
	r.SetOutput("expires_at", formatExpiry(res.ExpiresAt))
	r.SetOutput("registries", string(regs))
	r.AddStepSummary(Summary(res))
	return nil
}

func formatExpiry(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// Summary renders the step summary as Markdown. It holds names and times
// only, never credential material.
func Summary(res *Result) string {
	var b strings.Builder
	title := "pullsecret: wrote"
	if res.Mode == config.ModeDelete {
		title = "pullsecret: deleted"
	}
	if res.DryRun {
		title += " (dry run, nothing changed)"
	}
	if res.verifyFailed() {
		title = "pullsecret: nothing written (verify_image failed) for"
	}
	fmt.Fprintf(&b, "### %s `%s`\n\n", title, res.SecretName)
	if res.Method != "" {
		fmt.Fprintf(&b, "Credential: %s as `%s`", res.Method, res.Principal)
		if !res.ExpiresAt.IsZero() {
			fmt.Fprintf(&b, ", expires **%s**", formatExpiry(res.ExpiresAt))
		}
		b.WriteString("\n\n")
	}
	if !res.verifyFailed() {
		summaryNamespaces(&b, res)
	}
	if len(res.ImageChecks) > 0 {
		b.WriteString("\n| Image checked (verify_image) | Pull |\n|---|---|\n")
		for _, c := range res.ImageChecks {
			status := "✅ ok"
			if c.Err != nil {
				status = "❌ failed: " + escapeCell(c.Err.Error())
			}
			fmt.Fprintf(&b, "| `%s` | %s |\n", c.Image, status)
		}
	}
	fmt.Fprintf(&b, "\nRegistries: %s\n", "`"+strings.Join(res.Registries, "`, `")+"`")
	if res.Refresher != "" {
		fmt.Fprintf(&b, "\nRefresher: %s\n", res.Refresher)
	}
	return b.String()
}

func summaryNamespaces(b *strings.Builder, res *Result) {
	b.WriteString("| Namespace | Secret | ServiceAccounts patched | Expires | Status |\n")
	b.WriteString("|---|---|---|---|---|\n")
	expiry := formatExpiry(res.ExpiresAt)
	if expiry == "" {
		expiry = "—"
	}
	for _, n := range res.Namespaces {
		status := "✅ ok"
		if n.Skipped != "" {
			status = "⏭ skipped: " + n.Skipped
		}
		if n.Err != nil {
			status = "❌ " + escapeCell(n.Err.Error())
		}
		secret := secretText(n.Secret, res.DryRun)
		if n.CreatedNamespace {
			secret += " (namespace created)"
		}
		fmt.Fprintf(b, "| `%s` | %s | %s | %s | %s |\n", n.Namespace, orDash(secret), orDash(strings.Join(n.Patched, ", ")), expiry, status)
	}
	if len(res.Namespaces) == 0 {
		b.WriteString("| — | — | — | — | no namespace matched |\n")
	}
}

// progress logs each namespace as it completes; on runs of more than one
// namespace each line carries a count ([3/120]).
type progress struct {
	mu    sync.Mutex
	r     Reporter
	cfg   *config.Config
	total int
	n     int
}

func (p *progress) done(nr NamespaceResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	count := ""
	if p.total > 1 {
		count = fmt.Sprintf("[%d/%d] ", p.n, p.total)
	}
	logNamespace(p.r, p.cfg, nr, count)
}

func logNamespace(r Reporter, cfg *config.Config, n NamespaceResult, prefix string) {
	if n.Err != nil {
		r.Warningf("%s%v", prefix, n.Err)
		return
	}
	if n.Skipped != "" {
		r.Infof("%s%s: skipped (%s)", prefix, n.Namespace, n.Skipped)
		return
	}
	if cfg.DryRun {
		prefix += "[dry run] "
	}
	created := ""
	if n.CreatedNamespace {
		created = " (namespace created)"
	}
	r.Infof("%s%s: secret %s%s; ServiceAccounts changed: %s; already set: %s", prefix, n.Namespace, secretText(n.Secret, cfg.DryRun), created, orDash(strings.Join(n.Patched, ", ")), orDash(strings.Join(n.Unchanged, ", ")))
}

// secretText names what happened to the secret; a dry run's forced
// replacement (a delete, then a create) says plainly that it would happen.
func secretText(s kube.SecretResult, dryRun bool) string {
	if dryRun && s == kube.SecretReplaced {
		return "would replace (force)"
	}
	return string(s)
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func escapeCell(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ").Replace(s)
}
