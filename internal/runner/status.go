package runner

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/kube"
	"github.com/pullsecret/pullsecret/internal/labels"
	"github.com/pullsecret/pullsecret/internal/refresher"
)

// StatusInput is what `pullsecret status` reads.
type StatusInput struct {
	// Kubeconfig, Context and APIServerHost reach the cluster, as in a
	// run ("" APIServerHost: auto).
	Kubeconfig, Context, APIServerHost string
	// SecretName is the pull secret reported on.
	SecretName string
	// ServiceAccounts are the ones expected to reference it in each
	// namespace ("*": every one there).
	ServiceAccounts []string
	// RefreshNamespace limits the refreshers to one namespace; "": every
	// namespace's.
	RefreshNamespace string
}

// Status is what the cluster holds: the pull secret per namespace and the
// refreshers. Nothing in it is secret: secrets are read as metadata only.
type Status struct {
	SecretName string
	Namespaces []SecretStatus
	Refreshers []RefresherStatus
}

// SecretStatus is the pull secret in one namespace.
type SecretStatus struct {
	Namespace string
	// ExpiresAt is the token's expiry as the writer recorded it; zero for
	// a key (json_key) or a secret written before it was recorded.
	ExpiresAt time.Time
	// WrittenBy is labels.WrittenBy: "ci:REPO#RUN", "refresher:NS/NAME",
	// "cli"; "" when not recorded.
	WrittenBy       string
	ServiceAccounts []ServiceAccountStatus
	// CoveredBy are the refreshers (NAMESPACE/NAME) keeping it fresh.
	CoveredBy []string
}

// ServiceAccountStatus says whether one ServiceAccount references the
// secret.
type ServiceAccountStatus struct {
	Name       string
	Missing    bool
	References bool
}

// Refresher modes, from the workload that runs it.
const (
	ModeCron  = "cron"  // a CronJob
	ModeWatch = "watch" // a Deployment
)

// RefresherStatus is one installed refresher, from its ConfigMap
// (coverage, status annotations) and its workload's arguments (identity).
type RefresherStatus struct {
	Namespace, Name string
	// Mode is ModeCron or ModeWatch; "" when neither workload exists.
	Mode     string
	Schedule string // cron only
	// ServiceAccount is the Google service account it impersonates;
	// Provider the Workload Identity provider ("": the metadata server).
	ServiceAccount, Provider string
	SecretName               string
	Coverage                 refresher.Coverage
	// CoverageError says why the ConfigMap's coverage cannot be read.
	CoverageError string
	LastSuccess   time.Time
	ExpiresAt     time.Time
	LastResult    string
}

// ReadStatus reads the status. The API server is read only, through
// lists across namespaces: the caller needs to list secrets,
// ServiceAccounts, ConfigMaps, CronJobs and Deployments (and namespaces
// when a refresher covers a selector) cluster-wide.
func ReadStatus(ctx context.Context, in StatusInput, d Deps) (*Status, error) {
	d.defaults()
	if in.APIServerHost == "" {
		in.APIServerHost = "auto"
	}
	conn, err := connect(&config.Config{Kubeconfig: in.Kubeconfig, Context: in.Context, APIServerHost: in.APIServerHost, Concurrency: 1}, d)
	if err != nil {
		return nil, Classify(ErrBadInput, err)
	}
	c := conn.Client
	st := &Status{SecretName: in.SecretName}
	if st.Refreshers, err = readRefreshers(ctx, c, in.RefreshNamespace); err != nil {
		return nil, statusError(conn, err)
	}
	if st.Namespaces, err = readSecretStatus(ctx, c, in); err != nil {
		return nil, statusError(conn, err)
	}
	if err := coveredBy(ctx, c, st); err != nil {
		return nil, statusError(conn, err)
	}
	return st, nil
}

