package fakegoogle

import (
	"strings"
)

const iamPrefix = "//iam.googleapis.com/"

// STSAudience is the "audience" a client sends to STS for provider, e.g.
// "//iam.googleapis.com/projects/123456/locations/global/workloadIdentityPools/gh/providers/gh".
func STSAudience(provider string) string { return iamPrefix + provider }

// OIDCAudience is the audience google-github-actions/auth requests in the
// GitHub token, and the default of Provider.AllowedAudiences.
func OIDCAudience(provider string) string { return "https:" + iamPrefix + provider }

// poolOf returns the workload identity pool part of a provider name.
func poolOf(provider string) string {
	pool, _, _ := strings.Cut(provider, "/providers/")
	return pool
}

// SubjectPrincipal is the IAM member for one federated identity:
// principal://iam.googleapis.com/POOL/subject/SUBJECT.
func SubjectPrincipal(provider, subject string) string {
	return "principal:" + iamPrefix + poolOf(provider) + "/subject/" + subject
}

// AttributePrincipalSet is the IAM member for every identity in the pool
// whose mapped attribute.NAME equals value, e.g.
// principalSet://iam.googleapis.com/POOL/attribute.repository/octo-org/octo-repo.
func AttributePrincipalSet(provider, attribute, value string) string {
	return "principalSet:" + iamPrefix + poolOf(provider) + "/attribute." + attribute + "/" + value
}

// PoolPrincipalSet is the IAM member for every identity in the pool.
func PoolPrincipalSet(provider string) string {
	return "principalSet:" + iamPrefix + poolOf(provider) + "/*"
}

// ServiceAccountMember is the IAM member for a service account.
func ServiceAccountMember(email string) string { return "serviceAccount:" + email }

// mapAttributes applies a provider's attribute mapping to subject-token
// claims. A mapping is a CEL concatenation of string claims and quoted
// literals ("assertion.repository_id + '/' + assertion.run_id"); Google's
// CEL could do more, but GitHub's claims are all strings.
func mapAttributes(mapping map[string]string, claims map[string]any) (subject string, attrs map[string]string) {
	attrs = map[string]string{}
	for target, source := range mapping {
		v := evalMapping(source, claims)
		if v == "" {
			continue
		}
		if target == "google.subject" {
			subject = v
			continue
		}
		if name, ok := strings.CutPrefix(target, "attribute."); ok {
			attrs[name] = v
		}
	}
	return subject, attrs
}

// memberMatches reports whether IAM member covers the identity behind tok.
func memberMatches(member string, tok IssuedToken) bool {
	if tok.Kind != KindFederated {
		return member == tok.Principal
	}
	if member == tok.Principal {
		return true
	}
	pool := poolOf(tok.Provider)
	rest, ok := strings.CutPrefix(member, "principalSet:"+iamPrefix+pool+"/")
	if !ok {
		return false
	}
	if rest == "*" {
		return true
	}
	spec, ok := strings.CutPrefix(rest, "attribute.")
	if !ok {
		return false
	}
	name, value, ok := strings.Cut(spec, "/")
	return ok && tok.Attributes[name] == value
}

// evalMapping evaluates a concatenation of assertion.CLAIM (or
// assertion['CLAIM']) terms and quoted
// literals; a missing claim makes the whole value empty, as CEL's error
// does on Google.
func evalMapping(expr string, claims map[string]any) string {
	var b strings.Builder
	for _, term := range strings.Split(expr, "+") {
		term = strings.TrimSpace(term)
		if len(term) >= 2 && (term[0] == '\'' || term[0] == '"') && term[len(term)-1] == term[0] {
			b.WriteString(term[1 : len(term)-1])
			continue
		}
		v := claimOf(term, claims)
		if v == "" {
			return ""
		}
		b.WriteString(v)
	}
	return b.String()
}
