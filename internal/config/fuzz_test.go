package config

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/pullsecret/pullsecret/internal/sakey"
	"github.com/pullsecret/pullsecret/internal/testing/check"
)

// FuzzCredentialsJSON feeds anything as the key input: decoding (raw or
// base64) and type-checking never panic, every error names the input, and
// no error quotes the key's private material.
func FuzzCredentialsJSON(f *testing.F) {
	f.Add(testKey)
	f.Add(`{"type":"authorized_user","refresh_token":"x"}`)
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := Load(check.Lookup(map[string]string{InCredentialsJSON: raw}))
		if err == nil {
			if len(c.CredentialsJSON) == 0 { // blank input: no key, ADC
				return
			}
			if _, perr := sakey.Parse(c.CredentialsJSON); perr != nil {
				t.Fatalf("accepted a key sakey.Parse refuses: %v", perr)
			}
			return
		}
		if check.ErrDiff(err, `"`+InCredentialsJSON+`"`) != "" {
			t.Fatalf("error does not name the input: %v", err)
		}
		k, _ := sakey.Parse([]byte(raw))
		if k != nil && len(k.PrivateKey) > 16 && strings.Contains(err.Error(), k.PrivateKey) {
			t.Fatalf("error quotes the private key")
		}
	})
}

// FuzzLists covers list splitting and the inputs built on it: namespaces
// and their globs, excludes, registries. Nothing panics; what is accepted
// is well-formed.
func FuzzLists(f *testing.F) {
	f.Add("a, b\nc", "kube-*", "gcr.io,*.gcr.io")
	f.Add("preview-*", "kube-[", "*.io")
	f.Fuzz(func(t *testing.T, namespaces, excludes, registries string) {
		for _, item := range SplitList(namespaces) {
			if item == "" || item != strings.TrimSpace(item) || strings.ContainsAny(item, ",\n\r") {
				t.Fatalf("SplitList item %q", item)
			}
		}
		c, err := Load(check.Lookup(map[string]string{InNamespaces: namespaces, InExcludeNamespaces: excludes, InRegistries: registries}))
		if err != nil {
			return
		}
		for _, ns := range c.Namespaces {
			if !IsGlob(ns) && len(validation.IsDNS1123Label(ns)) > 0 {
				t.Fatalf("accepted namespace %q", ns)
			}
		}
		for _, r := range c.Registries {
			if strings.Contains(r, "*") {
				host := r
				if i := strings.LastIndex(r, ":"); i > 0 {
					host = r[:i]
				}
				literal := 0
				for _, l := range strings.Split(host, ".") {
					if !strings.Contains(l, "*") {
						literal++
					}
				}
				if literal < 2 {
					t.Fatalf("accepted registry %q", r)
				}
			}
		}
	})
}

// FuzzNamespaceSelector: an accepted selector parses, and what it
// renders to parses to the same selector (what the API server receives).
func FuzzNamespaceSelector(f *testing.F) {
	f.Add("team=web,env!=prod")
	f.Add("env in (a,b),!legacy")
	f.Fuzz(func(t *testing.T, sel string) {
		c, err := Load(check.Lookup(map[string]string{InNamespaceSelector: sel}))
		if err != nil {
			if check.ErrDiff(err, `"`+InNamespaceSelector+`"`) != "" {
				t.Fatalf("error does not name the input: %v", err)
			}
			return
		}
		if c.NamespaceSelector == "" {
			return
		}
		s, err := labels.Parse(c.NamespaceSelector)
		if err != nil {
			t.Fatalf("accepted %q but it does not parse: %v", c.NamespaceSelector, err)
		}
		if _, err := labels.Parse(s.String()); err != nil {
			t.Fatalf("%q renders as %q, which does not parse: %v", sel, s.String(), err)
		}
	})
}
