package main

import (
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// spdxDocument is an SPDX 2.3 JSON SBOM of the release, read from what the
// Go toolchain embedded in each binary (the same data `go version -m`
// prints): the main module, every module linked into any of the binaries,
// and the Go standard library at the toolchain's version. The binaries are
// files of the main package; dates come from SOURCE_DATE_EPOCH so two
// builds of a commit give the same document.
func spdxDocument(binaries []string, o buildOptions, created time.Time) ([]byte, error) {
	type checksum struct {
		Algorithm string `json:"algorithm"`
		Value     string `json:"checksumValue"`
	}
	type extRef struct {
		Category string `json:"referenceCategory"`
		Type     string `json:"referenceType"`
		Locator  string `json:"referenceLocator"`
	}
	type pkg struct {
		Name             string     `json:"name"`
		SPDXID           string     `json:"SPDXID"`
		Version          string     `json:"versionInfo"`
		Supplier         string     `json:"supplier,omitempty"`
		DownloadLocation string     `json:"downloadLocation"`
		FilesAnalyzed    bool       `json:"filesAnalyzed"`
		LicenseConcluded string     `json:"licenseConcluded"`
		LicenseDeclared  string     `json:"licenseDeclared"`
		Copyright        string     `json:"copyrightText"`
		Checksums        []checksum `json:"checksums,omitempty"`
		ExternalRefs     []extRef   `json:"externalRefs,omitempty"`
		Comment          string     `json:"comment,omitempty"`
	}
	type rel struct {
		Element string `json:"spdxElementId"`
		Type    string `json:"relationshipType"`
		Related string `json:"relatedSpdxElement"`
	}
	type doc struct {
		Version      string `json:"spdxVersion"`
		License      string `json:"dataLicense"`
		SPDXID       string `json:"SPDXID"`
		Name         string `json:"name"`
		Namespace    string `json:"documentNamespace"`
		CreationInfo struct {
			Created  string   `json:"created"`
			Creators []string `json:"creators"`
		} `json:"creationInfo"`
		Packages      []pkg `json:"packages"`
		Relationships []rel `json:"relationships"`
	}

	const mainPath = "github.com/pullsecret/pullsecret"
	deps := map[string]string{} // module path -> version
	goVersion := ""
	var files []pkg
	for _, bin := range binaries {
		bi, err := buildinfo.ReadFile(bin)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", bin, err)
		}
		if bi.Main.Path != mainPath {
			return nil, fmt.Errorf("%s: main module is %q, want %s", bin, bi.Main.Path, mainPath)
		}
		if goVersion != "" && goVersion != bi.GoVersion {
			return nil, fmt.Errorf("%s: built with %s, others with %s", bin, bi.GoVersion, goVersion)
		}
		goVersion = bi.GoVersion
		for _, d := range bi.Deps {
			m := d
			if d.Replace != nil {
				m = d.Replace
			}
			deps[m.Path] = m.Version
		}
		sum, err := sha256File(bin)
		if err != nil {
			return nil, err
		}
		base := filepath.Base(bin)
		files = append(files, pkg{
			Name: base, SPDXID: "SPDXRef-Binary-" + spdxID(base), Version: o.Version,
			DownloadLocation: o.SourceURL + "/releases/download/" + o.Version + "/" + base,
			LicenseConcluded: "NOASSERTION", LicenseDeclared: "NOASSERTION", Copyright: "NOASSERTION",
			Checksums: []checksum{{"SHA256", sum}},
			Comment:   "built by the Go toolchain " + bi.GoVersion + " from " + mainPath + " at commit " + o.Commit,
		})
	}

	var d doc
	d.Version, d.License, d.SPDXID = "SPDX-2.3", "CC0-1.0", "SPDXRef-DOCUMENT"
	d.Name = "pullsecret-" + o.Version
	d.Namespace = o.SourceURL + "/releases/" + o.Version + "/sbom/" + o.Commit
	d.CreationInfo.Created = created.Format(time.RFC3339)
	d.CreationInfo.Creators = []string{"Tool: pullsecret-tools-release", "Organization: pullsecret"}

	mainID := "SPDXRef-Package-pullsecret"
	d.Packages = append(d.Packages, pkg{
		Name: mainPath, SPDXID: mainID, Version: o.Version, Supplier: "Organization: pullsecret",
		DownloadLocation: "git+" + o.SourceURL + "@" + o.Commit,
		LicenseConcluded: "NOASSERTION", LicenseDeclared: "Apache-2.0", Copyright: "NOASSERTION",
		ExternalRefs: []extRef{{"PACKAGE-MANAGER", "purl", "pkg:golang/" + mainPath + "@" + o.Version}},
	})
	d.Relationships = append(d.Relationships, rel{"SPDXRef-DOCUMENT", "DESCRIBES", mainID})
	for _, f := range files {
		d.Packages = append(d.Packages, f)
		d.Relationships = append(d.Relationships,
			rel{"SPDXRef-DOCUMENT", "DESCRIBES", f.SPDXID},
			rel{f.SPDXID, "GENERATED_FROM", mainID})
	}
	stdlib := strings.TrimPrefix(goVersion, "go")
	paths := make([]string, 0, len(deps))
	for p := range deps {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	type mod struct{ path, version string }
	mods := []mod{{"stdlib", stdlib}}
	for _, p := range paths {
		mods = append(mods, mod{p, deps[p]})
	}
	for _, m := range mods {
		id := "SPDXRef-Package-" + spdxID(m.path+"-"+m.version)
		purl := "pkg:golang/" + m.path + "@" + m.version
		if m.path == "stdlib" {
			purl = "pkg:golang/stdlib@" + m.version
		}
		d.Packages = append(d.Packages, pkg{
			Name: m.path, SPDXID: id, Version: m.version, DownloadLocation: "NOASSERTION",
			LicenseConcluded: "NOASSERTION", LicenseDeclared: "NOASSERTION", Copyright: "NOASSERTION",
			ExternalRefs: []extRef{{"PACKAGE-MANAGER", "purl", purl}},
		})
		d.Relationships = append(d.Relationships, rel{mainID, "DEPENDS_ON", id})
	}
	out, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// spdxID keeps the characters SPDX allows in an identifier.
func spdxID(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-':
			return r
		}
		return '-'
	}, s)
}