func statusError(conn *kube.Connection, err error) error {
	if apierrors.IsForbidden(err) {
		err = fmt.Errorf("%w; pullsecret status needs to list, across namespaces, secrets (their metadata), ServiceAccounts, ConfigMaps, CronJobs and Deployments (namespaces too when a refresher covers a selector): run it as a cluster reader, or narrow the refreshers with --refresh-namespace", err)
	}
	return Classify(clusterKind(err), fmt.Errorf("pullsecret status cannot read the cluster at %s: %w", conn.Config.Host, explainAPIError(conn, err)))
}

func readSecretStatus(ctx context.Context, c *kube.Client, in StatusInput) ([]SecretStatus, error) {
	secrets, err := kube.ListSecretMetadata(ctx, c, in.SecretName, labels.ManagedBy+"="+labels.Manager)
	if err != nil {
		return nil, fmt.Errorf("failed to list secrets %q across namespaces: %w", in.SecretName, err)
	}
	sas, err := listServiceAccounts(ctx, c, in.ServiceAccounts)
	if err != nil {
		return nil, err
	}
	var out []SecretStatus
	for _, s := range secrets {
		ss := SecretStatus{Namespace: s.Namespace, WrittenBy: s.Annotations[labels.WrittenBy]}
		if t, err := time.Parse(time.RFC3339, s.Annotations[labels.ExpiresAt]); err == nil {
			ss.ExpiresAt = t
		}
		ss.ServiceAccounts = referencing(sas[s.Namespace], in.ServiceAccounts, in.SecretName)
		out = append(out, ss)
	}
	slices.SortFunc(out, func(a, b SecretStatus) int { return strings.Compare(a.Namespace, b.Namespace) })
	return out, nil
}

// listServiceAccounts lists the chosen ServiceAccounts across namespaces
// (one list per name, or one for "*"), by namespace.
func listServiceAccounts(ctx context.Context, c *kube.Client, names []string) (map[string][]corev1.ServiceAccount, error) {
	lists := []metav1.ListOptions{{}}
	if !slices.Contains(names, "*") {
		lists = lists[:0]
		for _, n := range names {
			lists = append(lists, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", n).String()})
		}
	}
	out := map[string][]corev1.ServiceAccount{}
	for _, opts := range lists {
		l, err := c.ServiceAccounts("").List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("failed to list ServiceAccounts across namespaces: %w", err)
		}
		for _, sa := range l.Items {
			out[sa.Namespace] = append(out[sa.Namespace], sa)
		}
	}
	return out, nil
}

