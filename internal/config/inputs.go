package config

// Input describes one action input. The same table drives action.yml, the CLI
// flags and the README, and tests keep the three in sync, so a new input is
// added here first.
type Input struct {
	Name        string
	Default     string
	Description string
	// Secret inputs are masked and never echoed, not even in --help defaults.
	Secret bool
}

// Flag is the CLI spelling of an input: kebab-case, like kubectl.
func (i Input) Flag() string {
	b := []byte(i.Name)
	for n, c := range b {
		if c == '_' {
			b[n] = '-'
		}
	}
	return string(b)
}

// Input names. They are a public contract (action.yml, INPUT_* variables,
// workflows in the wild): never rename one.
const (
	InWorkloadIdentityProvider = "workload_identity_provider"
	InServiceAccount           = "service_account"
	InAudience                 = "audience"
	InOIDCTokenFile            = "oidc_token_file"
	InOIDCTokenEnv             = "oidc_token_env"
	InCredentialsJSON          = "credentials_json"
	InAccessToken              = "access_token"
	InTokenLifetime            = "token_lifetime"
	InScopes                   = "scopes"
	InCredentialMode           = "credential_mode"
	InSTSEndpoint              = "sts_endpoint"
	InIAMCredentialsEndpoint   = "iam_credentials_endpoint"
	InOAuthTokenEndpoint       = "oauth_token_endpoint"
	InMetadataEndpoint         = "metadata_endpoint"
	InKubeconfig               = "kubeconfig"
	InContext                  = "context"
	InAPIServerHost            = "api_server_host"
	InNamespaces               = "namespaces"
	InNamespaceSelector        = "namespace_selector"
	InExcludeNamespaces        = "exclude_namespaces"
	InCreateNamespaces         = "create_namespaces"
	InSecretName               = "secret_name"
	InSecretLabels             = "secret_labels"
	InSecretAnnotations        = "secret_annotations"
	InServiceAccounts          = "service_accounts"
	InRegistries               = "registries"
	InMode                     = "mode"
	InDryRun                   = "dry_run"
	InForce                    = "force"
	InConcurrency              = "concurrency"
	InWaitTimeout              = "wait_timeout"

	InRefresh                         = "refresh"
	InRefreshInterval                 = "refresh_interval"
	InRefreshNamespace                = "refresh_namespace"
	InRefreshNamespaceAdopt           = "refresh_namespace_adopt"
	InRefreshImage                    = "refresh_image"
	InRefreshWorkloadIdentityProvider = "refresh_workload_identity_provider"
	InRefreshMode                     = "refresh_mode"
	InRefreshRecoverPods              = "refresh_recover_pods"

	InVerifyImage = "verify_image"
)

// Defaults that other packages and the docs refer to.
const (
	DefaultSTSEndpoint            = "https://sts.googleapis.com/v1/token"
	DefaultIAMCredentialsEndpoint = "https://iamcredentials.googleapis.com"
	DefaultOAuthTokenEndpoint     = "https://oauth2.googleapis.com/token"
	DefaultMetadataEndpoint       = "http://metadata.google.internal"
	DefaultSecretName             = "gcr-pull-secret"
	// DefaultScope is the least privilege that still pulls: it is the scope
	// GKE nodes pull with by default, accepted by both Container Registry and
	// Artifact Registry for reads, and it grants nothing outside storage reads.
	DefaultScope             = "https://www.googleapis.com/auth/devstorage.read_only"
	DefaultExcludeNamespaces = "kube-system,kube-public,kube-node-lease"
	DefaultRegistries        = "gcr.io,*.gcr.io,*-docker.pkg.dev,docker.*.rep.pkg.dev"
	DefaultRefreshNamespace  = "pullsecret-system"
	DefaultRefreshInterval   = "30m"
)

// Values of refresh_mode.
const (
	// RefreshCron runs the refresher as a CronJob every refresh_interval.
	RefreshCron = "cron"
	// RefreshWatch runs it as a Deployment that watches the cluster and
	// refreshes at half of token_lifetime.
	RefreshWatch = "watch"
)

