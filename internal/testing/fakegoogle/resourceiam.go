package fakegoogle

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// Roles granted on projects and Artifact Registry repositories, so that a
// registry double can authorise pulls the way Artifact Registry (and gcr.io,
// which Artifact Registry serves since Container Registry's shutdown) does:
// per repository, against the caller's IAM bindings, inherited from the
// project. See https://cloud.google.com/artifact-registry/docs/access-control
// and https://cloud.google.com/iam/docs/roles-permissions/artifactregistry.

// Permissions the registry double checks.
const (
	PermDownloadArtifacts = "artifactregistry.repositories.downloadArtifacts"
	PermUploadArtifacts   = "artifactregistry.repositories.uploadArtifacts"
	// Cloud Storage's object permissions. Container Registry once served
	// gcr.io from a bucket and pulling needed storage.objects.get; since
	// its shutdown Artifact Registry serves gcr.io and the registry fake
	// checks Artifact Registry permissions only.
	PermStorageObjectsGet    = "storage.objects.get"
	PermStorageObjectsCreate = "storage.objects.create"
)

// Predefined roles the fake knows, with the subset of their permissions it
// checks. GrantRole refuses any other role, so a typo cannot grant nothing
// silently.
var rolePermissions = map[string][]string{
	"roles/artifactregistry.reader":    {PermDownloadArtifacts},
	"roles/artifactregistry.writer":    {PermDownloadArtifacts, PermUploadArtifacts},
	"roles/artifactregistry.repoAdmin": {PermDownloadArtifacts, PermUploadArtifacts},
	"roles/artifactregistry.admin":     {PermDownloadArtifacts, PermUploadArtifacts},
	"roles/storage.objectViewer":       {PermStorageObjectsGet},
	"roles/storage.objectAdmin":        {PermStorageObjectsGet, PermStorageObjectsCreate},
}

// RoleArtifactRegistryReader is what a principal needs to pull from a
// repository.
const RoleArtifactRegistryReader = "roles/artifactregistry.reader"

var (
	projectResourceRE    = regexp.MustCompile(`^projects/[a-z](?:[a-z0-9.:-]*[a-z0-9])?$`)
	repositoryResourceRE = regexp.MustCompile(`^(projects/[a-z](?:[a-z0-9.:-]*[a-z0-9])?)/locations/[a-z0-9-]+/repositories/[a-z0-9][a-z0-9._-]*$`)
)

// ProjectResource is the IAM resource name of a project.
func ProjectResource(project string) string { return "projects/" + project }

// RepositoryResource is the resource name of an Artifact Registry repository.
func RepositoryResource(project, location, repository string) string {
	return "projects/" + project + "/locations/" + location + "/repositories/" + repository
}

// GrantRole adds member (see SubjectPrincipal, AttributePrincipalSet,
// PoolPrincipalSet, ServiceAccountMember) to role's binding on resource, a
// project ("projects/P") or an Artifact Registry repository
// ("projects/P/locations/L/repositories/R"), as
// `gcloud projects add-iam-policy-binding` and
// `gcloud artifacts repositories add-iam-policy-binding` do. A repository
// inherits its project's bindings.
func (g *Google) GrantRole(resource, role, member string) error {
	if !projectResourceRE.MatchString(resource) && !repositoryResourceRE.MatchString(resource) {
		return fmt.Errorf("fakegoogle: resource %q is neither projects/P nor projects/P/locations/L/repositories/R", resource)
	}
	if _, ok := rolePermissions[role]; !ok {
		return fmt.Errorf("fakegoogle: role %q is not one the fake knows", role)
	}
	if member == "" {
		return fmt.Errorf("fakegoogle: empty member for %s on %s", role, resource)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.bindings == nil {
		g.bindings = map[string]map[string][]string{}
	}
	if g.bindings[resource] == nil {
		g.bindings[resource] = map[string][]string{}
	}
	if !slices.Contains(g.bindings[resource][role], member) {
		g.bindings[resource][role] = append(g.bindings[resource][role], member)
	}
	return nil
}

// holdsPermission reports whether the identity behind who holds permission
// on resource, directly or through the resource's project.
func (g *Google) holdsPermission(who IssuedToken, resource, permission string) bool {
	resources := []string{resource}
	if m := repositoryResourceRE.FindStringSubmatch(resource); m != nil {
		resources = append(resources, m[1])
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, res := range resources {
		for role, members := range g.bindings[res] {
			if slices.Contains(rolePermissions[role], permission) &&
				slices.ContainsFunc(members, func(m string) bool { return memberMatches(m, who) }) {
				return true
			}
		}
	}
	return false
}

// checkPermissionRequest is the body of the fake-only
// POST /fakegoogle/v1/checkPermission. Exactly one of AccessToken and Member
// names the identity.
type checkPermissionRequest struct {
	AccessToken string `json:"accessToken"`
	Member      string `json:"member"`
	Resource    string `json:"resource"`
	Permission  string `json:"permission"`
}

// serveCheckPermission implements POST /fakegoogle/v1/checkPermission, which
// exists ONLY in this fake. Google's registries authorise a pull inside
// Google, with the identity behind the presented credential; no public API
// answers "may the owner of this token do P on R" for a third party
// (testIamPermissions answers for the caller, and needs a cloud-platform
// scope the registry itself does not). This endpoint stands in for that
// internal check so that a registry double (e2e/tools/fakegcr) can refuse
// what Artifact Registry refuses, including for federated principals
// (principal:// and principalSet:// members), whose identity tokeninfo does
// not reveal.
//
// Answers 200 {"principal": "...", "granted": bool}; 400 invalid_token for
// an unknown, expired or revoked access token; 400 INVALID_ARGUMENT for a
// malformed request.
func (g *Google) serveCheckPermission(w http.ResponseWriter, r *http.Request) {
	var req checkPermissionRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(&req); err != nil {
		writeAPIError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received. "+err.Error())
		return
	}
	if (req.AccessToken == "") == (req.Member == "") || req.Resource == "" || req.Permission == "" {
		writeAPIError(w, http.StatusBadRequest, "INVALID_ARGUMENT",
			"Give exactly one of accessToken and member, and resource and permission.")
		return
	}
	who := IssuedToken{Principal: req.Member}
	if req.AccessToken != "" {
		tok, ok := g.activeToken(req.AccessToken)
		if !ok {
			writeOAuthError(w, http.StatusBadRequest, "invalid_token", "Invalid Value")
			return
		}
		who = tok
	} else if strings.HasPrefix(req.Member, "principal") {
		// A federated identity only exists behind a token: its attributes
		// decide principalSet membership.
		writeAPIError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "A federated principal must be named by its access token.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"principal": who.Principal,
		"granted":   g.holdsPermission(who, req.Resource, req.Permission),
	})
}
