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
	out, err := refresher.SetupCommands(iss, provider, sa, ns)
	if err != nil {
		return err
	}
	_, err = io.WriteString(stdout, out)
	return err
}
