package main

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// Per-repository authorisation, as Artifact Registry does it for
// *-docker.pkg.dev and for gcr.io (served by Artifact Registry "gcr.io
// repositories" since Container Registry's shutdown):
//
//   - LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE is the repository
//     projects/PROJECT/locations/LOCATION/repositories/REPOSITORY
//     (https://cloud.google.com/artifact-registry/docs/docker/names);
//   - gcr.io/PROJECT/IMAGE is the repository "gcr.io" of PROJECT in
//     location us, and likewise us.gcr.io (us), eu.gcr.io (europe),
//     asia.gcr.io (asia)
//     (https://cloud.google.com/artifact-registry/docs/transition/gcr-repositories).
//
// Pulling needs artifactregistry.repositories.downloadArtifacts on the
// repository (roles/artifactregistry.reader, granted on it or on its
// project), pushing artifactregistry.repositories.uploadArtifacts
// (https://cloud.google.com/artifact-registry/docs/access-control). Since
// Container Registry's shutdown gcr.io is served by Artifact Registry only,
// so only Artifact Registry roles grant pulls there: Container Registry's
// storage.objects.get on the artifacts bucket grants nothing.
//
// A domain-scoped project's images name the domain first:
// gcr.io/example.com/proj/IMAGE is project "example.com:proj"
// (https://cloud.google.com/artifact-registry/docs/docker/names#domain).
//
// The check itself runs in the fake Google (its fake-only
// /fakegoogle/v1/checkPermission), which knows who is behind a token,
// federated principals included.

// Artifact Registry permissions, as the fake Google names them.
const (
	permDownload      = "artifactregistry.repositories.downloadArtifacts"
	permUpload        = "artifactregistry.repositories.uploadArtifacts"
	gcrRepositoryName = "gcr.io"
)

var (
	arHostRE   = regexp.MustCompile(`^([a-z0-9-]+)-docker\.pkg\.dev$`)
	gcrHostLoc = map[string]string{"gcr.io": "us", "us.gcr.io": "us", "eu.gcr.io": "europe", "asia.gcr.io": "asia"}
)

// repository is where an image lives in IAM's terms.
type repository struct {
	resource string // projects/P/locations/L/repositories/R
}

// locate maps a registry host and an image path (without tag or digest) to
// its Artifact Registry repository.
func locate(host, path string) (repository, error) {
	host = strings.ToLower(host)
	parts := strings.Split(path, "/")
	// A project id never holds a dot: a dot in the first element is the
	// domain of a domain-scoped project, whose id is "DOMAIN:NAME".
	if len(parts) >= 3 && strings.Contains(parts[0], ".") {
		parts = append([]string{parts[0] + ":" + parts[1]}, parts[2:]...)
	}
	if m := arHostRE.FindStringSubmatch(host); m != nil {
		if len(parts) < 3 {
			return repository{}, fmt.Errorf("%s/%s is not LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE", host, path)
		}
		return repository{resource: "projects/" + parts[0] + "/locations/" + m[1] + "/repositories/" + parts[1]}, nil
	}
	if loc, ok := gcrHostLoc[host]; ok {
		if len(parts) < 2 {
			return repository{}, fmt.Errorf("%s/%s is not %s/PROJECT/IMAGE", host, path, host)
		}
		repo := host
		if host == "gcr.io" {
			repo = gcrRepositoryName
		}
		return repository{resource: "projects/" + parts[0] + "/locations/" + loc + "/repositories/" + repo}, nil
	}
	return repository{}, fmt.Errorf("registry host %q is neither gcr.io, {us,eu,asia}.gcr.io nor LOCATION-docker.pkg.dev (a mirror must send ?ns=HOST, as containerd does)", host)
}

// deniedMessage is Artifact Registry's wording of a refused permission.
func deniedMessage(permission, resource string) string {
	return fmt.Sprintf("Permission %q denied on resource %q (or it may not exist)", permission, resource)
}

// authorize reports whether who may do action ("pull" or "push") on repo,
// the principal the fake Google resolved, and, when refused, the permission
// Artifact Registry names in its error.
func (s *server) authorize(ctx context.Context, who iamIdentity, repo repository, action string) (principal string, ok bool, missing string, err error) {
	perm := permDownload
	if action == "push" {
		perm = permUpload
	}
	principal, ok, err = s.google.checkPermission(ctx, who, repo.resource, perm)
	if err != nil || ok {
		return principal, ok, "", err
	}
	return principal, false, perm, nil
}

// registryHost is the registry a request is for: containerd sends pulls for
// a mirrored host to the mirror with ?ns=<host>; otherwise it is the Host.
func registryHost(r *http.Request) string {
	if ns := r.URL.Query().Get("ns"); ns != "" {
		return ns
	}
	return r.Host
}
