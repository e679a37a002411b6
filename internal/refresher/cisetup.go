package refresher

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/pullsecret/pullsecret/internal/config"
)

// CI is the provider shape of one CI's OIDC tokens: issuer, audience,
// attribute mapping and the condition that pins it to one project. Each
// CI names its claims differently, so each gets its own.
type CI struct {
	Name string
	// Issuer is the token's iss; Audience what the provider allows.
	Issuer, Audience string
	// Mapping is the provider's attribute mapping; its google.subject is
	// built from fixed-length ids, so it never passes Google's 127 bytes.
	Mapping [][2]string
	// Condition is the attribute condition (CEL) admitting the project only.
	Condition string
	// ProjectAttribute is the mapped attribute the printed grant names.
	ProjectAttribute, ProjectValue string
	// Token is how a job of that CI gets the token, for the comments.
	Token string
}

// CINames are the values --ci accepts.
var CINames = []string{"gitlab", "circleci", "buildkite"}

var (
	gitlabPath   = regexp.MustCompile(`^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$`)
	uuidRE       = `[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`
	circlePair   = regexp.MustCompile(`^(` + uuidRE + `)/(` + uuidRE + `)$`)
	buildkiteRef = regexp.MustCompile(`^([a-z0-9-]+)/([a-z0-9-]+)$`)
)

// NewCI is the provider shape of ci for project, whose form depends on the
// CI: GitLab GROUP/PROJECT (subgroups allowed), CircleCI ORG_ID/PROJECT_ID
// (the UUIDs of Organization and Project Settings), Buildkite
// ORG_SLUG/PIPELINE_SLUG. issuer is a self-managed GitLab's URL ("" is
// https://gitlab.com); audience is the provider's resource URL, which
// GitLab's id_tokens aud and Buildkite's --audience must request.
func NewCI(ci, project, issuer, provider string) (*CI, error) {
	audience := "https://iam.googleapis.com/" + provider
	switch ci {
	case "gitlab":
		// https://docs.gitlab.com/ci/secrets/id_token_authentication/:
		// sub is project_path:GROUP/PROJECT:ref_type:TYPE:ref:REF, as
		// long as the branch, so the subject is made of numeric ids.
		if !gitlabPath.MatchString(project) {
			return nil, fmt.Errorf("--ci-project %q: GitLab wants the project path, GROUP/PROJECT (subgroups allowed)", project)
		}
		if issuer == "" {
			issuer = "https://gitlab.com"
		}
		return &CI{Name: "GitLab", Issuer: strings.TrimSuffix(issuer, "/"), Audience: audience,
			Mapping: [][2]string{
				{"google.subject", "'gitlab:' + assertion.project_id + ':' + assertion.job_id"},
				{"attribute.project_path", "assertion.project_path"},
				{"attribute.namespace_path", "assertion.namespace_path"},
				{"attribute.ref", "assertion.ref"},
				{"attribute.ref_type", "assertion.ref_type"},
			},
			Condition:        "assertion.project_path == '" + project + "'",
			ProjectAttribute: "project_path", ProjectValue: project,
			Token: "id_tokens: with aud: " + audience}, nil
	case "circleci":
		// https://circleci.com/docs/openid-connect-tokens/: iss is
		// https://oidc.circleci.com/org/ORG_ID, aud ORG_ID, sub
		// org/ORG_ID/project/PROJECT_ID/user/USER_ID (three UUIDs: 127
		// bytes, exactly Google's limit).
		m := circlePair.FindStringSubmatch(project)
		if m == nil {
			return nil, fmt.Errorf("--ci-project %q: CircleCI wants ORG_ID/PROJECT_ID, the organization's and the project's UUIDs (Organization and Project Settings)", project)
		}
		return &CI{Name: "CircleCI", Issuer: "https://oidc.circleci.com/org/" + m[1], Audience: m[1],
			Mapping: [][2]string{
				{"google.subject", "assertion.sub"},
				{"attribute.project_id", "assertion['oidc.circleci.com/project-id']"},
			},
			Condition:        "assertion['oidc.circleci.com/project-id'] == '" + m[2] + "'",
			ProjectAttribute: "project_id", ProjectValue: m[2],
			Token: "$CIRCLE_OIDC_TOKEN_V2 (aud is the organization ID)"}, nil
	case "buildkite":
		// https://buildkite.com/docs/agent/v3/cli-oidc: iss is
		// https://agent.buildkite.com for every organization, sub
		// organization:ORG:pipeline:PIPELINE:ref:REF:commit:SHA:step:STEP
		// (unbounded), job_id a UUID.
		m := buildkiteRef.FindStringSubmatch(project)
		if m == nil {
			return nil, fmt.Errorf("--ci-project %q: Buildkite wants ORG_SLUG/PIPELINE_SLUG", project)
		}
		return &CI{Name: "Buildkite", Issuer: "https://agent.buildkite.com", Audience: audience,
			Mapping: [][2]string{
				{"google.subject", "'buildkite:' + assertion.job_id"},
				{"attribute.pipeline", "assertion.organization_slug + '/' + assertion.pipeline_slug"},
				{"attribute.build_branch", "assertion.build_branch"},
			},
			// All organizations share the issuer: the organization is
			// part of the condition, not only the pipeline.
			Condition:        "assertion.organization_slug == '" + m[1] + "' && assertion.pipeline_slug == '" + m[2] + "'",
			ProjectAttribute: "pipeline", ProjectValue: project,
			Token: "buildkite-agent oidc request-token --audience " + audience}, nil
	}
	return nil, fmt.Errorf("--ci %q: must be one of %s", ci, strings.Join(CINames, ", "))
}

