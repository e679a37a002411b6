// Package refresher installs, updates and removes the in-cluster refresher
// (refresh: true): a CronJob running pullsecret's own image, by digest, that
// rewrites the pull secrets before their token expires, authenticating to
// Google with nothing stored in the cluster — a projected ServiceAccount
// token exchanged at STS (Workload Identity Federation), or the GKE metadata
// server.
//
// Render builds the objects (pure, golden-tested); package kube sends them,
// in the order runner decides.
package refresher

import (
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

// Object names and paths. The refresher's objects share one name in its
// namespace; the cluster-scoped RBAC carries the namespace in its name so
// two refresh_namespace values never collide.
const (
	Name = "pullsecret-refresher"

	// KeyInputs holds the refresher run's inputs as a JSON object of input
	// name to value, read back through config.Load.
	KeyInputs = "inputs.json"
	// KeyCredentials holds the external_account credential configuration.
	KeyCredentials = "credentials.json"

	ConfigDir = "/etc/pullsecret"
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

// Settings are what a refresher is rendered from.
type Settings struct {
	Namespace string // refresh_namespace
	Image     string // by digest
	Schedule  string
	Interval  time.Duration

	// Provider is refresh_workload_identity_provider; empty means the GKE
	// metadata server.
	Provider               string
	ServiceAccount         string
	TokenLifetime          time.Duration
	STSEndpoint            string
	IAMCredentialsEndpoint string

	// Inputs are the refresher run's inputs (namespace coverage, secret,
	// registries, scopes, endpoints), never a credential.
	Inputs map[string]string

	// AllowHTTPEndpoints passes the test-rig switch
	// config.EnvAllowHTTPEndpoints on to the refresher's pod: only a
	// test-rig build (package testrig) that itself has it (a rig whose fakes
	// speak plain http) installs a refresher that may use the same
	// endpoints. A production build never renders it.
	AllowHTTPEndpoints bool
}

// ClusterRoleName is the cluster-scoped RBAC objects' name.
func ClusterRoleName(namespace string) string { return Name + "-" + namespace }

// ProjectedTokenAudience is the audience Google expects of an OIDC token
// presented to a Workload Identity provider created with default allowed
// audiences: https://iam.googleapis.com/ + the provider's resource name.
func ProjectedTokenAudience(provider string) string { return "https://iam.googleapis.com/" + provider }

// Labels are on every object the refresher consists of.
func Labels() map[string]string {
	return map[string]string{labels.ManagedBy: labels.Manager, labels.Name: Name, labels.Component: componentValue}
}

func meta(namespace, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: Labels()}
}

// Render returns the refresher's objects in apply order (identity and
// permissions before the ConfigMap, the CronJob last, so that it never
// runs without them).
func Render(s Settings) ([]kube.Object, error) {
	inputs, err := json.MarshalIndent(sortedInputs(s.Inputs), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("failed to encode the refresher's inputs: %w", err)
	}
	cmData := map[string]string{KeyInputs: string(inputs) + "\n"}
	if s.Provider != "" {
		cred, err := CredentialConfig(s)
		if err != nil {
			return nil, err
		}
		cmData[KeyCredentials] = string(cred) + "\n"
	}
	ns := s.Namespace
	sa := &corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"}, ObjectMeta: meta(ns, Name)}
	if s.Provider == "" && s.ServiceAccount != "" {
		// GKE: without one, the pod uses Workload Identity Federation
		// directly (the metadata server's federated token).
		sa.Annotations = map[string]string{labels.GKEServiceAccount: s.ServiceAccount}
	}
	cm := &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: meta(ns, Name), Data: cmData}
	subjects := []rbacv1.Subject{{Kind: "ServiceAccount", Name: Name, Namespace: ns}}
	crName := ClusterRoleName(ns)
	return []kube.Object{
		{APIVersion: "v1", Kind: "ServiceAccount", Resource: "serviceaccounts", Namespace: ns, Name: Name, Body: sa},
		{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole", Resource: "clusterroles", Namespace: "", Name: crName, Body: &rbacv1.ClusterRole{
			TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"}, ObjectMeta: meta("", crName),
			Rules: clusterRules(s.Inputs),
		}},
		{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRoleBinding", Resource: "clusterrolebindings", Namespace: "", Name: crName, Body: &rbacv1.ClusterRoleBinding{
			TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRoleBinding"}, ObjectMeta: meta("", crName),
			RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: crName}, Subjects: subjects,
		}},
		{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role", Resource: "roles", Namespace: ns, Name: Name, Body: &rbacv1.Role{
			TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"}, ObjectMeta: meta(ns, Name),
			Rules: []rbacv1.PolicyRule{
				// Its own settings, and the status it records on them.
				{APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{Name}, Verbs: []string{"get", "patch"}},
				// Events on failure. A create carries no name in its URL,
				// so resourceNames cannot narrow it.
				{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create"}},
			},
		}},
		{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding", Resource: "rolebindings", Namespace: ns, Name: Name, Body: &rbacv1.RoleBinding{
			TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"}, ObjectMeta: meta(ns, Name),
			RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: Name}, Subjects: subjects,
		}},
		{APIVersion: "v1", Kind: "ConfigMap", Resource: "configmaps", Namespace: ns, Name: Name, Body: cm},
		{APIVersion: "batch/v1", Kind: "CronJob", Resource: "cronjobs", Namespace: ns, Name: Name, Body: cronJob(s)},
	}, nil
}

