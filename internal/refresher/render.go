// Package refresher installs, updates and removes the in-cluster refresher
// (refresh: true): a CronJob (refresh_mode: cron) or a Deployment that
// watches the cluster (refresh_mode: watch) running pullsecret's own
// image, by digest, that rewrites the pull secrets before their token
// expires, authenticating to Google with nothing stored in the cluster — a
// projected ServiceAccount token exchanged at STS (Workload Identity
// Federation), or the GKE metadata server.
//
// Render builds the objects (pure, golden-tested); package kube sends them,
// in the order runner decides.
package refresher

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/kube"
	"github.com/pullsecret/pullsecret/internal/labels"
	"github.com/pullsecret/pullsecret/internal/testrig"
)

// Object names and paths. One refresher serves one identity
// (service_account, secret_name): its objects are named after that
// identity (ObjectName), so two teams sharing refresh_namespace each keep
// their own. Objects outside refresh_namespace (cluster-scoped, or in a
// covered namespace) add ".<refresh_namespace>" so two refresh namespaces
// never collide.
const (
	// Name is the common prefix of every refresher object and the
	// app.kubernetes.io/name label.
	Name = "pullsecret-refresher"

	// Coverage keys: the only data the refresher's ConfigMap may hold.
	KeyNamespaces        = config.InNamespaces
	KeyNamespaceSelector = config.InNamespaceSelector
	KeyExcludeNamespaces = config.InExcludeNamespaces
	KeyServiceAccounts   = config.InServiceAccounts

	TokenDir  = "/var/run/secrets/pullsecret"
	TokenPath = TokenDir + "/token"

	// TokenExpirationSeconds is the projected token's lifetime: kubelet
	// rotates it at 80%, and it is only ever sent to STS.
	TokenExpirationSeconds = 600

	// componentValue is labels.Component's value on every refresher object.
	componentValue = "refresher"

	stsTokenType = "urn:ietf:params:oauth:token-type:jwt"
	nonRootUID   = 65532
)

// CoverageKeys are the ConfigMap keys a refresher run reads; any other key
// fails the run.
var CoverageKeys = []string{KeyNamespaces, KeyNamespaceSelector, KeyExcludeNamespaces, KeyServiceAccounts}

// FixedInputs are the inputs the installer fixes in the CronJob's
// arguments (--set NAME=VALUE): secret, endpoints, registries, scopes.
// A refresher run accepts no other. service_account has its own flag: the
// run impersonates it through the credential configuration it generates,
// not as an input.
var FixedInputs = []string{
	config.InSecretName, config.InSecretLabels, config.InSecretAnnotations,
	config.InRegistries, config.InScopes, config.InTokenLifetime, config.InConcurrency,
	config.InSTSEndpoint, config.InIAMCredentialsEndpoint, config.InOAuthTokenEndpoint, config.InMetadataEndpoint,
}

// Coverage is what a refresher keeps fresh: the only part of it that
// several runs add to (and teardown removes from).
type Coverage struct {
	// Namespaces are names and globs.
	Namespaces      []string
	Selector        string
	Excludes        []string
	ServiceAccounts []string
}

// Empty reports whether the coverage names no namespace.
func (c Coverage) Empty() bool { return len(c.Namespaces) == 0 && c.Selector == "" }

// NamesOnly reports whether every covered namespace is named (no glob, no
// selector): its permissions can then be granted namespace by namespace.
func (c Coverage) NamesOnly() bool {
	return c.Selector == "" && !slices.ContainsFunc(c.Namespaces, config.IsGlob)
}

// Data is the ConfigMap data holding c.
func (c Coverage) Data() map[string]string {
	d := map[string]string{}
	for k, v := range map[string]string{
		KeyNamespaces: strings.Join(c.Namespaces, "\n"), KeyNamespaceSelector: c.Selector,
		KeyExcludeNamespaces: strings.Join(c.Excludes, ","), KeyServiceAccounts: strings.Join(c.ServiceAccounts, ","),
	} {
		if v != "" {
			d[k] = v
		}
	}
	return d
}

