// Package registry checks, before anything is written, that a credential
// really pulls an image: it authenticates to the image's registry exactly
// as containerd does (the Docker Registry token flow) and asks for the
// manifest with HEAD.
package registry

import (
	"fmt"
	"path"
	"regexp"
	"strings"
)

// Reference is an image reference split the way the registry API needs it.
type Reference struct {
	Host string // registry host, with port if any: us-docker.pkg.dev
	Path string // repository path: proj/repo/app
	// Object is the tag or the digest the manifest is asked for.
	Object string
}

func (r Reference) String() string {
	sep := ":"
	if strings.HasPrefix(r.Object, "sha256:") {
		sep = "@"
	}
	return r.Host + "/" + r.Path + sep + r.Object
}

var (
	// The grammar of github.com/distribution/reference, narrowed to what a
	// Google registry serves: a host with a dot (or a port), lower-case
	// path components, a tag and/or a sha256 digest.
	pathComponent = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)
	tagPattern    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	digestPattern = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
	hostPattern   = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]+)?$`)
)

// ParseReference parses HOST/PATH[:TAG][@sha256:DIGEST]. The host is
// required: an image without one would be Docker Hub's, which no Google
// token opens. A reference without tag or digest means :latest, as
// containerd reads it; with both, the digest wins, as containerd pulls it.
func ParseReference(s string) (Reference, error) {
	rest, digest, hasDigest := strings.Cut(s, "@")
	if hasDigest && !digestPattern.MatchString(digest) {
		return Reference{}, fmt.Errorf("%q has an invalid digest (want @sha256: and 64 hex digits)", s)
	}
	host, repo, ok := strings.Cut(rest, "/")
	if !ok || !hostPattern.MatchString(host) || !strings.ContainsAny(host, ".:") {
		return Reference{}, fmt.Errorf("%q does not start with a registry host such as us-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE", s)
	}
	tag := "latest"
	if i := strings.LastIndex(repo, ":"); i >= 0 {
		repo, tag = repo[:i], repo[i+1:]
		if !tagPattern.MatchString(tag) {
			return Reference{}, fmt.Errorf("%q has an invalid tag %q", s, tag)
		}
	}
	for _, c := range strings.Split(repo, "/") {
		if !pathComponent.MatchString(c) {
			return Reference{}, fmt.Errorf("%q has an invalid repository path %q (lower-case letters, digits and separators)", s, repo)
		}
	}
	ref := Reference{Host: strings.ToLower(host), Path: repo, Object: tag}
	if hasDigest {
		ref.Object = digest
	}
	return ref, nil
}

// HostMatches reports whether host matches a registries entry the way
// kubelet matches a pull secret's keys: the same number of labels, each
// label a glob, and the same port. It is what decides which host would
// receive the token, so the check sends it nowhere kubelet would not.
func HostMatches(pattern, host string) bool {
	pHost, pPort := splitPort(strings.ToLower(pattern))
	hHost, hPort := splitPort(strings.ToLower(host))
	if pPort != hPort {
		return false
	}
	pl, hl := strings.Split(pHost, "."), strings.Split(hHost, ".")
	if len(pl) != len(hl) {
		return false
	}
	for i := range pl {
		if ok, err := path.Match(pl[i], hl[i]); err != nil || !ok {
			return false
		}
	}
	return true
}

func splitPort(h string) (host, port string) {
	if i := strings.LastIndex(h, ":"); i >= 0 {
		return h[:i], h[i+1:]
	}
	return h, ""
}

var (
	arHost    = regexp.MustCompile(`^([a-z0-9-]+)-docker\.pkg\.dev$`)
	arRepHost = regexp.MustCompile(`^docker\.([a-z0-9-]+)\.rep\.pkg\.dev$`)
	gcrHosts  = map[string]string{"gcr.io": "us", "us.gcr.io": "us", "eu.gcr.io": "europe", "asia.gcr.io": "asia"}
)

// Repository is the Artifact Registry repository an image lives in, as IAM
// names it (projects/P/locations/L/repositories/R), or "" for a host that
// is not Google's. LOCATION-docker.pkg.dev/P/R/… per
// https://cloud.google.com/artifact-registry/docs/docker/names; gcr.io/P/…
// is the repository "gcr.io" (or us.gcr.io, …) of P, per
// https://cloud.google.com/artifact-registry/docs/transition/gcr-repositories.
// A domain-scoped project's images name the domain first
// (gcr.io/example.com/proj/app): its project is "example.com:proj"
// (https://cloud.google.com/artifact-registry/docs/docker/names#domain).
func (r Reference) Repository() string {
	parts := domainScoped(strings.Split(r.Path, "/"))
	host, _ := splitPort(r.Host)
	loc := ""
	if m := arHost.FindStringSubmatch(host); m != nil {
		loc = m[1]
	} else if m := arRepHost.FindStringSubmatch(host); m != nil {
		loc = m[1]
	}
	if loc != "" && len(parts) >= 3 {
		return "projects/" + parts[0] + "/locations/" + loc + "/repositories/" + parts[1]
	}
	if loc, ok := gcrHosts[host]; ok && len(parts) >= 2 {
		return "projects/" + parts[0] + "/locations/" + loc + "/repositories/" + host
	}
	return ""
}

// domainScoped folds a domain-scoped project's two path elements
// ("example.com", "proj") into its project id ("example.com:proj"). A
// project id never holds a dot, so a dot in the first element is a domain.
func domainScoped(parts []string) []string {
	if len(parts) >= 3 && strings.Contains(parts[0], ".") {
		return append([]string{parts[0] + ":" + parts[1]}, parts[2:]...)
	}
	return parts
}
