package repocheck

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// The repository files a user or contributor relies on: the licence, the
// policies, and documents whose links and anchors must keep resolving as the
// code and the docs move.

// apache2SHA256 is the SHA-256 of the canonical Apache License 2.0 text
// (https://www.apache.org/licenses/LICENSE-2.0.txt), whose appendix reads
// "Copyright [yyyy] [name of copyright owner]".
const apache2SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"

var copyrightLine = regexp.MustCompile(`Copyright [0-9]{4}(-[0-9]{4})? The pullsecret Authors`)

func TestLicenseIsApache2(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("LICENSE")
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	if !copyrightLine.MatchString(text) {
		t.Errorf("LICENSE lacks a line matching %q", copyrightLine)
	}
	// Everything but the filled-in copyright line must be Apache-2.0 word for word.
	canonical := copyrightLine.ReplaceAllString(text, "Copyright [yyyy] [name of copyright owner]")
	sum := sha256.Sum256([]byte(canonical))
	if got := hex.EncodeToString(sum[:]); got != apache2SHA256 {
		t.Errorf("LICENSE is not the Apache License 2.0 text (sha256 %s with the copyright line restored, want %s)", got, apache2SHA256)
	}
}

func TestProjectFilesExist(t *testing.T) {
	t.Parallel()
	cases := []struct {
		path string
		// must holds texts the file cannot do without.
		must []string
	}{
		{
			path: "SECURITY.md",
			must: []string{"security/advisories/new", "## Supported versions"},
		},
		{
			path: "CONTRIBUTING.md",
			must: []string{"## How we test", "UPDATE_GOLDEN=1"},
		},
		{
			path: "CHANGELOG.md",
			must: []string{"keepachangelog.com", "## [Unreleased]"},
		},
		{
			path: ".github/CODEOWNERS",
			must: []string{"* @pullsecret/maintainers"},
		},
		{
			path: ".github/dependabot.yml",
			must: []string{"package-ecosystem: gomod", "package-ecosystem: github-actions", "package-ecosystem: docker"},
		},
		{
			path: ".github/ISSUE_TEMPLATE/bug_report.yml",
			must: []string{"Never paste a token"},
		},
		{
			path: ".github/ISSUE_TEMPLATE/feature_request.yml",
		},
		{
			path: ".github/ISSUE_TEMPLATE/config.yml",
			must: []string{"security/policy"},
		},
		{
			path: "docs/TROUBLESHOOTING.md",
		},
		{
			path: "docs/iam-setup.md",
			must: []string{"google-github-actions/auth@v3"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(filepath.FromSlash(tc.path))
			if err != nil {
				t.Fatal(err)
			}
			if len(strings.TrimSpace(string(raw))) == 0 {
				t.Fatal("file is empty")
			}
			for _, m := range tc.must {
				if !strings.Contains(string(raw), m) {
					t.Errorf("%s lacks %q", tc.path, m)
				}
			}
		})
	}
}

// notDependabot are the Go modules Dependabot must not bump, each with the
// reason: their versions are what the tests run against, moved on purpose.
var notDependabot = map[string]string{
	"/tools/upstream/etcd":       "pins the etcd the integration tier runs",
	"/tools/upstream/kubernetes": "pins the Kubernetes the integration tier runs",
}

// Every Go module of the repository is listed for Dependabot or in
// notDependabot, and every listed directory holds a go.mod.
func TestDependabotCoversNestedModules(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join(".github", "dependabot.yml"))
	if err != nil {
		t.Fatal(err)
	}
	listed := regexp.MustCompile(`(?m)^\s+- (/[^\s#]*)\s*$`).FindAllStringSubmatch(string(raw), -1)
	var got []string
	for _, m := range listed {
		got = append(got, m[1])
		if _, err := os.Stat(filepath.Join("."+m[1], "go.mod")); err != nil {
			t.Errorf("dependabot.yml lists %s, which has no go.mod", m[1])
		}
		if why, ok := notDependabot[m[1]]; ok {
			t.Errorf("dependabot.yml lists %s, which must not be bumped routinely: it %s", m[1], why)
		}
	}
	mods := goModules(t)
	if len(mods) < 5 {
		t.Fatalf("found %d Go modules; the walk is broken", len(mods))
	}
	for _, dir := range mods {
		if _, ok := notDependabot[dir]; !ok && !slices.Contains(got, dir) {
			t.Errorf("dependabot.yml does not list the Go module in %s", dir)
		}
	}
}