// CoverageFrom reads a refresher's ConfigMap data through the allowlist:
// a key that is not coverage is refused, never used.
func CoverageFrom(data map[string]string) (Coverage, error) {
	for _, k := range slices.Sorted(maps.Keys(data)) {
		if !slices.Contains(CoverageKeys, k) {
			return Coverage{}, fmt.Errorf("unknown key %q: the refresher's ConfigMap holds only its coverage (%s); everything else is fixed in its CronJob by the installer. Remove the key, or run the action again with refresh: true", k, strings.Join(CoverageKeys, ", "))
		}
	}
	return Coverage{
		Namespaces: config.SplitList(data[KeyNamespaces]), Selector: strings.TrimSpace(data[KeyNamespaceSelector]),
		Excludes: config.SplitList(data[KeyExcludeNamespaces]), ServiceAccounts: config.SplitList(data[KeyServiceAccounts]),
	}, nil
}

// Settings are what a refresher is rendered from.
type Settings struct {
	Namespace string // refresh_namespace
	Image     string // by digest
	// Mode is refresh_mode: config.RefreshCron (also when empty) or
	// config.RefreshWatch.
	Mode string
	// RecoverPods (watch mode only) grants deleting stuck pods.
	RecoverPods bool
	Schedule    string // cron mode
	// Interval is refresh_interval, or in watch mode half of
	// token_lifetime.
	Interval time.Duration

	// Provider is refresh_workload_identity_provider; empty means the GKE
	// metadata server.
	Provider               string
	ServiceAccount         string
	SecretName             string
	TokenLifetime          time.Duration
	STSEndpoint            string
	IAMCredentialsEndpoint string

	// Fixed are the FixedInputs' values, passed as arguments.
	Fixed    map[string]string
	Coverage Coverage

	// AllowHTTPEndpoints passes the test-rig switch
	// config.EnvAllowHTTPEndpoints on to the refresher's pod: only a
	// test-rig build (package testrig) that itself has it (a rig whose fakes
	// speak plain http) installs a refresher that may use the same
	// endpoints. A production build never renders it.
	AllowHTTPEndpoints bool
}

// ObjectName is the name of the refresher of (service_account,
// secret_name): stable, distinct for every identity (a hash of both), and
// short (31 bytes), so that its ServiceAccount's subject, mapped with the
// provider's ID, stays under Google's 127 bytes for any namespace.
func ObjectName(serviceAccount, secretName string) string {
	sum := sha256.Sum256([]byte(serviceAccount + "\n" + secretName))
	return Name + "-" + hex.EncodeToString(sum[:])[:10]
}

// Watch reports whether the refresher is the watching Deployment.
func (s Settings) Watch() bool { return s.Mode == config.RefreshWatch }

// ModeName is refresh_mode's value: cron or watch.
func (s Settings) ModeName() string {
	if s.Watch() {
		return config.RefreshWatch
	}
	return config.RefreshCron
}

// Name is the refresher's name in refresh_namespace.
func (s Settings) Name() string { return ObjectName(s.ServiceAccount, s.SecretName) }

// OuterName names the refresher's objects outside refresh_namespace.
func (s Settings) OuterName() string { return OuterName(s.Name(), s.Namespace) }

// OuterName is name's objects' name outside namespace.
func OuterName(name, namespace string) string { return name + "." + namespace }

// Username is the refresher's ServiceAccount as the API server names it.
func (s Settings) Username() string { return "system:serviceaccount:" + s.Namespace + ":" + s.Name() }

// ProjectedTokenAudience is the audience Google expects of an OIDC token
// presented to a Workload Identity provider created with default allowed
// audiences: https://iam.googleapis.com/ + the provider's resource name.
func ProjectedTokenAudience(provider string) string { return "https://iam.googleapis.com/" + provider }

// Labels are on every object the refresher named name consists of.
func Labels(name string) map[string]string {
	return map[string]string{labels.ManagedBy: labels.Manager, labels.Name: Name, labels.Component: componentValue, labels.Instance: name}
}

// Object is one rendered Kubernetes object; package kube sends it.
type Object = kube.Object

func obj(apiVersion, kind, resource, namespace, name string, body any) Object {
	return Object{APIVersion: apiVersion, Kind: kind, Resource: resource, Namespace: namespace, Name: name, Body: body}
}

func (s Settings) meta(namespace, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: Labels(s.Name())}
}

