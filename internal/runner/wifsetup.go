package runner

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/kube"
	"github.com/pullsecret/pullsecret/internal/refresher"
)

// PrintWIFSetup (`pullsecret --print-wif-setup`) reads the cluster's
// ServiceAccount token issuer and its keys and prints the gcloud commands
// that make refresh_workload_identity_provider trust it and let the
// refresher impersonate service_account. It changes nothing anywhere.
func PrintWIFSetup(ctx context.Context, lookup config.Lookup, stdout io.Writer, d Deps) error {
	get := inputOrDefault(lookup)
	provider, sa, ns := get(config.InRefreshWorkloadIdentityProvider), get(config.InServiceAccount), get(config.InRefreshNamespace)
	if provider == "" {
		return fmt.Errorf("input %q: --print-wif-setup needs the provider to create, e.g. projects/123456/locations/global/workloadIdentityPools/k8s/providers/my-cluster", config.InRefreshWorkloadIdentityProvider)
	}
	if sa == "" {
		return fmt.Errorf("input %q: --print-wif-setup needs the Google service account the refresher impersonates", config.InServiceAccount)
	}
	d.defaults()
	conn, err := connect(&config.Config{Kubeconfig: get(config.InKubeconfig), Context: get(config.InContext), APIServerHost: get(config.InAPIServerHost), Concurrency: 1}, d)
	if err != nil {
		return err
	}
	iss, err := kube.ReadIssuer(ctx, conn.Client.JSON())
	if err != nil {
		return err
	}
	out, err := refresher.SetupCommands(iss, provider, sa, ns, get(config.InSecretName))
	if err != nil {
		return err
	}
	_, err = io.WriteString(stdout, out)
	return err
}

// PrintCredentialProviderSetup (`pullsecret --print-wif-setup
// --credential-provider`) reads the cluster's ServiceAccount token issuer
// and prints what replaces pull secrets on nodes you configure: the
// gcloud commands for a provider trusting the pods' ServiceAccounts, the
// kubelet's CredentialProviderConfig for registries, and the RBAC letting
// nodes request tokens for its audience. It changes nothing anywhere.
func PrintCredentialProviderSetup(ctx context.Context, lookup config.Lookup, stdout io.Writer, d Deps) error {
	get := inputOrDefault(lookup)
	provider := get(config.InWorkloadIdentityProvider)
	if provider == "" {
		return Classify(ErrBadInput, fmt.Errorf("input %q: --print-wif-setup --credential-provider needs the provider to create, e.g. projects/123456/locations/global/workloadIdentityPools/k8s/providers/kubelet", config.InWorkloadIdentityProvider))
	}
	namespaces := config.SplitList(get(config.InNamespaces))
	if len(namespaces) == 0 {
		return Classify(ErrBadInput, fmt.Errorf("input %q: --print-wif-setup --credential-provider needs the namespaces whose pods pull", config.InNamespaces))
	}
	d.defaults()
	conn, err := connect(&config.Config{Kubeconfig: get(config.InKubeconfig), Context: get(config.InContext), APIServerHost: get(config.InAPIServerHost), Concurrency: 1}, d)
	if err != nil {
		return err
	}
	iss, err := kube.ReadIssuer(ctx, conn.Client.JSON())
	if err != nil {
		return err
	}
	out, err := refresher.CredentialProviderSetup(iss, provider, get(config.InServiceAccount),
		config.SplitList(get(config.InRegistries)), namespaces, config.SplitList(get(config.InServiceAccounts)))
	if err != nil {
		// Every refusal but a broken issuer names the input to fix.
		if strings.HasPrefix(err.Error(), "input ") {
			err = Classify(ErrBadInput, err)
		}
		return err
	}
	_, err = io.WriteString(stdout, out)
	return err
}

// inputOrDefault reads an input, its declared default when unset.
func inputOrDefault(lookup config.Lookup) func(string) string {
	return func(name string) string {
		if v, ok := lookup(name); ok && v != "" {
			return v
		}
		for _, in := range config.Inputs {
			if in.Name == name {
				return in.Default
			}
		}
		return ""
	}
}

// PrintCIWIFSetup (`pullsecret --print-wif-setup --ci NAME`) prints the
// gcloud commands for a provider trusting another CI's OIDC tokens of one
// project, for workload_identity_provider and, when set, service_account.
// It needs no cluster.
func PrintCIWIFSetup(lookup config.Lookup, ci, project, issuer string, stdout io.Writer) error {
	get := func(name string) string { v, _ := lookup(name); return v }
	provider := get(config.InWorkloadIdentityProvider)
	if provider == "" {
		return fmt.Errorf("input %q: --print-wif-setup --ci needs the provider to create, e.g. projects/123456/locations/global/workloadIdentityPools/ci/providers/%s", config.InWorkloadIdentityProvider, ci)
	}
	if project == "" {
		return fmt.Errorf("--ci-project: --print-wif-setup --ci %s needs the project the provider admits (GitLab GROUP/PROJECT, CircleCI ORG_ID/PROJECT_ID, Buildkite ORG_SLUG/PIPELINE_SLUG)", ci)
	}
	shape, err := refresher.NewCI(ci, project, issuer, provider)
	if err != nil {
		return err
	}
	out, err := refresher.CISetupCommands(shape, provider, get(config.InServiceAccount))
	if err != nil {
		return err
	}
	_, err = io.WriteString(stdout, out)
	return err
}