// Inputs is every input, in the order action.yml and the README list them.
var Inputs = []Input{
	{Name: InWorkloadIdentityProvider, Description: "Full resource name of the Workload Identity Provider, e.g. `projects/123456/locations/global/workloadIdentityPools/gh/providers/gh`. Uses the GitHub OIDC token (the job needs `permissions: id-token: write`). One credential source only: this, `credentials_json` or `access_token`; with none of them Application Default Credentials are used."},
	{Name: InServiceAccount, Description: "Service account to impersonate after federation (recommended), e.g. `puller@my-project.iam.gserviceaccount.com`. Without it the federated token itself goes into the secret: it expires with the GitHub OIDC token, which GitHub issues for 5 minutes, and carries the broad cloud-platform scope."},
	{Name: InAudience, Description: "Audience of the GitHub OIDC token. Default: `https://iam.googleapis.com/` followed by `workload_identity_provider`, which is what a provider created with default settings expects."},
	{Name: InOIDCTokenFile, Description: "Path to a file holding another CI's OIDC ID token (GitLab `id_tokens:`, Buildkite, Jenkins, Tekton's projected ServiceAccount token), read at each mint. With `workload_identity_provider` it replaces GitHub's OIDC endpoint; the token is masked and its `exp` checked before use."},
	{Name: InOIDCTokenEnv, Description: "Name of an environment variable holding another CI's OIDC ID token (e.g. `CIRCLE_OIDC_TOKEN_V2`). With `workload_identity_provider` it replaces GitHub's OIDC endpoint; the token is masked and its `exp` checked before use. Not both this and `oidc_token_file`."},
	{Name: InCredentialsJSON, Secret: true, Description: "A service-account key, raw JSON or base64. Its `token_uri` must be Google's (or equal `oauth_token_endpoint`)."},
	{Name: InAccessToken, Secret: true, Description: "An existing Google access token, e.g. from `google-github-actions/auth` with `token_format: access_token`. Checked at the tokeninfo endpoint for validity and expiry."},
	{Name: InTokenLifetime, Default: "3600s", Description: "Lifetime of the minted token (Go duration or seconds, e.g. `3600s`, `2h`). Up to `12h` where the organisation policy `constraints/iam.allowServiceAccountCredentialLifetimeExtension` allows it. Applies to service-account impersonation, to keys (by self-impersonation when not 1h) and to the metadata server (always by self-impersonation: the account needs `roles/iam.serviceAccountTokenCreator` on itself). A direct federated token lives as long as the GitHub OIDC token (5 minutes)."},
	{Name: InScopes, Default: DefaultScope, Description: "OAuth scopes of the minted token, comma or newline separated. The default is the least privilege that pulls from gcr.io and Artifact Registry."},
	{Name: InCredentialMode, Default: "access_token", Description: "`access_token`: the secret holds a short-lived token as user `oauth2accesstoken`. `json_key`: the secret holds the key itself as user `_json_key` (long-lived, for previews that outlive a token; only with `credentials_json`)."},
	{Name: InSTSEndpoint, Default: DefaultSTSEndpoint, Description: "Security Token Service token URL (Private Service Connect, sovereign universes, tests). Every Google endpoint but the metadata server must be `https://` (plain http only on loopback)."},
	{Name: InIAMCredentialsEndpoint, Default: DefaultIAMCredentialsEndpoint, Description: "IAM Credentials API base URL used for `generateAccessToken`."},
	{Name: InOAuthTokenEndpoint, Default: DefaultOAuthTokenEndpoint, Description: "OAuth 2.0 token URL for service-account keys; its host also serves `/tokeninfo`."},
	{Name: InMetadataEndpoint, Default: DefaultMetadataEndpoint, Description: "Compute metadata server base URL, used for Application Default Credentials on GKE/GCE. The `GCE_METADATA_HOST` variable is honoured when this is left at its default."},
	{Name: InKubeconfig, Description: "Path to a kubeconfig, or its content inline. Default: `$KUBECONFIG`, then `~/.kube/config`, then the in-cluster service account."},
	{Name: InContext, Description: "Kubeconfig context to use. Default: the current context."},
	{Name: InAPIServerHost, Default: "auto", Description: "Inside a container (a docker action), a kubeconfig server on 127.0.0.1/localhost means the container itself. `auto` dials the container's default gateway instead (the runner host), keeping TLS verification against the original name; `off` keeps the address; any other value is the host to dial. See docs/recipes.md#kind-or-any-loopback-api-server-in-the-same-job."},
	{Name: InNamespaces, Description: "Target namespaces: a list (comma or newline separated), globs such as `preview-*`, or `*` for all. Default: the context's namespace, else `default`."},
	{Name: InNamespaceSelector, Description: "Label selector choosing namespaces, e.g. `team=web,env!=prod`. Combined (union) with `namespaces`."},
	{Name: InExcludeNamespaces, Default: DefaultExcludeNamespaces, Description: "Namespaces (globs allowed) never chosen by a glob, `*` or `namespace_selector`. Namespaces named explicitly are always used."},
	{Name: InCreateNamespaces, Default: "false", Description: "Create namespaces named explicitly that do not exist (labelled as created by pullsecret), then wait for their `default` ServiceAccount."},
	{Name: InSecretName, Default: DefaultSecretName, Description: "Name of the pull secret written in every namespace."},
	{Name: InSecretLabels, Description: "Extra labels on the secret, `key=value`, comma or newline separated."},
	{Name: InSecretAnnotations, Description: "Extra annotations on the secret, `key=value`, comma or newline separated."},
	{Name: InServiceAccounts, Default: "default", Description: "ServiceAccounts whose `imagePullSecrets` get the secret: a list, `*` for all in the namespace, or empty to patch none."},
	{Name: InRegistries, Default: DefaultRegistries, Description: "Registry hosts the secret authenticates to. The default covers gcr.io, every `*.gcr.io` and every Artifact Registry host with kubelet-style wildcards. Explicit hosts (with optional port) are allowed; what follows a wildcard's last `*` must be a registrable domain, not a public suffix (`*`, `*.io`, `*.co.uk` or `*.github.io` would send the token to registries anyone can run)."},
	{Name: InVerifyImage, Description: "Images to pull-check before anything is written, e.g. `us-docker.pkg.dev/PROJECT/REPO/app:tag` (comma or newline separated; a tag or `@sha256:` digest). Each is checked as kubelet's containerd will pull it: the registry's token endpoint with the minted credential, then a manifest `HEAD`. A 403 (the identity lacks `roles/artifactregistry.reader` on the repository), 404 (no such image) or 401 (token rejected) fails the run with nothing written. Each image's host must be one of `registries`."},
	{Name: InMode, Default: "apply", Description: "`apply` writes the secret and references it; `delete` removes the secret and only its own entry from the ServiceAccounts (preview teardown)."},
	{Name: InDryRun, Default: "false", Description: "Print what would change and touch nothing (credentials are still checked; the API server validates with server-side dry run)."},
	{Name: InForce, Default: "false", Description: "Take over an existing secret of that name that pullsecret does not manage, or that has another type."},
	{Name: InConcurrency, Default: "32", Description: "Namespaces processed at once (each costs 1-2 requests; measured in bench/results)."},
	{Name: InWaitTimeout, Default: "60s", Description: "How long to wait for a new namespace's ServiceAccounts to appear."},
	{Name: InRefresh, Default: "false", Description: "Also install or update an in-cluster refresher (a CronJob running this image, keyless, or a Deployment with `refresh_mode: watch`) that keeps this run's secret fresh in the same namespace selection until it is removed; namespaces that appear later and match a glob or selector are covered at the next refresh (within seconds with `refresh_mode: watch`). Needs `service_account`, which the refresher impersonates. With `mode: delete`, removes this run's namespaces from its coverage and the refresher itself when none remain."},
	{Name: InRefreshInterval, Default: DefaultRefreshInterval, Description: "How often the refresher runs (`refresh_mode: cron`): at most half of `token_lifetime`, and a whole number of minutes that divides an hour (`1m` … `30m`) or of hours that divides a day (`1h` … `12h`). Not used with `refresh_mode: watch`, which refreshes at half of `token_lifetime` (a value other than the default is then ignored with a warning)."},
	{Name: InRefreshNamespace, Default: DefaultRefreshNamespace, Description: "Namespace of the refresher's objects (ServiceAccount, RBAC, ConfigMap, CronJob or Deployment), dedicated to refreshers: created (and labelled) if missing; an existing namespace pullsecret did not create is refused (see `refresh_namespace_adopt`), and so is one this run covers. Whoever administers it holds the puller's credential. Each (`service_account`, `secret_name`) gets its own refresher there."},
	{Name: InRefreshNamespaceAdopt, Default: "false", Description: "Install the refresher into an existing `refresh_namespace` that pullsecret did not create (it must still be dedicated: its admins hold the puller's credential)."},
	{Name: InRefreshImage, Description: "Image the refresher runs, by digest (`REPOSITORY@sha256:…`). Default: the image of the release that runs (a release's `action.yml` passes it, a released CLI has it stamped; never taken from the environment); a build from source has none and needs this input."},
	{Name: InRefreshWorkloadIdentityProvider, Description: "Workload Identity provider that trusts the cluster's ServiceAccount token issuer (`pullsecret --print-wif-setup` prints the `gcloud` commands that create it). The refresher exchanges a projected ServiceAccount token there and impersonates `service_account`. Empty: the refresher uses the metadata server (GKE with Workload Identity Federation for GKE)."},
	{Name: InRefreshMode, Default: RefreshCron, Description: "How the refresher runs. `cron`: a CronJob every `refresh_interval`; namespaces that appear later are covered at the next run. `watch`: a Deployment (2 replicas, one leader through a `coordination.k8s.io` Lease) that watches namespaces, ServiceAccounts and its secrets, covers a new or newly labelled namespace and a new ServiceAccount within seconds, restores a deleted secret or reference, refreshes at half of `token_lifetime` and serves Prometheus metrics on port 9090. Same keyless identity and narrowed RBAC (plus `watch`, by name where Kubernetes allows). Switching modes on a later run replaces the one workload with the other. Only with `refresh: true`."},
	{Name: InRefreshRecoverPods, Default: "false", Description: "With `refresh_mode: watch`: delete a pod stuck in `ErrImagePull`/`ImagePullBackOff` in a covered namespace when it pulls from `registries`, its ServiceAccount now references the secret but the pod (whose `imagePullSecrets` were filled at creation) lacks it, and a controller owns it, so the controller recreates it with the secret; an Event on the owner says so. Bare pods are only reported. Grants the refresher pod list and delete in covered namespaces, bounded by its admission policy to such stuck, controller-owned pods. Only with `refresh: true`."},
}

// Outputs of the action, in action.yml order.
var Outputs = []Input{
	{Name: "secret_name", Description: "Name of the secret written (or deleted)."},
	{Name: "namespaces", Description: "JSON array of the namespaces where the secret was written (or deleted)."},
	{Name: "expires_at", Description: "RFC 3339 expiry of the credential in the secret; empty for `json_key` mode."},
	{Name: "registries", Description: "JSON array of the registry hosts the secret covers."},
}
