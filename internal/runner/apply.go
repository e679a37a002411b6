package runner

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/container"
	"github.com/pullsecret/pullsecret/internal/dockerconfig"
	"github.com/pullsecret/pullsecret/internal/googleauth"
	"github.com/pullsecret/pullsecret/internal/kube"
	"github.com/pullsecret/pullsecret/internal/labels"
	"github.com/pullsecret/pullsecret/internal/registry"
)

// writer holds what every namespace receives: one token, one payload.
type writer struct {
	cfg       *config.Config
	spec      kube.SecretSpec
	expiry    time.Time
	principal string
	method    string
	// cred is what the secret holds, for verify_image.
	cred registry.Credential
}

func newWriter(ctx context.Context, cfg *config.Config, d Deps) (*writer, error) {
	r := d.Reporter
	tok, err := googleauth.Mint(ctx, googleInput(cfg), googleauth.Deps{
		Getenv: d.Getenv, ReadFile: func(p string) ([]byte, error) { return d.ReadFile(container.Path(p, d.Getenv)) },
		IDToken: d.IDToken, HTTPClient: d.HTTPClient, Mask: r.Mask, Now: d.Now,
	})
	if err != nil {
		return nil, googleError(err)
	}
	for _, w := range tok.Warnings {
		r.Warningf("%s", w)
	}
	if strings.HasSuffix(tok.Method, "(authorized_user)") {
		r.Warningf("the Google credential is a person's (Application Default Credentials of type authorized_user, as `gcloud auth application-default login` writes): the pull secret acts as %s with everything they may do, until it expires. Use a service account: workload_identity_provider with service_account, or its key.", tok.Principal)
	}
	user, pass, expiry := dockerconfig.UserAccessToken, tok.AccessToken, tok.Expiry
	if cfg.CredentialMode == config.CredentialJSONKey {
		user, pass, expiry = dockerconfig.UserJSONKey, string(cfg.CredentialsJSON), time.Time{}
	}
	payload, derived, err := dockerconfig.Build(cfg.Registries, user, pass)
	if err != nil {
		return nil, fmt.Errorf("failed to build the docker config: %w", err)
	}
	for _, s := range derived {
		r.Mask(s)
	}
	annotations := map[string]string{}
	for k, v := range cfg.SecretAnnotations {
		annotations[k] = v
	}
	if !expiry.IsZero() {
		// Only beside a token: a key's secret must stay byte-identical
		// across runs (unchanged, not rewritten with each run's ID).
		annotations[labels.ExpiresAt] = expiry.UTC().Format(time.RFC3339)
		annotations[labels.WrittenBy] = writtenBy(d)
	}
	r.Infof("Credential: %s as %s", tok.Method, tok.Principal)
	if len(tok.Scopes) > 0 {
		r.Infof("Token scopes: %s", strings.Join(tok.Scopes, " "))
	}
	if !expiry.IsZero() {
		r.Infof("Token expires at %s (in %s)", expiry.UTC().Format(time.RFC3339), expiry.Sub(d.Now()).Round(time.Second))
	}
	return &writer{
		cfg: cfg,
		spec: kube.SecretSpec{
			Name: cfg.SecretName, Payload: payload, Labels: cfg.SecretLabels,
			Annotations: annotations, Force: cfg.Force, DryRun: cfg.DryRun,
		},
		expiry: expiry, principal: tok.Principal, method: tok.Method,
		cred: registry.Credential{Username: user, Password: pass, Principal: tok.Principal},
	}, nil
}

// writtenBy names the run writing (labels.WrittenBy): a refresher says
// so itself (Deps.WrittenBy), a GitHub Actions run is its repository and
// run ID (what finds its log), anything else the command line.
func writtenBy(d Deps) string {
	if d.WrittenBy != "" {
		return d.WrittenBy
	}
	if repo, run := d.Getenv("GITHUB_REPOSITORY"), d.Getenv("GITHUB_RUN_ID"); d.Getenv("GITHUB_ACTIONS") == "true" && repo != "" {
		return "ci:" + repo + "#" + run
	}
	return "cli"
}

type corev1Ref = corev1.LocalObjectReference

// applyIn writes the secret, then references it. The order matters: a
// ServiceAccount must never point at a secret that was not written. st is
// the namespace as read across the cluster; nil means read it here.
func (w *writer) applyIn(ctx context.Context, c *kube.Client, t kube.Target, st *kube.State) NamespaceResult {
	cfg := w.cfg
	res := NamespaceResult{Namespace: t.Name, matched: t.Matched}
	if t.Missing {
		if err := kube.CreateNamespace(ctx, c, t.Name, cfg.DryRun); err != nil {
			return res.fail(err)
		}
		res.CreatedNamespace = true
		if cfg.DryRun {
			// Nothing exists server-side to dry-run against.
			res.Secret = kube.SecretCreated
			res.Patched = slices.DeleteFunc(slices.Clone(cfg.ServiceAccounts), func(s string) bool { return s == "*" })
			return res
		}
		if err := w.waitForServiceAccounts(ctx, c, t.Name); err != nil {
			return res.failIn(ctx, c, err)
		}
	}
	if st == nil {
		var err error
		if st, err = kube.ReadState(ctx, c, t.Name, w.stateRequest()); err != nil {
			return res.failIn(ctx, c, err)
		}
	}
	if len(st.MissingServiceAccounts) > 0 {
		// Nothing is written in a namespace whose ServiceAccount is missing.
		return res.fail(fmt.Errorf("%w: %q (input %q); create it first or remove it from the list",
			kube.ErrServiceAccountNotFound, st.MissingServiceAccounts[0], config.InServiceAccounts))
	}
	var err error
	if res.Secret, err = kube.ApplySecret(ctx, c, t.Name, w.spec, st.Secret); err != nil {
		return res.failIn(ctx, c, fmt.Errorf("failed to apply secret %q: %w", cfg.SecretName, err))
	}
	return w.referenceIn(ctx, c, st, res)
}

// referenceIn adds the secret to st's ServiceAccounts' imagePullSecrets
// (the secret is written).
func (w *writer) referenceIn(ctx context.Context, c *kube.Client, st *kube.State, res NamespaceResult) NamespaceResult {
	cfg := w.cfg
	for _, sa := range st.ServiceAccounts {
		changed, err := kube.UpdatePullSecrets(ctx, c, sa, cfg.DryRun, func(refs []corev1Ref) ([]corev1Ref, bool) {
			return kube.AddPullSecret(refs, cfg.SecretName)
		})
		if err != nil {
			return res.failIn(ctx, c, fmt.Errorf("failed to add %q to ServiceAccount %q: %w", cfg.SecretName, sa.Name, err))
		}
		if changed {
			res.Patched = append(res.Patched, sa.Name)
		} else {
			res.Unchanged = append(res.Unchanged, sa.Name)
		}
	}
	return res
}

func (w *writer) stateRequest() kube.StateRequest {
	return kube.StateRequest{SecretName: w.cfg.SecretName, ServiceAccounts: w.cfg.ServiceAccounts}
}

// waitForServiceAccounts waits, in a namespace just created, for the
// ServiceAccounts the controller adds asynchronously.
func (w *writer) waitForServiceAccounts(ctx context.Context, c *kube.Client, ns string) error {
	for _, sa := range w.cfg.ServiceAccounts {
		name := sa
		if sa == "*" {
			name = "default"
		}
		if err := kube.WaitForServiceAccount(ctx, c, ns, name, w.cfg.WaitTimeout); err != nil {
			return err
		}
	}
	return nil
}
