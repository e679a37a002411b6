// Package labels holds every label and annotation key pullsecret writes or
// reads, and the values it stamps them with. It is a leaf (no imports), so
// kube, refresher and runner share one definition of each key.
package labels

// Labels on what pullsecret creates, so teardown and audits can tell its
// objects from everyone else's.
const (
	// ManagedBy is on every secret pullsecret writes (value Manager) and on
	// every refresher object. A secret without it is someone else's.
	ManagedBy = "app.kubernetes.io/managed-by"
	// Manager is ManagedBy's value, and CreatedBy's for namespaces the
	// action created (create_namespaces).
	Manager = "pullsecret"
	// CreatedBy marks a namespace pullsecret created: Manager for the
	// action's namespaces, the refresher's name for a refresh_namespace the
	// installer created (the only kind teardown deletes).
	CreatedBy = "pullsecret.dev/created-by"

	// Name and Component mark every refresher object, so teardown and
	// audits find them (`kubectl get all,cm,sa,role,rolebinding -l ...`).
	Name      = "app.kubernetes.io/name"
	Component = "app.kubernetes.io/component"
	// Instance carries a refresher's object name (one per service_account
	// and secret_name) on each of its objects, the ones outside
	// refresh_namespace included.
	Instance = "app.kubernetes.io/instance"

	// Dedicated marks a namespace an admin made for refreshers (value
	// "refresher", deploy/rbac-refresh-installer.yaml): the installer uses
	// it without refresh_namespace_adopt, and teardown never deletes it.
	Dedicated = "pullsecret.dev/dedicated"
)

// Annotations.
const (
	// ExpiresAt tells humans and refresh jobs when a secret's token dies;
	// the refresher's ConfigMap carries the last run's value too.
	ExpiresAt = "pullsecret.dev/expires-at"
	// WrittenBy says which run wrote a secret's current token, for
	// `pullsecret status`: "ci:OWNER/REPO#RUN_ID" (a GitHub Actions run),
	// "refresher:NAMESPACE/NAME" (an in-cluster refresher) or "cli".
	// Never anything secret.
	WrittenBy = "pullsecret.dev/written-by"

	// Status annotations a refresher run writes on its ConfigMap.
	LastSuccess = "pullsecret.dev/last-success"
	LastResult  = "pullsecret.dev/last-result"

	// GKEServiceAccount binds a ServiceAccount to a Google service account
	// under Workload Identity Federation for GKE.
	GKEServiceAccount = "iam.gke.io/gcp-service-account"

	// Coverage, on a refresher's ClusterRole, is the coverage the installer
	// granted: what later installs merge with. It lives on a
	// cluster-scoped object, not in the ConfigMap, so that an editor of
	// refresh_namespace cannot widen what the next install grants.
	Coverage = "pullsecret.dev/coverage"
	// Identity, beside it, is the refresher's service_account and
	// secret_name, so a teardown that names no service_account finds it.
	Identity = "pullsecret.dev/identity"
	// RefreshMode, beside them, is how the refresher runs (refresh_mode:
	// cron or watch), and RecoverPods whether it recovers stuck pods
	// ("true"): a teardown that narrows the coverage keeps both.
	RefreshMode = "pullsecret.dev/refresh-mode"
	RecoverPods = "pullsecret.dev/recover-pods"
)
