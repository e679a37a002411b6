package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/pullsecret/pullsecret/internal/actions"
	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/httplog"
	"github.com/pullsecret/pullsecret/internal/runner"
)

// StatusCommand is `pullsecret status [--output json]`: what the cluster
// holds (the pull secret per namespace, the refreshers), read only.
const StatusCommand = "status"

// statusInputs are the inputs `pullsecret status` reads; it refuses the
// others rather than ignore them.
var statusInputs = []string{config.InKubeconfig, config.InContext, config.InAPIServerHost,
	config.InSecretName, config.InServiceAccounts, config.InRefreshNamespace}

const statusUsage = `Usage: pullsecret status [flags]

Show, per namespace holding the pull secret, its token's expiry, who wrote
it and whether each chosen ServiceAccount references it; then every
refresher: its coverage, identity, mode and last success. Reads only
(secrets as metadata: no credential is ever fetched).

Flags:
  --kubeconfig PATH           the cluster (default: $KUBECONFIG, ~/.kube/config, in-cluster)
  --context NAME              kubeconfig context (default: the current one)
  --secret-name NAME          the pull secret (default gcr-pull-secret)
  --service-accounts LIST     ServiceAccounts expected to reference it, * for all (default default)
  --refresh-namespace NS      only the refreshers in NS (default: every namespace)
  -o, --output text|json      a table (default) or one JSON object (see docs/cli.md)
  --debug                     log every HTTP request (method, host, path, status)
`