// referencing reports, for each chosen ServiceAccount (every one for
// "*"), whether it references secret.
func referencing(present []corev1.ServiceAccount, chosen []string, secret string) []ServiceAccountStatus {
	refs := func(sa corev1.ServiceAccount) bool {
		return slices.ContainsFunc(sa.ImagePullSecrets, func(r corev1.LocalObjectReference) bool { return r.Name == secret })
	}
	out := []ServiceAccountStatus{}
	if slices.Contains(chosen, "*") {
		for _, sa := range present {
			out = append(out, ServiceAccountStatus{Name: sa.Name, References: refs(sa)})
		}
	} else {
		for _, name := range chosen {
			i := slices.IndexFunc(present, func(sa corev1.ServiceAccount) bool { return sa.Name == name })
			if i < 0 {
				out = append(out, ServiceAccountStatus{Name: name, Missing: true})
				continue
			}
			out = append(out, ServiceAccountStatus{Name: name, References: refs(present[i])})
		}
	}
	slices.SortFunc(out, func(a, b ServiceAccountStatus) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// refresherSelector selects every refresher's objects.
var refresherSelector = labels.Name + "=" + refresher.Name

func readRefreshers(ctx context.Context, c *kube.Client, namespace string) ([]RefresherStatus, error) {
	var cms corev1.ConfigMapList
	if err := c.ListObjects(ctx, kube.Object{APIVersion: "v1", Resource: "configmaps", Namespace: namespace}, refresherSelector, &cms); err != nil {
		return nil, fmt.Errorf("failed to list the refreshers' ConfigMaps: %w", err)
	}
	var cronJobs batchv1.CronJobList
	if err := c.ListObjects(ctx, kube.Object{APIVersion: "batch/v1", Resource: "cronjobs", Namespace: namespace}, refresherSelector, &cronJobs); err != nil {
		return nil, fmt.Errorf("failed to list the refreshers' CronJobs: %w", err)
	}
	var deployments appsv1.DeploymentList
	if err := c.ListObjects(ctx, kube.Object{APIVersion: "apps/v1", Resource: "deployments", Namespace: namespace}, refresherSelector, &deployments); err != nil {
		return nil, fmt.Errorf("failed to list the refreshers' Deployments: %w", err)
	}
	var out []RefresherStatus
	for _, cm := range cms.Items {
		r := RefresherStatus{Namespace: cm.Namespace, Name: cm.Name, LastResult: cm.Annotations[labels.LastResult],
			LastSuccess: parseTime(cm.Annotations[labels.LastSuccess]), ExpiresAt: parseTime(cm.Annotations[labels.ExpiresAt])}
		var err error
		if r.Coverage, err = refresher.CoverageFrom(cm.Data); err != nil {
			r.CoverageError = err.Error()
		}
		var spec *corev1.PodSpec
		for _, cj := range cronJobs.Items {
			if cj.Namespace == cm.Namespace && cj.Name == cm.Name {
				r.Mode, r.Schedule, spec = ModeCron, cj.Spec.Schedule, &cj.Spec.JobTemplate.Spec.Template.Spec
			}
		}
		// A Deployment wins: it is what a switch to watch mode installs.
		for _, dep := range deployments.Items {
			if dep.Namespace == cm.Namespace && dep.Name == cm.Name {
				r.Mode, r.Schedule, spec = ModeWatch, "", &dep.Spec.Template.Spec
			}
		}
		if spec != nil {
			r.ServiceAccount, r.Provider, r.SecretName = identityFromArgs(spec)
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b RefresherStatus) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	return out, nil
}

// identityFromArgs reads a refresher's identity from its container's
// arguments (refresher.Settings.Args), the installer's record of it.
func identityFromArgs(spec *corev1.PodSpec) (serviceAccount, provider, secretName string) {
	secretName = config.DefaultSecretName
	for _, ctr := range spec.Containers {
		args := ctr.Args
		for i := 0; i < len(args); i++ {
			flag, value, inline := strings.Cut(args[i], "=")
			if !inline && i+1 < len(args) {
				value = args[i+1]
			}
			switch strings.TrimLeft(flag, "-") {
			case "service-account":
				serviceAccount = value
			case "provider":
				provider = value
			case "set":
				if !inline {
					if k, v, ok := strings.Cut(value, "="); ok && k == config.InSecretName {
						secretName = v
					}
				}
			}
		}
	}
	return serviceAccount, provider, secretName
}

// coveredBy names, per namespace, the refreshers of the secret whose
// coverage includes it (namespaces' labels are read only for a selector).
func coveredBy(ctx context.Context, c *kube.Client, st *Status) error {
	var nsLabels map[string]map[string]string
	for _, r := range st.Refreshers {
		if r.Coverage.Selector != "" && nsLabels == nil && r.SecretName == st.SecretName {
			list, err := c.Namespaces().List(ctx, metav1.ListOptions{})
			if err != nil {
				return fmt.Errorf("failed to list namespaces: %w", err)
			}
			nsLabels = map[string]map[string]string{}
			for _, ns := range list.Items {
				nsLabels[ns.Name] = ns.Labels
			}
		}
	}
	for i := range st.Namespaces {
		s := &st.Namespaces[i]
		for _, r := range st.Refreshers {
			if r.SecretName == st.SecretName && r.Coverage.Covers(s.Namespace, nsLabels[s.Namespace]) {
				s.CoveredBy = append(s.CoveredBy, r.Namespace+"/"+r.Name)
			}
		}
	}
	return nil
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339, s)
	return t
}