const rbacAPI = "rbac.authorization.k8s.io/v1"

// Render returns the refresher's objects in apply order: the admission
// policy that bounds its identity first, then identity and permissions,
// the ConfigMap, and the workload last (the CronJob, or in watch mode the
// PodDisruptionBudget and the Deployment), so that it never runs without
// them.
func Render(s Settings) ([]Object, error) {
	ns, name, outer := s.Namespace, s.Name(), s.OuterName()
	policy, binding, err := s.admissionPolicy()
	if err != nil {
		return nil, err
	}
	sa := &corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"}, ObjectMeta: s.meta(ns, name)}
	if s.Provider == "" && s.ServiceAccount != "" {
		// GKE: without one, the pod uses Workload Identity Federation
		// directly (the metadata server's federated token).
		sa.Annotations = map[string]string{labels.GKEServiceAccount: s.ServiceAccount}
	}
	subjects := []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: ns}}
	objs := []Object{
		obj("v1", "ServiceAccount", "serviceaccounts", ns, name, sa),
		obj("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", "validatingadmissionpolicies", "", outer, policy),
		obj("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding", "validatingadmissionpolicybindings", "", outer, binding),
		obj(rbacAPI, "ClusterRole", "clusterroles", "", outer, &rbacv1.ClusterRole{
			TypeMeta: metav1.TypeMeta{APIVersion: rbacAPI, Kind: "ClusterRole"}, ObjectMeta: s.meta("", outer), Rules: s.clusterRules(),
		}),
		obj(rbacAPI, "ClusterRoleBinding", "clusterrolebindings", "", outer, &rbacv1.ClusterRoleBinding{
			TypeMeta: metav1.TypeMeta{APIVersion: rbacAPI, Kind: "ClusterRoleBinding"}, ObjectMeta: s.meta("", outer),
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: outer}, Subjects: subjects,
		}),
	}
	objs = append(objs, s.CoveredNamespaceObjects()...)
	objs = append(objs,
		obj(rbacAPI, "Role", "roles", ns, name, &rbacv1.Role{
			TypeMeta: metav1.TypeMeta{APIVersion: rbacAPI, Kind: "Role"}, ObjectMeta: s.meta(ns, name),
			Rules: s.ownRules(),
		}),
		obj(rbacAPI, "RoleBinding", "rolebindings", ns, name, &rbacv1.RoleBinding{
			TypeMeta: metav1.TypeMeta{APIVersion: rbacAPI, Kind: "RoleBinding"}, ObjectMeta: s.meta(ns, name),
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name}, Subjects: subjects,
		}),
		obj("v1", "ConfigMap", "configmaps", ns, name, s.ConfigMap()),
	)
	return append(objs, s.workload()...), nil
}

// ConfigMap holds the coverage, nothing else.
func (s Settings) ConfigMap() *corev1.ConfigMap {
	return &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: s.meta(s.Namespace, s.Name()), Data: s.Coverage.Data()}
}

// CoveredNamespaceObjects are, for named coverage, a Role and RoleBinding
// in each covered namespace: the refresher's only permission on secrets.
// Glob and selector coverage have none (their namespaces are not known
// in advance); the cluster-wide rule and the admission policy serve them.
func (s Settings) CoveredNamespaceObjects() []Object {
	if !s.Coverage.NamesOnly() {
		return nil
	}
	outer := s.OuterName()
	subjects := []rbacv1.Subject{{Kind: "ServiceAccount", Name: s.Name(), Namespace: s.Namespace}}
	var objs []Object
	for _, ns := range slices.Sorted(slices.Values(s.Coverage.Namespaces)) {
		objs = append(objs,
			obj(rbacAPI, "Role", "roles", ns, outer, &rbacv1.Role{
				TypeMeta: metav1.TypeMeta{APIVersion: rbacAPI, Kind: "Role"}, ObjectMeta: s.meta(ns, outer), Rules: s.writeRules(),
			}),
			obj(rbacAPI, "RoleBinding", "rolebindings", ns, outer, &rbacv1.RoleBinding{
				TypeMeta: metav1.TypeMeta{APIVersion: rbacAPI, Kind: "RoleBinding"}, ObjectMeta: s.meta(ns, outer),
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: outer}, Subjects: subjects,
			}))
	}
	return objs
}

