package refresher

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

const admissionAPI = "admissionregistration.k8s.io/v1"

// admissionPolicy bounds what the refresher's identity may write, beyond
// what RBAC can say: RBAC narrows secrets by name, but not by type or
// annotation, and a glob or selector cannot be a resourceName. Without it
// the identity could write its secret name as a ServiceAccount token
// secret, which the token controller fills with any ServiceAccount's
// token. The policy matches only the refresher's username and denies a
// secret of another type or name, one naming a ServiceAccount, and any
// write (secret or ServiceAccount) outside the coverage.
func (s Settings) admissionPolicy() (*admissionregistrationv1.ValidatingAdmissionPolicy, *admissionregistrationv1.ValidatingAdmissionPolicyBinding, error) {
	covered, err := CoverageExpression(s.Coverage)
	if err != nil {
		return nil, nil, err
	}
	fail := admissionregistrationv1.Fail
	outer := s.OuterName()
	onSecrets := "request.resource.resource != 'secrets' || "
	rules := []admissionregistrationv1.NamedRuleWithOperations{
		rule([]string{""}, []string{"secrets", "serviceaccounts"}, admissionregistrationv1.Create, admissionregistrationv1.Update),
	}
	validations := []admissionregistrationv1.Validation{
		{Expression: onSecrets + "object.type == " + strconv.Quote(string(corev1.SecretTypeDockerConfigJson)),
			Message: "the pullsecret refresher may only write secrets of type kubernetes.io/dockerconfigjson"},
		{Expression: onSecrets + "object.metadata.name == " + strconv.Quote(s.SecretName),
			Message: "the pullsecret refresher may only write its own secret name"},
		{Expression: onSecrets + "!has(object.metadata.annotations) || !(" + strconv.Quote(corev1.ServiceAccountNameKey) + " in object.metadata.annotations)",
			Message: "the pullsecret refresher may not write a secret naming a ServiceAccount (" + corev1.ServiceAccountNameKey + ")"},
	}
	// Outside the coverage: only its own Lease, and its Events in
	// refresh_namespace.
	var own []string
	if s.Watch() {
		// RBAC cannot narrow a create by name: without this, the identity
		// could create another refresher's Lease before it does.
		rules = append(rules, rule([]string{coordinationGroup}, []string{"leases"}, admissionregistrationv1.Create, admissionregistrationv1.Update))
		validations = append(validations, admissionregistrationv1.Validation{
			Expression: "request.resource.resource != 'leases' || (request.namespace == " + strconv.Quote(s.Namespace) + " && object.metadata.name == " + strconv.Quote(s.Name()) + ")",
			Message:    "the pullsecret refresher may only hold its own Lease",
		})
		own = append(own, "request.resource.resource == 'leases'")
	}
	if s.RecoverPods {
		rules = append(rules,
			rule([]string{""}, []string{"pods"}, admissionregistrationv1.Delete),
			rule([]string{""}, []string{"events"}, admissionregistrationv1.Create))
		validations = append(validations, admissionregistrationv1.Validation{
			Expression: "request.resource.resource != 'pods' || (" + stuckControllerPod + ")",
			Message:    "the pullsecret refresher may only delete a pod that a controller owns and that is stuck in ErrImagePull or ImagePullBackOff",
		})
		own = append(own, "(request.resource.resource == 'events' && request.namespace == "+strconv.Quote(s.Namespace)+")")
	}
	if len(own) > 0 {
		covered = strings.Join(own, " || ") + " || (" + covered + ")"
	}
	validations = append(validations, admissionregistrationv1.Validation{
		Expression: covered, Message: "the pullsecret refresher may only write in the namespaces it covers"})
	spec := admissionregistrationv1.ValidatingAdmissionPolicySpec{
		FailurePolicy:    &fail,
		MatchConstraints: &admissionregistrationv1.MatchResources{ResourceRules: rules},
		MatchConditions: []admissionregistrationv1.MatchCondition{{
			Name: "refresher-identity", Expression: "request.userInfo.username == " + strconv.Quote(s.Username()),
		}},
		Validations: validations,
	}
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{
		TypeMeta: metav1.TypeMeta{APIVersion: admissionAPI, Kind: "ValidatingAdmissionPolicy"}, ObjectMeta: s.meta("", outer), Spec: spec,
	}
	binding := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: admissionAPI, Kind: "ValidatingAdmissionPolicyBinding"},
		ObjectMeta: s.meta("", outer),
		Spec: admissionregistrationv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName: outer, ValidationActions: []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny},
		},
	}
	return policy, binding, nil
}

// stuckControllerPod holds of the pod being deleted (oldObject) that a
// controller owns it (its owner recreates it) and that a container or
// init container waits on an image pull, the only pods pod recovery
// deletes.
var stuckControllerPod = func() string {
	waiting := func(field string) string {
		return "(has(oldObject.status." + field + ") && oldObject.status." + field + ".exists(c, has(c.state) && has(c.state.waiting) && " +
			"has(c.state.waiting.reason) && c.state.waiting.reason in [\"ErrImagePull\", \"ImagePullBackOff\"]))"
	}
	return "has(oldObject.metadata.ownerReferences) && oldObject.metadata.ownerReferences.exists(r, has(r.controller) && r.controller) && " +
		"has(oldObject.status) && (" + waiting("containerStatuses") + " || " + waiting("initContainerStatuses") + ")"
}()