func statusCommand(ctx context.Context, e Env) int {
	fs, lookup, o := newFlagSet(e.LookupEnv)
	if err := fs.Parse(e.Args[1:]); err != nil {
		return usageError(e.Stderr, err)
	}
	var unused []string
	fs.Visit(func(f *pflag.Flag) {
		if !slices.ContainsFunc(statusInputs, func(in string) bool { return config.Input{Name: in}.Flag() == f.Name }) &&
			!slices.Contains([]string{"output", "debug", "help"}, f.Name) {
			unused = append(unused, "--"+f.Name)
		}
	})
	switch {
	case o.help:
		_, _ = io.WriteString(e.Stdout, statusUsage)
		return ExitOK
	case fs.NArg() > 0:
		return usageError(e.Stderr, fmt.Errorf("unexpected argument %q: pullsecret status takes flags only", fs.Arg(0)))
	case len(unused) > 0:
		return usageError(e.Stderr, fmt.Errorf("pullsecret status does not take %s (see pullsecret status --help)", strings.Join(unused, ", ")))
	case o.output != OutputText && o.output != OutputJSON:
		return usageError(e.Stderr, fmt.Errorf("--output %q: must be %s or %s", o.output, OutputText, OutputJSON))
	}
	rep := actions.New(e.Getenv, e.Stderr, io.Discard)
	d := e.Deps
	d.Reporter, d.Version = rep, e.Build.Resolve().Version
	if o.debug {
		d.WrapTransport = httplog.Wrap(rep.Debugf)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	in := statusInput(lookup)
	st, err := runner.ReadStatus(ctx, in, d)
	if o.output == OutputJSON {
		if werr := writeStatusJSON(e.Stdout, newJSONStatus(in.SecretName, st, err, d.Now(), rep.Redact)); werr != nil {
			err = errors.Join(err, werr)
		}
	} else if err == nil {
		err = writeStatusText(e.Stdout, st, d.Now())
	}
	if err != nil {
		rep.Errorf("%s", err)
	}
	return ExitCode(err)
}

// statusInput reads the inputs (flags, else INPUT_* variables, else
// defaults; empty is unset, as GitHub passes unset inputs, but for
// service_accounts, where empty means none). refresh_namespace limits the
// refreshers only when given.
func statusInput(lookup config.Lookup) runner.StatusInput {
	get := func(name string) string {
		if v, ok := lookup(name); ok && (v != "" || name == config.InServiceAccounts) {
			return v
		}
		for _, in := range config.Inputs {
			if in.Name == name {
				return in.Default
			}
		}
		return ""
	}
	refreshNS, _ := lookup(config.InRefreshNamespace)
	return runner.StatusInput{
		Kubeconfig: get(config.InKubeconfig), Context: get(config.InContext), APIServerHost: get(config.InAPIServerHost),
		SecretName: get(config.InSecretName), ServiceAccounts: config.SplitList(get(config.InServiceAccounts)),
		RefreshNamespace: strings.TrimSpace(refreshNS),
	}
}

// writeStatusText prints two sections: a table of namespaces, then one
// block per refresher (too many fields for a row).
func writeStatusText(w io.Writer, st *runner.Status, now time.Time) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Pull secret %q in %d namespace(s)\n", st.SecretName, len(st.Namespaces))
	if len(st.Namespaces) > 0 {
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NAMESPACE\tEXPIRES\tWRITTEN BY\tSERVICEACCOUNTS\tREFRESHED BY")
		for _, n := range st.Namespaces {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", n.Namespace, expiryText(n.ExpiresAt, now), orDash(n.WrittenBy),
				orDash(serviceAccountsText(n.ServiceAccounts)), orDash(strings.Join(n.CoveredBy, ", ")))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintf(&b, "\nRefreshers: %d\n", len(st.Refreshers))
	for _, r := range st.Refreshers {
		fmt.Fprintf(&b, "\n%s/%s\n", r.Namespace, r.Name)
		tw := tabwriter.NewWriter(&b, 0, 0, 1, ' ', 0)
		fmt.Fprintf(tw, "  mode:\t%s\n", modeText(r))
		fmt.Fprintf(tw, "  identity:\t%s\n", identityText(r))
		fmt.Fprintf(tw, "  coverage:\t%s\n", coverageText(r))
		fmt.Fprintf(tw, "  last success:\t%s\n", whenText(r.LastSuccess, now))
		fmt.Fprintf(tw, "  token expires:\t%s\n", expiryText(r.ExpiresAt, now))
		fmt.Fprintf(tw, "  last result:\t%s\n", orDash(r.LastResult))
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func serviceAccountsText(sas []runner.ServiceAccountStatus) string {
	var parts []string
	for _, sa := range sas {
		switch {
		case sa.Missing:
			parts = append(parts, sa.Name+" (missing)")
		case sa.References:
			parts = append(parts, sa.Name)
		default:
			parts = append(parts, sa.Name+" (NOT referencing)")
		}
	}
	return strings.Join(parts, ", ")
}

func modeText(r runner.RefresherStatus) string {
	switch r.Mode {
	case runner.ModeCron:
		return "cron (" + r.Schedule + ")"
	case "":
		return "- (neither its CronJob nor its Deployment exists)"
	}
	return r.Mode
}

func identityText(r runner.RefresherStatus) string {
	if r.ServiceAccount == "" {
		return "-"
	}
	via := "the metadata server"
	if r.Provider != "" {
		via = r.Provider
	}
	return fmt.Sprintf("%s via %s, secret %q", r.ServiceAccount, via, r.SecretName)
}

func coverageText(r runner.RefresherStatus) string {
	if r.CoverageError != "" {
		return "unreadable: " + r.CoverageError
	}
	c := r.Coverage
	var parts []string
	if len(c.Namespaces) > 0 {
		parts = append(parts, "namespaces "+strings.Join(c.Namespaces, ", "))
	}
	if c.Selector != "" {
		parts = append(parts, "labelled "+c.Selector)
	}
	if len(c.Excludes) > 0 {
		parts = append(parts, "except "+strings.Join(c.Excludes, ", "))
	}
	if len(c.ServiceAccounts) > 0 {
		parts = append(parts, "ServiceAccounts "+strings.Join(c.ServiceAccounts, ", "))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}

// whenText is t with how far it is from now; "-" for the zero time.
func whenText(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	s := t.UTC().Format(time.RFC3339)
	if d := t.Sub(now).Round(time.Second); d > 0 {
		return s + " (in " + d.String() + ")"
	}
	return s + " (" + now.Sub(t).Round(time.Second).String() + " ago)"
}

// expiryText is whenText, shouting when the token is dead.
func expiryText(t, now time.Time) string {
	if !t.IsZero() && !t.After(now) {
		return "EXPIRED " + whenText(t, now)
	}
	return whenText(t, now)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// jsonStatus is `pullsecret status --output json`. Field names are a
// public contract (docs/cli.md): add, never rename.
type jsonStatus struct {
	SecretName string                `json:"secretName"`
	Namespaces []jsonSecretStatus    `json:"namespaces"`
	Refreshers []jsonRefresherStatus `json:"refreshers"`
	Error      string                `json:"error,omitempty"`
}

type jsonSecretStatus struct {
	Namespace       string               `json:"namespace"`
	ExpiresAt       string               `json:"expiresAt"` // RFC 3339; "" when not recorded (json_key)
	Expired         bool                 `json:"expired"`
	WrittenBy       string               `json:"writtenBy"`
	ServiceAccounts []jsonServiceAccount `json:"serviceAccounts"`
	RefreshedBy     []string             `json:"refreshedBy"`
}

type jsonServiceAccount struct {
	Name       string `json:"name"`
	Exists     bool   `json:"exists"`
	References bool   `json:"references"`
}

type jsonRefresherStatus struct {
	Namespace      string       `json:"namespace"`
	Name           string       `json:"name"`
	Mode           string       `json:"mode"` // cron, watch, "" (no workload)
	Schedule       string       `json:"schedule,omitempty"`
	ServiceAccount string       `json:"serviceAccount"`
	Provider       string       `json:"provider"` // "": the metadata server
	SecretName     string       `json:"secretName"`
	Coverage       jsonCoverage `json:"coverage"`
	CoverageError  string       `json:"coverageError,omitempty"`
	LastSuccess    string       `json:"lastSuccess"`
	ExpiresAt      string       `json:"expiresAt"`
	LastResult     string       `json:"lastResult"`
}

type jsonCoverage struct {
	Namespaces        []string `json:"namespaces"`
	NamespaceSelector string   `json:"namespaceSelector"`
	ExcludeNamespaces []string `json:"excludeNamespaces"`
	ServiceAccounts   []string `json:"serviceAccounts"`
}

func newJSONStatus(secretName string, st *runner.Status, err error, now time.Time, redact func(string) string) jsonStatus {
	out := jsonStatus{SecretName: secretName, Namespaces: []jsonSecretStatus{}, Refreshers: []jsonRefresherStatus{}}
	if err != nil {
		out.Error = redact(err.Error())
	}
	if st == nil {
		return out
	}
	for _, n := range st.Namespaces {
		js := jsonSecretStatus{Namespace: n.Namespace, ExpiresAt: rfc3339(n.ExpiresAt), Expired: !n.ExpiresAt.IsZero() && !n.ExpiresAt.After(now),
			WrittenBy: n.WrittenBy, ServiceAccounts: []jsonServiceAccount{}, RefreshedBy: nonNil(n.CoveredBy)}
		for _, sa := range n.ServiceAccounts {
			js.ServiceAccounts = append(js.ServiceAccounts, jsonServiceAccount{Name: sa.Name, Exists: !sa.Missing, References: sa.References})
		}
		out.Namespaces = append(out.Namespaces, js)
	}
	for _, r := range st.Refreshers {
		out.Refreshers = append(out.Refreshers, jsonRefresherStatus{
			Namespace: r.Namespace, Name: r.Name, Mode: r.Mode, Schedule: r.Schedule,
			ServiceAccount: r.ServiceAccount, Provider: r.Provider, SecretName: r.SecretName,
			Coverage: jsonCoverage{Namespaces: nonNil(r.Coverage.Namespaces), NamespaceSelector: r.Coverage.Selector,
				ExcludeNamespaces: nonNil(r.Coverage.Excludes), ServiceAccounts: nonNil(r.Coverage.ServiceAccounts)},
			CoverageError: r.CoverageError, LastSuccess: rfc3339(r.LastSuccess), ExpiresAt: rfc3339(r.ExpiresAt),
			LastResult: redact(r.LastResult),
		})
	}
	return out
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func writeStatusJSON(w io.Writer, v jsonStatus) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