// clusterRules grant what a refresher run does and nothing more: it never
// creates or deletes namespaces, never deletes secrets, and reads only the
// pull secret by name. Named namespaces and ServiceAccounts are narrowed by
// name too; globs, selectors and "*" need list, which cannot be.
func clusterRules(in map[string]string) []rbacv1.PolicyRule {
	patterns := config.SplitList(in[config.InNamespaces])
	onlyNames := in[config.InNamespaceSelector] == "" && !slices.ContainsFunc(patterns, config.IsGlob)
	nsRule := rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "list"}}
	if onlyNames {
		nsRule.Verbs, nsRule.ResourceNames = []string{"get"}, slices.Sorted(slices.Values(patterns))
	}
	sas := config.SplitList(in[config.InServiceAccounts])
	saRule := rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: []string{"get", "list", "update"}}
	if !slices.Contains(sas, "*") {
		// list stays: the run reads each named ServiceAccount with one
		// field-selected LIST across namespaces, which RBAC authorizes by
		// the name.
		saRule.ResourceNames = slices.Sorted(slices.Values(sas))
	}
	rules := []rbacv1.PolicyRule{
		nsRule,
		// list: the ownership check reads the secret with a metadata.name
		// field selector, which RBAC authorizes by that name; patch and
		// create: server-side apply (a new secret is an apply that only
		// creates), also authorized with the name. No other secret can be
		// read or written. As deploy/rbac.yaml, without delete: the
		// refresher never tears down.
		{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{in[config.InSecretName]}, Verbs: []string{"list", "create", "patch"}},
	}
	if len(sas) > 0 {
		rules = append(rules, saRule)
	}
	return rules
}

// CredentialConfig is the external_account credential configuration
// (https://google.aip.dev/auth/4117) the refresher authenticates with: the
// projected token file is the subject token, STS exchanges it, and
// IAM Credentials mints service_account's token of token_lifetime.
func CredentialConfig(s Settings) ([]byte, error) {
	cfg := map[string]any{
		"type":                              "external_account",
		"audience":                          "//iam.googleapis.com/" + s.Provider,
		"subject_token_type":                stsTokenType,
		"token_url":                         s.STSEndpoint,
		"service_account_impersonation_url": strings.TrimSuffix(s.IAMCredentialsEndpoint, "/") + "/v1/projects/-/serviceAccounts/" + s.ServiceAccount + ":generateAccessToken",
		"service_account_impersonation":     map[string]any{"token_lifetime_seconds": int(s.TokenLifetime / time.Second)},
		"credential_source":                 map[string]any{"file": TokenPath, "format": map[string]any{"type": "text"}},
	}
	return json.MarshalIndent(cfg, "", "  ")
}

func sortedInputs(in map[string]string) map[string]string {
	// encoding/json sorts map keys; the clone keeps callers' maps apart.
	return maps.Clone(in)
}

// cronJob is deploy/cronjob.yaml's hardening (Pod Security "restricted",
// read-only root filesystem, limits, Forbid) around the Job mode.
func cronJob(s Settings) *batchv1.CronJob {
	// A stuck run must end before the next is due: with Forbid it would
	// otherwise hold back every later refresh while tokens expire.
	deadline := int64(min(600, s.Interval/time.Second))
	starting := deadline
	backoff, history, failed := int32(2), int32(1), int32(3)
	yes, no := true, false
	uid := int64(nonRootUID)
	expiration := int64(TokenExpirationSeconds)
	mode := int32(0o444)

	volumes := []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: Name}, DefaultMode: &mode,
	}}}}
	mounts := []corev1.VolumeMount{{Name: "config", MountPath: ConfigDir, ReadOnly: true}}
	var env []corev1.EnvVar
	if testrig.Enabled && s.AllowHTTPEndpoints {
		env = append(env, corev1.EnvVar{Name: config.EnvAllowHTTPEndpoints, Value: "true"})
	}
	if s.Provider != "" {
		volumes = append(volumes, corev1.Volume{Name: "google-token", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
			DefaultMode: &mode,
			Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{
				Audience: ProjectedTokenAudience(s.Provider), ExpirationSeconds: &expiration, Path: "token",
			}}},
		}}})
		mounts = append(mounts, corev1.VolumeMount{Name: "google-token", MountPath: TokenDir, ReadOnly: true})
		env = append(env, corev1.EnvVar{Name: "GOOGLE_APPLICATION_CREDENTIALS", Value: ConfigDir + "/" + KeyCredentials})
	}
	return &batchv1.CronJob{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"},
		ObjectMeta: meta(s.Namespace, Name),
		Spec: batchv1.CronJobSpec{
			Schedule:                   s.Schedule,
			ConcurrencyPolicy:          batchv1.ForbidConcurrent,
			StartingDeadlineSeconds:    &starting,
			SuccessfulJobsHistoryLimit: &history,
			FailedJobsHistoryLimit:     &failed,
			JobTemplate: batchv1.JobTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: Labels()},
				Spec: batchv1.JobSpec{
					BackoffLimit:          &backoff,
					ActiveDeadlineSeconds: &deadline,
					Template: corev1.PodTemplateSpec{
						ObjectMeta: metav1.ObjectMeta{Labels: Labels()},
						Spec: corev1.PodSpec{
							ServiceAccountName: Name,
							RestartPolicy:      corev1.RestartPolicyOnFailure,
							SecurityContext: &corev1.PodSecurityContext{
								RunAsNonRoot: &yes, RunAsUser: &uid, RunAsGroup: &uid,
								SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
							},
							Containers: []corev1.Container{{
								Name:  "pullsecret",
								Image: s.Image,
								Args:  []string{"refresh", "--config-map", s.Namespace + "/" + Name},
								Env:   env,
								SecurityContext: &corev1.SecurityContext{
									AllowPrivilegeEscalation: &no, ReadOnlyRootFilesystem: &yes,
									Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
								},
								Resources: corev1.ResourceRequirements{
									Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
									Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
								},
								VolumeMounts: mounts,
							}},
							Volumes: volumes,
						},
					},
				},
			},
		},
	}
}
