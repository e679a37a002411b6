package repocheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pullsecret/pullsecret/internal/testing/buildcache"
)

// upstreamMentions are how the documents name a pinned upstream's version.
var upstreamMentions = []struct {
	dir, module string
	mentions    *regexp.Regexp
}{
	{"tools/upstream/kubernetes", "k8s.io/kubernetes", regexp.MustCompile("(?:Kubernetes |k8s\\.io/kubernetes` |kind-node:|kubernetes-|node-image-)(v[0-9]+\\.[0-9]+\\.[0-9]+)")},
	{"tools/upstream/etcd", "go.etcd.io/etcd/server/v3", regexp.MustCompile(`(?:etcd |etcd-)(v[0-9]+\.[0-9]+\.[0-9]+)`)},
	{"tools/upstream/coredns", "github.com/coredns/coredns", regexp.MustCompile(`(?:CoreDNS |coredns-)(v[0-9]+\.[0-9]+\.[0-9]+)`)},
}

// TestDocsNamePinnedVersions: each upstream version is written once, in its
// pinned go.mod (tools/upstream); a document that names it must name that
// one, so that moving a pin fails here until the docs say so too.
func TestDocsNamePinnedVersions(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("git", "ls-files", "*.md").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	docs := strings.Fields(string(out))
	seen := 0
	for _, u := range upstreamMentions {
		pinned, err := buildcache.RequiredVersion(u.dir, u.module)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range docs {
			if doc == "CHANGELOG.md" { // history names the versions of its day
				continue
			}
			raw, err := os.ReadFile(filepath.FromSlash(doc))
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range u.mentions.FindAllStringSubmatch(string(raw), -1) {
				seen++
				if m[1] != pinned {
					t.Errorf("%s names %q, but %s/go.mod pins %s %s", doc, m[0], u.dir, u.module, pinned)
				}
			}
		}
	}
	if seen == 0 {
		t.Error("no document names a pinned version; the patterns are broken")
	}
}
