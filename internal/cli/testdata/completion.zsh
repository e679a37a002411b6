#compdef pullsecret
# zsh completion for pullsecret. Load it with
#   source <(pullsecret completion zsh)
# or save it as _pullsecret in a directory of $fpath.
compdef _pullsecret pullsecret 2>/dev/null
_pullsecret() {
  if (( CURRENT > 2 )) && [[ ${words[2]} == completion ]]; then
    _values shell bash zsh fish
    return
  fi
  _arguments -s \
    '--workload-identity-provider[Full resource name of the Workload Identity Provider, e.g. '\''projects/123456/locations/global/workloadIdentityPools/gh/providers/gh'\'']:workload-identity-provider: ' \
    '--service-account[Service account to impersonate after federation (recommended), e.g. '\''puller@my-project.iam.gserviceaccount.com'\'']:service-account: ' \
    '--audience[Audience of the GitHub OIDC token]:audience: ' \
    '--oidc-token-file[Path to a file holding another CI'\''s OIDC ID token (GitLab '\''id_tokens:'\'', Buildkite, Jenkins, Tekton'\''s projected ServiceAccount token), read at each mint]:oidc-token-file: ' \
    '--oidc-token-env[Name of an environment variable holding another CI'\''s OIDC ID token (e.g. '\''CIRCLE_OIDC_TOKEN_V2'\'')]:oidc-token-env: ' \
    '--credentials-json[A service-account key, raw JSON or base64]:credentials-json: ' \
    '--access-token[An existing Google access token, e.g. from '\''google-github-actions/auth'\'' with '\''token_format: access_token'\'']:access-token: ' \
    '--token-lifetime[Lifetime of the minted token (Go duration or seconds, e.g. '\''3600s'\'', '\''2h'\'')]:token-lifetime: ' \
    '--scopes[OAuth scopes of the minted token, comma or newline separated]:scopes: ' \
    '--credential-mode['\''access_token'\'': the secret holds a short-lived token as user '\''oauth2accesstoken'\'']:credential-mode:(access_token json_key)' \
    '--sts-endpoint[Security Token Service token URL (Private Service Connect, sovereign universes, tests)]:sts-endpoint: ' \
    '--iam-credentials-endpoint[IAM Credentials API base URL used for '\''generateAccessToken'\'']:iam-credentials-endpoint: ' \
    '--oauth-token-endpoint[OAuth 2.0 token URL for service-account keys; its host also serves '\''/tokeninfo'\'']:oauth-token-endpoint: ' \
    '--metadata-endpoint[Compute metadata server base URL, used for Application Default Credentials on GKE/GCE]:metadata-endpoint: ' \
    '--kubeconfig[Path to a kubeconfig, or its content inline]:file:_files' \
    '--context[Kubeconfig context to use]:context: ' \
    '--api-server-host[Inside a container (a docker action), a kubeconfig server on 127.0.0.1/localhost means the container itself]:api-server-host:(auto off)' \
    '--namespaces[Target namespaces: a list (comma or newline separated), globs such as '\''preview-*'\'', or '\''*'\'' for all]:namespaces: ' \
    '--namespace-selector[Label selector choosing namespaces, e.g. '\''team=web,env!=prod'\'']:namespace-selector: ' \
    '--exclude-namespaces[Namespaces (globs allowed) never chosen by a glob, '\''*'\'' or '\''namespace_selector'\'']:exclude-namespaces: ' \
    '--create-namespaces[Create namespaces named explicitly that do not exist (labelled as created by pullsecret), then wait for their '\''default'\'' ServiceAccount]' \
    '--secret-name[Name of the pull secret written in every namespace]:secret-name: ' \
    '--secret-labels[Extra labels on the secret, '\''key=value'\'', comma or newline separated]:secret-labels: ' \
    '--secret-annotations[Extra annotations on the secret, '\''key=value'\'', comma or newline separated]:secret-annotations: ' \
    '--service-accounts[ServiceAccounts whose '\''imagePullSecrets'\'' get the secret: a list, '\''*'\'' for all in the namespace, or empty to patch none]:service-accounts: ' \
    '--registries[Registry hosts the secret authenticates to]:registries: ' \
    '--verify-image[Images to pull-check before anything is written, e.g. '\''us-docker.pkg.dev/PROJECT/REPO/app:tag'\'' (comma or newline separated; a tag or '\''@sha256:'\'' digest)]:verify-image: ' \
    '--mode['\''apply'\'' writes the secret and references it; '\''delete'\'' removes the secret and only its own entry from the ServiceAccounts (preview teardown)]:mode:(apply delete)' \
    '--dry-run[Print what would change and touch nothing (credentials are still checked; the API server validates with server-side dry run)]' \
    '--force[Take over an existing secret of that name that pullsecret does not manage, or that has another type]' \
    '--concurrency[Namespaces processed at once (each costs 1-2 requests; measured in bench/results)]:concurrency: ' \
    '--wait-timeout[How long to wait for a new namespace'\''s ServiceAccounts to appear]:wait-timeout: ' \
    '--refresh[Also install or update an in-cluster refresher (a CronJob running this image, keyless, or a Deployment with '\''refresh_mode: watch'\'') that keeps this run'\''s secret fresh in the same namespace selection until it is removed; namespaces that appear later and match a glob or selector are covered at the next refresh (within seconds with '\''refresh_mode: watch'\'')]' \
    '--refresh-interval[How often the refresher runs ('\''refresh_mode: cron'\''): at most half of '\''token_lifetime'\'', and a whole number of minutes that divides an hour ('\''1m'\'' … '\''30m'\'') or of hours that divides a day ('\''1h'\'' … '\''12h'\'')]:refresh-interval: ' \
    '--refresh-namespace[Namespace of the refresher'\''s objects (ServiceAccount, RBAC, ConfigMap, CronJob or Deployment), dedicated to refreshers: created (and labelled) if missing; an existing namespace pullsecret did not create is refused (see '\''refresh_namespace_adopt'\''), and so is one this run covers]:refresh-namespace: ' \
    '--refresh-namespace-adopt[Install the refresher into an existing '\''refresh_namespace'\'' that pullsecret did not create (it must still be dedicated: its admins hold the puller'\''s credential)]' \
    '--refresh-image[Image the refresher runs, by digest ('\''REPOSITORY@sha256:…'\'')]:refresh-image: ' \
    '--refresh-workload-identity-provider[Workload Identity provider that trusts the cluster'\''s ServiceAccount token issuer ('\''pullsecret --print-wif-setup'\'' prints the '\''gcloud'\'' commands that create it)]:refresh-workload-identity-provider: ' \
    '--refresh-mode[How the refresher runs]:refresh-mode:(cron watch)' \
    '--refresh-recover-pods[With '\''refresh_mode: watch'\'': delete a pod stuck in '\''ErrImagePull'\''/'\''ImagePullBackOff'\'' in a covered namespace when it pulls from '\''registries'\'', its ServiceAccount now references the secret but the pod (whose '\''imagePullSecrets'\'' were filled at creation) lacks it, and a controller owns it, so the controller recreates it with the secret; an Event on the owner says so]' \
    '--credentials-json-file[Read the service-account key (raw JSON or base64) from this file, or from standard input with '\''-'\'']:file:_files' \
    '(-o --output)'{-o,--output}'[Result format on standard output: '\''text'\'' (a table, then name=value lines) or '\''json'\'' (one object, see docs/cli.md)]:output:(text json)' \
    '--debug[Log every HTTP request to Google and the API server: method, host and path, status and duration (never bodies, headers or query strings)]' \
    '--version[Print the version, commit and build date, then exit]' \
    '(-h --help)'{-h,--help}'[Print this help, then exit]' \
    '--print-wif-setup[Print the gcloud commands that let the in-cluster refresher (refresh: true) authenticate with this cluster'\''s ServiceAccount tokens, then exit]' \
    '--ci[With --print-wif-setup: print the provider for another CI'\''s OIDC tokens instead: gitlab, circleci or buildkite]:ci:(gitlab circleci buildkite)' \
    '--ci-project[With --ci: the project the provider admits (GitLab GROUP/PROJECT, CircleCI ORG_ID/PROJECT_ID, Buildkite ORG_SLUG/PIPELINE_SLUG)]:ci-project: ' \
    '--ci-issuer[With --ci gitlab: a self-managed GitLab'\''s URL (default https://gitlab.com)]:ci-issuer: ' \
    '--credential-provider[With --print-wif-setup: print the kubelet credential provider setup instead (Kubernetes 1.34+ nodes you configure pull with the pods'\'' own ServiceAccount tokens, no pull secret): the provider, the CredentialProviderConfig for registries, the nodes'\'' RBAC]' \
    '1: :(completion status)'
}
if [[ ${funcstack[1]} == _pullsecret ]]; then _pullsecret "$@"; fi