// MappingFlag is the --attribute-mapping value.
func (c *CI) MappingFlag() string {
	parts := make([]string, len(c.Mapping))
	for i, m := range c.Mapping {
		parts[i] = m[0] + "=" + m[1]
	}
	return strings.Join(parts, ",")
}

// CISetupCommands are the gcloud commands that create a provider trusting
// ci's tokens of one project and, with serviceAccount, let that project
// impersonate it; without, the project's principal set is what to grant
// roles to (direct federation). Every value is shell-quoted.
func CISetupCommands(ci *CI, provider, serviceAccount string) (string, error) {
	for _, v := range []struct{ input, value string }{
		{config.InWorkloadIdentityProvider, provider}, {config.InServiceAccount, serviceAccount}, {"ci-project", ci.ProjectValue}, {"ci-issuer", ci.Issuer},
	} {
		if hasControl(v.value) || strings.ContainsAny(v.value, `'\`) {
			return "", fmt.Errorf("input %q: %q holds a control character or a quote; refusing to print shell commands with it", v.input, v.value)
		}
	}
	m := providerParts.FindStringSubmatch(provider)
	if m == nil {
		return "", fmt.Errorf("input %q: %q is not a provider resource name; expected projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>", config.InWorkloadIdentityProvider, provider)
	}
	project, pool, id := m[1], m[2], m[3]
	set := fmt.Sprintf("principalSet://iam.googleapis.com/projects/%s/locations/global/workloadIdentityPools/%s/attribute.%s/%s", project, pool, ci.ProjectAttribute, ci.ProjectValue)
	var b strings.Builder
	fmt.Fprintf(&b, "# Workload Identity Federation for pullsecret in %s, keyless.\n", ci.Name)
	fmt.Fprintf(&b, "# The job gets its OIDC ID token from %s\n", ci.Token)
	fmt.Fprintf(&b, "# and passes it with --oidc-token-env or --oidc-token-file.\n")
	fmt.Fprintf(&b, "# The provider accepts only %s %s (attribute condition); google.subject is\n", ci.ProjectAttribute, ci.ProjectValue)
	fmt.Fprintf(&b, "# built from fixed-length ids, within Google's %d-byte limit.\n\n", MaxSubjectBytes)
	fmt.Fprintf(&b, "gcloud iam workload-identity-pools create %s \\\n  --project=%s --location=global \\\n  --display-name=%s\n\n", shellQuote(pool), shellQuote(project), shellQuote(ci.Name))
	fmt.Fprintf(&b, "gcloud iam workload-identity-pools providers create-oidc %s \\\n  --project=%s --location=global --workload-identity-pool=%s \\\n  --issuer-uri=%s \\\n  --allowed-audiences=%s \\\n",
		shellQuote(id), shellQuote(project), shellQuote(pool), shellQuote(ci.Issuer), shellQuote(ci.Audience))
	fmt.Fprintf(&b, "  --attribute-mapping=%s \\\n  --attribute-condition=%s\n\n", shellDoubleQuote(ci.MappingFlag()), shellDoubleQuote(ci.Condition))
	if serviceAccount != "" {
		fmt.Fprintf(&b, "# Jobs of %s may impersonate %s:\n", ci.ProjectValue, serviceAccount)
		fmt.Fprintf(&b, "gcloud iam service-accounts add-iam-policy-binding %s \\\n  --role=roles/iam.workloadIdentityUser \\\n  --member=%s\n\n", shellQuote(serviceAccount), shellQuote(set))
		fmt.Fprintf(&b, "# Then: pullsecret --workload-identity-provider=%s --service-account=%s --oidc-token-env=VAR ...\n", shellQuote(provider), shellQuote(serviceAccount))
		return b.String(), nil
	}
	fmt.Fprintf(&b, "# Direct federation (no service account): grant the registry role to the project's jobs:\n")
	fmt.Fprintf(&b, "gcloud projects add-iam-policy-binding PROJECT_ID \\\n  --role=roles/artifactregistry.reader \\\n  --member=%s\n\n", shellQuote(set))
	fmt.Fprintf(&b, "# Then: pullsecret --workload-identity-provider=%s --oidc-token-env=VAR ...\n", shellQuote(provider))
	return b.String(), nil
}
