package cli

import (
	"encoding/json"
	"io"
	"time"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/runner"
)

// jsonResult is --output json: one object, so scripts need no parsing of
// logs. Field names are a public contract (docs/cli.md "Output as JSON"): add,
// never rename.
type jsonResult struct {
	SecretName string          `json:"secretName"`
	Mode       string          `json:"mode"`
	DryRun     bool            `json:"dryRun"`
	ExpiresAt  string          `json:"expiresAt"` // RFC 3339; "" for json_key
	Credential *jsonCredential `json:"credential,omitempty"`
	Registries []string        `json:"registries"`
	Namespaces []jsonNamespace `json:"namespaces"`
	// Error is the run's error, as printed on standard error; "" on
	// success. The exit code says which kind it is.
	Error string `json:"error,omitempty"`
}

type jsonCredential struct {
	Method    string `json:"method"`
	Principal string `json:"principal"`
}

// Namespace results.
const (
	resultOK      = "ok"
	resultSkipped = "skipped"
	resultFailed  = "failed"
)

type jsonNamespace struct {
	Name string `json:"name"`
	// Result is ok, skipped (a namespace chosen by a pattern that was
	// being deleted) or failed.
	Result string `json:"result"`
	// Secret is what happened to the secret: created, updated, unchanged,
	// replaced, deleted or absent ("" when the namespace failed first).
	Secret           string   `json:"secret"`
	NamespaceCreated bool     `json:"namespaceCreated"`
	ServiceAccounts  []string `json:"serviceAccountsChanged"`
	Unchanged        []string `json:"serviceAccountsUnchanged"`
	Reason           string   `json:"reason,omitempty"`
	Error            string   `json:"error,omitempty"`
}

// newJSONResult renders a run; cfg and res may be nil (the run failed
// before they existed). Every text passes through redact.
func newJSONResult(cfg *config.Config, res *runner.Result, err error, redact func(string) string) jsonResult {
	out := jsonResult{Registries: []string{}, Namespaces: []jsonNamespace{}}
	if cfg != nil {
		out.SecretName, out.Mode, out.DryRun = cfg.SecretName, string(cfg.Mode), cfg.DryRun
		out.Registries = append(out.Registries, cfg.Registries...)
	}
	if err != nil {
		out.Error = redact(err.Error())
	}
	if res == nil {
		return out
	}
	if !res.ExpiresAt.IsZero() {
		out.ExpiresAt = res.ExpiresAt.UTC().Format(time.RFC3339)
	}
	if res.Method != "" {
		out.Credential = &jsonCredential{Method: res.Method, Principal: res.Principal}
	}
	for _, n := range res.Namespaces {
		jn := jsonNamespace{
			Name: n.Namespace, Result: resultOK, Secret: string(n.Secret), NamespaceCreated: n.CreatedNamespace,
			ServiceAccounts: nonNil(n.Patched), Unchanged: nonNil(n.Unchanged),
		}
		switch {
		case n.Err != nil:
			jn.Result, jn.Error = resultFailed, redact(n.Err.Error())
		case n.Skipped != "":
			jn.Result, jn.Reason = resultSkipped, n.Skipped
		}
		out.Namespaces = append(out.Namespaces, jn)
	}
	return out
}

// nonNil makes an empty list print as [], which jq handles like any list.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func writeJSON(w io.Writer, v jsonResult) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
