package runner

import (
	"context"
	"fmt"
	"io"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/kube"
	"github.com/pullsecret/pullsecret/internal/refresher"
)

// PrintWIFSetup (`pullsecret --print-wif-setup`) reads the cluster's
// ServiceAccount token issuer and its keys and prints the gcloud commands
// that make refresh_workload_identity_provider trust it and let the
// refresher impersonate service_account. It changes nothing anywhere.
func PrintWIFSetup(ctx context.Context, lookup config.Lookup, stdout io.Writer, d Deps) error {
	get := func(name string) string {
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