func rule(groups, resources []string, ops ...admissionregistrationv1.OperationType) admissionregistrationv1.NamedRuleWithOperations {
	return admissionregistrationv1.NamedRuleWithOperations{RuleWithOperations: admissionregistrationv1.RuleWithOperations{
		Operations: ops, Rule: admissionregistrationv1.Rule{APIGroups: groups, APIVersions: []string{"v1"}, Resources: resources},
	}}
}

// CoverageExpression is c as a CEL condition on request.namespace (and
// namespaceObject's labels for a selector), with the run's semantics: a
// named namespace is covered; a glob or selector match is covered unless
// excluded.
func CoverageExpression(c Coverage) (string, error) {
	var names, matched []string
	for _, p := range c.Namespaces {
		if IsPattern(p) {
			matched = append(matched, "request.namespace.matches("+strconv.Quote(GlobRegexp(p))+")")
		} else {
			names = append(names, strconv.Quote(p))
		}
	}
	if c.Selector != "" {
		sel, err := selectorExpression(c.Selector)
		if err != nil {
			return "", err
		}
		matched = append(matched, sel)
	}
	var terms []string
	if len(names) > 0 {
		slices.Sort(names)
		terms = append(terms, "request.namespace in ["+strings.Join(names, ", ")+"]")
	}
	if len(matched) > 0 {
		m := "(" + strings.Join(matched, " || ") + ")"
		var excluded []string
		for _, x := range c.Excludes {
			excluded = append(excluded, "request.namespace.matches("+strconv.Quote(GlobRegexp(x))+")")
		}
		if len(excluded) > 0 {
			m = "(" + m + " && !(" + strings.Join(excluded, " || ") + "))"
		}
		terms = append(terms, m)
	}
	if len(terms) == 0 {
		return "false", nil
	}
	return strings.Join(terms, " || "), nil
}

// IsPattern reports whether a namespaces entry is a glob.
func IsPattern(p string) bool { return strings.ContainsAny(p, "*?[") }

// GlobRegexp is the anchored RE2 expression matching what path.Match
// matches for pattern (namespace names hold no '/').
func GlobRegexp(pattern string) string {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; c {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		case '[':
			end := strings.IndexByte(pattern[i+1:], ']')
			if end < 0 {
				b.WriteString(regexp.QuoteMeta(pattern[i:]))
				i = len(pattern)
				continue
			}
			class := pattern[i+1 : i+1+end]
			if strings.HasPrefix(class, "^") {
				class = "^" + strings.ReplaceAll(class[1:], `\`, `\\`)
			}
			b.WriteString("[" + class + "]")
			i += end + 1
		case '\\':
			if i+1 < len(pattern) {
				i++
				b.WriteString(regexp.QuoteMeta(string(pattern[i])))
			}
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return b.String()
}

// selectorExpression is a label selector as CEL over the namespace's
// labels, with labels.Selector's semantics (notin and != match a missing
// key).
func selectorExpression(selector string) (string, error) {
	sel, err := labels.Parse(selector)
	if err != nil {
		return "", fmt.Errorf("namespace_selector %q: %w", selector, err)
	}
	reqs, _ := sel.Requirements()
	var terms []string
	for _, r := range reqs {
		key := strconv.Quote(r.Key())
		var vals []string
		for _, v := range slices.Sorted(slices.Values(r.Values().UnsortedList())) {
			vals = append(vals, strconv.Quote(v))
		}
		has := "has(namespaceObject.metadata.labels) && " + key + " in namespaceObject.metadata.labels"
		in := "(" + has + " && namespaceObject.metadata.labels[" + key + "] in [" + strings.Join(vals, ", ") + "])"
		switch r.Operator() {
		case selection.Equals, selection.DoubleEquals, selection.In:
			terms = append(terms, in)
		case selection.NotEquals, selection.NotIn:
			terms = append(terms, "!"+in)
		case selection.Exists:
			terms = append(terms, "("+has+")")
		case selection.DoesNotExist:
			terms = append(terms, "!("+has+")")
		default:
			return "", fmt.Errorf("namespace_selector %q: operator %q cannot be enforced for the refresher; use =, !=, in, notin or exists", selector, r.Operator())
		}
	}
	if len(terms) == 0 {
		return "true", nil
	}
	return "(" + strings.Join(terms, " && ") + ")", nil
}

func matchGlob(pattern, name string) bool {
	ok, _ := path.Match(pattern, name)
	return ok
}

func selectorMatches(selector string, lbls map[string]string) bool {
	sel, err := labels.Parse(selector)
	return err == nil && sel.Matches(labels.Set(lbls))
}