// clusterRules: reading the covered namespaces (by name when they are
// named), and for glob or selector coverage the write rules cluster-wide,
// bounded to the coverage by the admission policy. The watching refresher
// also watches them: a list or watch with a metadata.name field selector
// is authorized as that name, so named namespaces stay narrowed.
func (s Settings) clusterRules() []rbacv1.PolicyRule {
	nsRule := rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: s.verbs("get", "list")}
	if s.Coverage.NamesOnly() {
		nsRule.Verbs, nsRule.ResourceNames = s.verbs("get"), slices.Sorted(slices.Values(s.Coverage.Namespaces))
		if s.Watch() {
			nsRule.Verbs = []string{"get", "list", "watch"}
		}
		return []rbacv1.PolicyRule{nsRule}
	}
	return append([]rbacv1.PolicyRule{nsRule}, s.writeRules()...)
}

// verbs are the read verbs, with watch added for the watching refresher.
func (s Settings) verbs(read ...string) []string {
	if s.Watch() {
		return append(read, "watch")
	}
	return read
}

// writeRules grant what a refresher run does in a namespace and nothing
// more: it never deletes secrets and reads only the pull secret by name
// (list, and watch for the watching refresher: with a metadata.name field
// selector, which RBAC authorizes by that name; create and patch:
// server-side apply). Named ServiceAccounts are narrowed by name too.
// With refresh_recover_pods, listing and deleting pods and Events on their
// owners; the admission policy bounds the deletes to stuck,
// controller-owned pods in covered namespaces.
func (s Settings) writeRules() []rbacv1.PolicyRule {
	secretVerbs := []string{"list", "create", "patch"}
	if s.Watch() {
		secretVerbs = []string{"list", "watch", "create", "patch"}
	}
	rules := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{s.SecretName}, Verbs: secretVerbs},
	}
	sas := s.Coverage.ServiceAccounts
	if len(sas) > 0 {
		saRule := rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: []string{"get", "list", "update"}}
		if s.Watch() {
			saRule.Verbs = []string{"get", "list", "watch", "update"}
		}
		if !slices.Contains(sas, "*") {
			saRule.ResourceNames = slices.Sorted(slices.Values(sas))
		}
		rules = append(rules, saRule)
	}
	if s.RecoverPods {
		rules = append(rules,
			rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list", "delete"}},
			rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create"}})
	}
	return rules
}

