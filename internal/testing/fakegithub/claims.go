package fakegithub

import (
	"maps"
	"strings"
)

// Claims are the workflow-describing claims GitHub puts in every Actions ID
// token. Empty fields take defaults describing a push to main of
// octo-org/octo-repo (the example organisation GitHub's documentation uses),
// and the fields that GitHub derives from others (owner, subject, workflow
// refs) are derived the same way when left empty.
type Claims struct {
	// Subject is the "sub" claim. When empty it is built the way GitHub
	// builds it by default: "repo:OWNER/REPO:environment:ENV" when the job
	// has an environment, "repo:OWNER/REPO:pull_request" for pull_request
	// events, else "repo:OWNER/REPO:ref:REF".
	Subject string

	Repository           string // "octo-org/octo-repo"
	RepositoryOwner      string // derived from Repository
	RepositoryID         string // "123456789"
	RepositoryOwnerID    string // "987654"
	RepositoryVisibility string // "private"
	Ref                  string // "refs/heads/main"
	RefType              string // derived from Ref: "branch" or "tag"
	SHA                  string // a fixed 40-hex commit id
	Workflow             string // "CI"
	WorkflowRef          string // "OWNER/REPO/.github/workflows/ci.yml@REF"
	JobWorkflowRef       string // defaults to WorkflowRef (no reusable workflow)
	Actor                string // "octocat"
	ActorID              string // "583231"
	RunID                string // "1234567890"
	RunNumber            string // "42"
	RunAttempt           string // "1"
	EventName            string // "push"
	RunnerEnvironment    string // "github-hosted"
	Environment          string // no default; set to model a deployment environment
	HeadRef              string // "" unless a pull_request event sets it
	BaseRef              string // "" unless a pull_request event sets it

	// Extra claims are added last and may override anything above, which is
	// how tests model customised subject templates or future claims.
	Extra map[string]any
}

func (c Claims) withDefaults() Claims {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&c.Repository, "octo-org/octo-repo")
	if owner, _, ok := strings.Cut(c.Repository, "/"); ok {
		def(&c.RepositoryOwner, owner)
	}
	def(&c.RepositoryID, "123456789")
	def(&c.RepositoryOwnerID, "987654")
	def(&c.RepositoryVisibility, "private")
	def(&c.Ref, "refs/heads/main")
	if strings.HasPrefix(c.Ref, "refs/tags/") {
		def(&c.RefType, "tag")
	} else {
		def(&c.RefType, "branch")
	}
	def(&c.SHA, "0123456789abcdef0123456789abcdef01234567")
	def(&c.Workflow, "CI")
	def(&c.WorkflowRef, c.Repository+"/.github/workflows/ci.yml@"+c.Ref)
	def(&c.JobWorkflowRef, c.WorkflowRef)
	def(&c.Actor, "octocat")
	def(&c.ActorID, "583231")
	def(&c.RunID, "1234567890")
	def(&c.RunNumber, "42")
	def(&c.RunAttempt, "1")
	def(&c.EventName, "push")
	def(&c.RunnerEnvironment, "github-hosted")
	switch {
	case c.Environment != "":
		def(&c.Subject, "repo:"+c.Repository+":environment:"+c.Environment)
	case c.EventName == "pull_request":
		def(&c.Subject, "repo:"+c.Repository+":pull_request")
	default:
		def(&c.Subject, "repo:"+c.Repository+":ref:"+c.Ref)
	}
	return c
}

// workflowClaims returns the custom claims as they appear in the token. All
// of GitHub's custom claims are strings, numeric ids included.
func (c Claims) workflowClaims() map[string]any {
	m := map[string]any{
		"sub":                   c.Subject,
		"repository":            c.Repository,
		"repository_owner":      c.RepositoryOwner,
		"repository_id":         c.RepositoryID,
		"repository_owner_id":   c.RepositoryOwnerID,
		"repository_visibility": c.RepositoryVisibility,
		"ref":                   c.Ref,
		"ref_type":              c.RefType,
		"sha":                   c.SHA,
		"workflow":              c.Workflow,
		"workflow_ref":          c.WorkflowRef,
		"workflow_sha":          c.SHA,
		"job_workflow_ref":      c.JobWorkflowRef,
		"job_workflow_sha":      c.SHA,
		"actor":                 c.Actor,
		"actor_id":              c.ActorID,
		"run_id":                c.RunID,
		"run_number":            c.RunNumber,
		"run_attempt":           c.RunAttempt,
		"event_name":            c.EventName,
		"runner_environment":    c.RunnerEnvironment,
		"head_ref":              c.HeadRef,
		"base_ref":              c.BaseRef,
	}
	if c.Environment != "" {
		m["environment"] = c.Environment
	}
	maps.Copy(m, c.Extra)
	return m
}

// claimsSupported is the claims_supported list of the discovery document.
var claimsSupported = []string{
	"sub", "aud", "exp", "iat", "iss", "jti", "nbf",
	"ref", "sha", "repository", "repository_id", "repository_owner",
	"repository_owner_id", "enterprise", "enterprise_id", "run_id", "run_number",
	"run_attempt", "actor", "actor_id", "workflow", "workflow_ref", "workflow_sha",
	"head_ref", "base_ref", "event_name", "ref_type", "ref_protected",
	"environment", "environment_node_id", "job_workflow_ref", "job_workflow_sha",
	"repository_visibility", "runner_environment", "issuer_scope",
}
