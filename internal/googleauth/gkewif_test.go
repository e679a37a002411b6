package googleauth

import (
	"strings"
	"testing"
	"time"

	"github.com/pullsecret/pullsecret/internal/testing/check"
	"github.com/pullsecret/pullsecret/internal/testing/fakegoogle"
)

// Under Workload Identity Federation for GKE with no Google service account
// (Google's default recommendation) the metadata server names the workload
// pool and hands out a federated token: it goes into the secret as it is,
// with a warning that token_lifetime does not apply, and nothing is asked
// of IAM Credentials for an account that does not exist. This is the path
// of the action on GKE and of the refresher's GKE mode alike.
func TestMetadataGKEWorkloadIdentityWithoutServiceAccount(t *testing.T) {
	t.Parallel()
	w := newWorldWith(t, nil, func(c *fakegoogle.Config) {
		c.DefaultServiceAccount = ""
		c.ProjectID = "gke-proj"
		c.GKEWorkload = &fakegoogle.GKEWorkload{Namespace: "pullsecret", ServiceAccount: "pullsecret-refresher"}
	})
	tok, err := Mint(t.Context(), w.input(Input{TokenLifetime: 30 * time.Minute, Scopes: []string{readOnlyScope}}), w.deps(map[string]string{"HOME": t.TempDir()}, &masker{}))
	if err != nil {
		t.Fatal(err)
	}
	info, ok := w.google.Lookup(tok.AccessToken)
	wantPrincipal := fakegoogle.GKEWorkloadPrincipal("123456", "gke-proj", "pullsecret", "pullsecret-refresher")
	if !ok || info.Kind != fakegoogle.KindFederated || info.Principal != wantPrincipal {
		t.Fatalf("secret token: kind %s principal %q, want the metadata server's federated token of %s", info.Kind, info.Principal, wantPrincipal)
	}
	if !tok.Expiry.Equal(info.Expiry.Truncate(time.Second)) && tok.Expiry.Sub(info.Expiry).Abs() > 2*time.Second {
		t.Errorf("reported expiry %s, real expiry %s", tok.Expiry, info.Expiry)
	}
	if !strings.Contains(tok.Principal, "gke-proj.svc.id.goog") {
		t.Errorf("principal %q does not name the workload pool", tok.Principal)
	}
	warned := strings.Join(tok.Warnings, "\n")
	for _, want := range []string{`token_lifetime`, "does not apply", "iam.gke.io/gcp-service-account"} {
		if !strings.Contains(warned, want) {
			t.Errorf("warnings %q lack %q", warned, want)
		}
	}
	if n := len(w.google.RequestsTo(fakegoogle.EndpointIAMCredentials)); n != 0 {
		t.Errorf("%d IAM Credentials calls for the workload pool", n)
	}
}

// GKE's metadata server explains a missing workloadIdentityUser binding
// over several lines, the documentation link last: the error keeps it.
func TestMetadataGKEMultiLineErrorKeepsTheFix(t *testing.T) {
	t.Parallel()
	const gsa = "app@gke-proj.iam.gserviceaccount.com"
	w := newWorldWith(t, nil, func(c *fakegoogle.Config) {
		c.DefaultServiceAccount = ""
		c.ProjectID = "gke-proj"
		c.GKEWorkload = &fakegoogle.GKEWorkload{Namespace: "ns", ServiceAccount: "ksa", GoogleServiceAccount: gsa}
		c.ServiceAccounts = append(c.ServiceAccounts, fakegoogle.ServiceAccount{Email: gsa})
	})
	_, err := Mint(t.Context(), w.input(Input{}), w.deps(map[string]string{"HOME": t.TempDir()}, &masker{}))
	if d := check.ErrDiff(err, gsa, "missing IAM policy binding", "https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity#authenticating_to"); d != "" {
		t.Fatal(d)
	}
}