// goModules is every directory of the checkout holding a go.mod, as
// Dependabot names it ("/" for the root).
func goModules(t *testing.T) []string {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && d.Name() == "go.mod" {
			dirs = append(dirs, path.Clean("/"+filepath.ToSlash(filepath.Dir(p))))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

func TestMarkdownLinksResolve(t *testing.T) {
	t.Parallel()
	docs, err := filepath.Glob(filepath.Join("docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files := append([]string{"README.md", "CONTRIBUTING.md", "SECURITY.md", "CHANGELOG.md"}, docs...)
	checked := 0
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, link := range markdownLinks(string(raw)) {
			if isExternal(link) {
				continue
			}
			checked++
			if err := resolveLink(file, link); err != nil {
				t.Errorf("%s: link %q: %v", file, link, err)
			}
		}
	}
	if checked < 20 {
		t.Errorf("only %d relative links found; the link parser is broken", checked)
	}
}

func TestSlug(t *testing.T) {
	t.Parallel()
	cases := []struct{ heading, want string }{
		{
			heading: "Missing `id-token: write`",
			want:    "missing-id-token-write",
		},
		{
			heading: "Missing roles/iam.workloadIdentityUser",
			want:    "missing-rolesiamworkloadidentityuser",
		},
		{
			heading: "kind (or any loopback API server) in the same job",
			want:    "kind-or-any-loopback-api-server-in-the-same-job",
		},
		{
			heading: "Key token_uri is not Google's",
			want:    "key-token_uri-is-not-googles",
		},
		{
			heading: "1. A Workload Identity pool and a GitHub provider",
			want:    "1-a-workload-identity-pool-and-a-github-provider",
		},
		{
			heading: "After [`auth`](https://example.com) — done",
			want:    "after-auth--done",
		},
	}
	for _, tc := range cases {
		t.Run(tc.heading, func(t *testing.T) {
			t.Parallel()

			if got := slug(tc.heading); got != tc.want {
				t.Errorf("slug(%q) = %q, want %q", tc.heading, got, tc.want)
			}

		})
	}
}

var (
	fence      = regexp.MustCompile("(?ms)^\\s*```.*?^\\s*```")
	codeSpan   = regexp.MustCompile("`[^`\n]*`")
	inlineLink = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	refLink    = regexp.MustCompile(`(?m)^\s*\[[^\]]+\]:\s*(\S+)`)
	htmlAnchor = regexp.MustCompile(`<a\s+(?:id|name)="([^"]+)"`)
	heading    = regexp.MustCompile(`(?m)^#{1,6}\s+(.+?)\s*#*\s*$`)
	mdLink     = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
)

// markdownLinks returns link targets outside code blocks and code spans.
func markdownLinks(md string) []string {
	md = fence.ReplaceAllString(md, "")
	md = codeSpan.ReplaceAllString(md, "code")
	var out []string
	for _, m := range inlineLink.FindAllStringSubmatch(md, -1) {
		out = append(out, m[1])
	}
	for _, m := range refLink.FindAllStringSubmatch(md, -1) {
		out = append(out, m[1])
	}
	return out
}

func isExternal(link string) bool {
	return strings.Contains(link, "://") || strings.HasPrefix(link, "mailto:")
}

func resolveLink(from, link string) error {
	target, fragment, _ := strings.Cut(link, "#")
	path := from
	if target != "" {
		path = filepath.Join(filepath.Dir(from), filepath.FromSlash(target))
	}
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("no such file %s", path)
	}
	if fragment == "" {
		return nil
	}
	if info.IsDir() || filepath.Ext(path) != ".md" {
		return fmt.Errorf("fragment #%s on %s, which is not a Markdown file", fragment, path)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if anchors := anchorsOf(string(raw)); !anchors[fragment] {
		return fmt.Errorf("%s has no heading or anchor #%s", path, fragment)
	}
	return nil
}

// anchorsOf lists the fragments GitHub renders for a Markdown file: one per
// heading (duplicates get -1, -2, …) and every <a id> or <a name>.
func anchorsOf(md string) map[string]bool {
	anchors := map[string]bool{}
	for _, m := range htmlAnchor.FindAllStringSubmatch(md, -1) {
		anchors[m[1]] = true
	}
	seen := map[string]int{}
	for _, m := range heading.FindAllStringSubmatch(fence.ReplaceAllString(md, ""), -1) {
		s := slug(m[1])
		if n := seen[s]; n > 0 {
			anchors[fmt.Sprintf("%s-%d", s, n)] = true
		} else {
			anchors[s] = true
		}
		seen[s]++
	}
	return anchors
}

// slug is GitHub's heading anchor: the rendered text in lower case, spaces
// turned into hyphens, and every character but letters, digits, marks, "_"
// and "-" dropped.
func slug(h string) string {
	h = mdLink.ReplaceAllString(h, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}
