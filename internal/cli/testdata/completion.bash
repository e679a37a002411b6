# bash completion for pullsecret. Load it with
#   source <(pullsecret completion bash)
# or save it as /etc/bash_completion.d/pullsecret.
_pullsecret() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    if [[ ${COMP_WORDS[1]} == completion ]]; then
        [[ $COMP_CWORD -eq 2 ]] && COMPREPLY=($(compgen -W "bash zsh fish" -- "$cur"))
        return
    fi
    case $prev in
        --credential-mode) COMPREPLY=($(compgen -W "access_token json_key" -- "$cur")); return ;;
        --api-server-host) COMPREPLY=($(compgen -W "auto off" -- "$cur")); return ;;
        --mode) COMPREPLY=($(compgen -W "apply delete" -- "$cur")); return ;;
        --refresh-mode) COMPREPLY=($(compgen -W "cron watch" -- "$cur")); return ;;
        --output|-o) COMPREPLY=($(compgen -W "text json" -- "$cur")); return ;;
        --ci) COMPREPLY=($(compgen -W "gitlab circleci buildkite" -- "$cur")); return ;;
        --kubeconfig|--credentials-json-file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --workload-identity-provider|--service-account|--audience|--oidc-token-file|--oidc-token-env|--credentials-json|--access-token|--token-lifetime|--scopes|--sts-endpoint|--iam-credentials-endpoint|--oauth-token-endpoint|--metadata-endpoint|--context|--namespaces|--namespace-selector|--exclude-namespaces|--secret-name|--secret-labels|--secret-annotations|--service-accounts|--registries|--verify-image|--concurrency|--wait-timeout|--refresh-interval|--refresh-namespace|--refresh-image|--refresh-workload-identity-provider|--ci-project|--ci-issuer) return ;;
    esac
    if [[ $COMP_CWORD -eq 1 && $cur != -* ]]; then
        COMPREPLY=($(compgen -W "completion status" -- "$cur"))
        return
    fi
    COMPREPLY=($(compgen -W "--workload-identity-provider --service-account --audience --oidc-token-file --oidc-token-env --credentials-json --access-token --token-lifetime --scopes --credential-mode --sts-endpoint --iam-credentials-endpoint --oauth-token-endpoint --metadata-endpoint --kubeconfig --context --api-server-host --namespaces --namespace-selector --exclude-namespaces --create-namespaces --secret-name --secret-labels --secret-annotations --service-accounts --registries --verify-image --mode --dry-run --force --concurrency --wait-timeout --refresh --refresh-interval --refresh-namespace --refresh-namespace-adopt --refresh-image --refresh-workload-identity-provider --refresh-mode --refresh-recover-pods --credentials-json-file --output -o --debug --version --help -h --print-wif-setup --ci --ci-project --ci-issuer --credential-provider" -- "$cur"))
}
complete -F _pullsecret pullsecret