// ownRules are the refresher's permissions in refresh_namespace: its own
// coverage and the status it records on it, Events on failure, and for
// the watching refresher a watch on its ConfigMap (list and watch by
// name: a metadata.name field selector, which RBAC authorizes as that
// name, so no other ConfigMap is visible) and its leader election Lease.
// A create carries no name in its URL, so resourceNames cannot narrow the
// Event's or the Lease's (the admission policy holds the Lease to its
// name).
func (s Settings) ownRules() []rbacv1.PolicyRule {
	name := s.Name()
	cm := rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{name}, Verbs: []string{"get", "patch"}}
	if s.Watch() {
		cm.Verbs = []string{"get", "list", "watch", "patch"}
	}
	rules := []rbacv1.PolicyRule{cm, {APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create"}}}
	if s.Watch() {
		rules = append(rules,
			rbacv1.PolicyRule{APIGroups: []string{coordinationGroup}, Resources: []string{"leases"}, Verbs: []string{"create"}},
			rbacv1.PolicyRule{APIGroups: []string{coordinationGroup}, Resources: []string{"leases"}, ResourceNames: []string{name}, Verbs: []string{"get", "update"}})
	}
	return rules
}

// CredentialConfig is the external_account credential configuration
// (https://google.aip.dev/auth/4117) the refresher authenticates with: the
// projected token file is the subject token, STS exchanges it, and
// IAM Credentials mints service_account's token of token_lifetime.
func CredentialConfig(s Settings, tokenFile string) ([]byte, error) {
	cfg := map[string]any{
		"type":                              "external_account",
		"audience":                          "//iam.googleapis.com/" + s.Provider,
		"subject_token_type":                stsTokenType,
		"token_url":                         s.STSEndpoint,
		"service_account_impersonation_url": strings.TrimSuffix(s.IAMCredentialsEndpoint, "/") + "/v1/projects/-/serviceAccounts/" + s.ServiceAccount + ":generateAccessToken",
		"service_account_impersonation":     map[string]any{"token_lifetime_seconds": int(s.TokenLifetime / time.Second)},
		"credential_source":                 map[string]any{"file": tokenFile, "format": map[string]any{"type": "text"}},
	}
	return json.MarshalIndent(cfg, "", "  ")
}

// Args are the refresher run's arguments: everything but the coverage,
// fixed by the installer (a ConfigMap editor cannot change them).
func (s Settings) Args() []string {
	args := []string{"refresh", "--config-map", s.Namespace + "/" + s.Name(), "--service-account", s.ServiceAccount}
	if s.Provider != "" {
		args = append(args, "--provider", s.Provider)
	}
	for _, k := range FixedInputs {
		if v := s.Fixed[k]; v != "" {
			args = append(args, "--set", k+"="+v)
		}
	}
	return args
}

// cronJob is deploy/cronjob.yaml's hardening (Pod Security "restricted",
// read-only root filesystem, limits, Forbid) around the Job mode.
func cronJob(s Settings) *batchv1.CronJob {
	// A stuck run must end before the next is due: with Forbid it would
	// otherwise hold back every later refresh while tokens expire.
	deadline := int64(min(600, s.Interval/time.Second))
	starting := deadline
	backoff, history, failed := int32(2), int32(1), int32(3)
	name := s.Name()
	p := s.pod()
	p.container.Args = s.Args()
	p.container.Resources = corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
	}
	return &batchv1.CronJob{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"},
		ObjectMeta: s.meta(s.Namespace, name),
		Spec: batchv1.CronJobSpec{
			Schedule:                   s.Schedule,
			ConcurrencyPolicy:          batchv1.ForbidConcurrent,
			StartingDeadlineSeconds:    &starting,
			SuccessfulJobsHistoryLimit: &history,
			FailedJobsHistoryLimit:     &failed,
			JobTemplate: batchv1.JobTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: Labels(name)},
				Spec: batchv1.JobSpec{
					BackoffLimit:          &backoff,
					ActiveDeadlineSeconds: &deadline,
					Template: corev1.PodTemplateSpec{
						ObjectMeta: metav1.ObjectMeta{Labels: Labels(name)},
						Spec:       p.spec(corev1.RestartPolicyOnFailure),
					},
				},
			},
		},
	}
}

// podParts are what the CronJob's and the Deployment's pods share: Pod
// Security "restricted", a read-only root filesystem, the refresher's
// ServiceAccount and its projected token for Google.
type podParts struct {
	s         Settings
	container corev1.Container
	volumes   []corev1.Volume
}

func (s Settings) pod() *podParts {
	yes, no := true, false
	expiration := int64(TokenExpirationSeconds)
	mode := int32(0o444)
	p := &podParts{s: s, container: corev1.Container{
		Name:  "pullsecret",
		Image: s.Image,
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: &no, ReadOnlyRootFilesystem: &yes,
			Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		},
	}}
	if testrig.Enabled && s.AllowHTTPEndpoints {
		p.container.Env = append(p.container.Env, corev1.EnvVar{Name: config.EnvAllowHTTPEndpoints, Value: "true"})
	}
	if s.Provider != "" {
		p.volumes = append(p.volumes, corev1.Volume{Name: "google-token", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
			DefaultMode: &mode,
			Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{
				Audience: ProjectedTokenAudience(s.Provider), ExpirationSeconds: &expiration, Path: "token",
			}}},
		}}})
		p.container.VolumeMounts = append(p.container.VolumeMounts, corev1.VolumeMount{Name: "google-token", MountPath: TokenDir, ReadOnly: true})
	}
	return p
}

func (p *podParts) spec(restart corev1.RestartPolicy) corev1.PodSpec {
	yes := true
	uid := int64(nonRootUID)
	return corev1.PodSpec{
		ServiceAccountName: p.s.Name(),
		RestartPolicy:      restart,
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot: &yes, RunAsUser: &uid, RunAsGroup: &uid,
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Containers: []corev1.Container{p.container},
		Volumes:    p.volumes,
	}
}
