package repocheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// modulePath is this module; imports under it are followed to find the
// shipped binary's own packages.
const modulePath = "github.com/pullsecret/pullsecret"

// undocumented are error texts of the shipped binary that deliberately have no
// entry in docs/TROUBLESHOOTING.md, each with the reason. Everything else the
// binary can print as an error must be quoted there, so that a user who
// searches the guide for a message finds its cause and fix.
var undocumented = map[string]string{
	// Google or the metadata server answered something that is not its API:
	// a broken proxy or a Google outage. Nothing for the user to fix.
	"returned an empty access token":                            "Google answered 200 without a token",
	"IAM Credentials returned malformed JSON":                   "Google outage or intercepting proxy",
	"IAM Credentials returned a malformed expireTime":           "Google outage or intercepting proxy",
	"tokeninfo returned malformed JSON":                         "Google outage or intercepting proxy",
	"the metadata server returned malformed JSON for the token": "broken metadata server",
	"is not a metadata server (no Metadata-Flavor header, HTTP": "metadata_endpoint points elsewhere; the message says so",
	"GitHub's OIDC token endpoint answered HTTP":                "GitHub outage; the status is in the message",
	"no GitHub OIDC token source":                               "programming error: no token fetcher wired",
	"empty registry credentials":                                "programming error: caught by the credential checks before",
	"no registries to authenticate to":                          "programming error: registries is validated non-empty",
	"no default route":                                          "wrapped into the loopback API server message, which is documented",
	"the service-account key is not valid JSON":                 "caught by input validation of credentials_json first",
	"is not a plain name":                                       "programming error: output names are constants",
	// runner's failure kinds classify an error for the exit code; the
	// classified error prints the wrapped error's text, never these.
	"bad input":                           "exit-code classification sentinel, never printed",
	"credentials unavailable":             "exit-code classification sentinel, never printed",
	"cluster unreachable":                 "exit-code classification sentinel, never printed",
	"cluster refused the request":         "exit-code classification sentinel, never printed",
	"namespaces failed":                   "exit-code classification sentinel, never printed",
	"source_credentials nested more than": "malformed ADC file; the message says what is wrong",
	"is not supported (only authorized_user, external_account, impersonated_service_account, service_account": "malformed ADC file; the message lists the supported types",
	"is missing":                    "malformed ADC file; the message names the missing field",
	"source_credentials is missing": "malformed ADC file; the message names the missing field",
	"is not a URL":                  "malformed ADC file; the message names the field",
	"is not JSON":                   "malformed ADC file; the message names the file",
	"is not a Kubernetes object":    "programming error: kube.Resource used with a type outside the scheme",
}

// TestTroubleshootingCoversEveryError parses the packages the binary is
// built from (main and every module package it imports, transitively, test
// files excluded) and checks that the text of every error they create with
// fmt.Errorf or errors.New appears in docs/TROUBLESHOOTING.md. Input errors
// (config's errorf, "input %q: …") name the input and are covered by the
// guide's "invalid configuration" entry; pure wrappers ("failed to …: %w")
// add context to an error that is itself covered.
func TestTroubleshootingCoversEveryError(t *testing.T) {
	t.Parallel()
	guideRaw, err := os.ReadFile(filepath.Join("docs", "TROUBLESHOOTING.md"))
	if err != nil {
		t.Fatal(err)
	}
	guide := string(guideRaw)
	if !strings.Contains(guide, "### invalid configuration") {
		t.Error(`docs/TROUBLESHOOTING.md lacks the "invalid configuration" entry that covers input errors`)
	}
	msgs := errorTexts(t)
	if len(msgs) < 30 {
		t.Fatalf("found only %d error texts in the binary's packages; the parser is broken", len(msgs))
	}
	used := map[string]bool{}
	for _, m := range msgs {
		key := distinctive(m.format)
		if key == "" || isWrapper(m.format, key) {
			continue
		}
		if _, ok := undocumented[key]; ok {
			used[key] = true
			continue
		}
		if !strings.Contains(guide, key) {
			t.Errorf("%s: error %q has no entry in docs/TROUBLESHOOTING.md (quote %q there with its cause and fix, or list it in undocumented with the reason)", m.pos, m.format, key)
		}
	}
	for key := range undocumented {
		if !used[key] {
			t.Errorf("undocumented lists %q, which no error of the binary contains any more", key)
		}
	}
}

// guidePointer is how a message too long for one screen points at the
// guide for its advice.
var guidePointer = regexp.MustCompile(`docs/TROUBLESHOOTING\.md#([A-Za-z0-9_-]+)`)

// TestTroubleshootingPointersResolve checks that every error pointing at
// docs/TROUBLESHOOTING.md#… names an anchor the guide renders, so the
// advice moved out of the message can be found.
func TestTroubleshootingPointersResolve(t *testing.T) {
	t.Parallel()
	guide, err := os.ReadFile(filepath.Join("docs", "TROUBLESHOOTING.md"))
	if err != nil {
		t.Fatal(err)
	}
	anchors := anchorsOf(string(guide))
	pointers := 0
	for _, m := range errorTexts(t) {
		for _, p := range guidePointer.FindAllStringSubmatch(m.format, -1) {
			pointers++
			if !anchors[p[1]] {
				t.Errorf("%s: error %q points at docs/TROUBLESHOOTING.md#%s, which the guide has no anchor for", m.pos, m.format, p[1])
			}
		}
	}
	if pointers == 0 {
		t.Error("no error points at docs/TROUBLESHOOTING.md; the parser is broken")
	}
}

type errorText struct {
	pos    string
	format string
}

// errorTexts returns the string literals passed to fmt.Errorf and errors.New
// in the binary's own packages.
func errorTexts(t *testing.T) []errorText {
	t.Helper()
	var out []errorText
	fset := token.NewFileSet()
	seen := map[string]bool{}
	queue := []string{"."}
	for len(queue) > 0 {
		dir := queue[0]
		queue = queue[1:]
		if seen[dir] {
			continue
		}
		seen[dir] = true
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			name := e.Name()
			if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				if rest, ok := strings.CutPrefix(p, modulePath+"/"); ok {
					queue = append(queue, filepath.FromSlash(rest))
				}
			}
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) == 0 || !isErrorConstructor(call.Fun) {
					return true
				}
				lit, ok := call.Args[0].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				s, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, errorText{pos: fset.Position(lit.Pos()).String(), format: s})
				return true
			})
		}
	}
	slices.SortFunc(out, func(a, b errorText) int { return strings.Compare(a.pos, b.pos) })
	return out
}

func isErrorConstructor(fun ast.Expr) bool {
	sel, ok := fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	pkg, ok := sel.X.(*ast.Ident)
	return ok && ((pkg.Name == "fmt" && sel.Sel.Name == "Errorf") || (pkg.Name == "errors" && sel.Sel.Name == "New"))
}

var verb = regexp.MustCompile(`%[-+# 0-9.*]*[a-zA-Z%]`)

// distinctive is the longest literal run of a format string, trimmed of the
// punctuation around verbs: the part a user can search the guide for.
func distinctive(format string) string {
	best := ""
	for _, chunk := range verb.Split(format, -1) {
		chunk = strings.Trim(chunk, " :;,.()\"'\n")
		if len(chunk) > len(best) {
			best = chunk
		}
	}
	if len(best) < 4 {
		return ""
	}
	return best
}

// isWrapper reports a format that only adds context to the error it wraps.
func isWrapper(format, key string) bool {
	return strings.Contains(format, "%w") && (strings.HasPrefix(format, "failed to ") || !strings.Contains(key, " "))
}
