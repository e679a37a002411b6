//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/kube"
	"github.com/pullsecret/pullsecret/internal/labels"
	"github.com/pullsecret/pullsecret/internal/refresher"
	"github.com/pullsecret/pullsecret/internal/testing/fakegoogle"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

// refresherImage makes the action's image runnable by digest in the kind
// node, as refresh_image demands. A locally built image has no registry
// digest, so it is imported into the node's containerd (what `kind load
// docker-image` does) and also named REPOSITORY@sha256:DIGEST there — the
// name containerd's CRI gives an image pulled by digest — so kubelet finds
// it by that reference without any registry (IfNotPresent).
func refresherImage(t *testing.T) string {
	t.Helper()
	node := e.clusterName + "-control-plane"
	// The action image is pulled by digest from the release registry, so
	// it has no tag for docker save to carry: give it a local name first.
	const local = "local/pullsecret-action:e2e"
	if out, err := docker("tag", e.actionImage, local); err != nil {
		t.Fatalf("docker tag %s %s: %v: %s", e.actionImage, local, err, out)
	}
	script := `set -e; docker save "$1" | docker exec -i "$2" ctr -n k8s.io images import -`
	if out, err := exec.Command("sh", "-c", script, "sh", local, node).CombinedOutput(); err != nil {
		t.Fatalf("import %s into %s: %v: %s", local, node, err, out)
	}
	name := "docker.io/" + local
	out, err := docker("exec", node, "ctr", "-n", "k8s.io", "images", "ls", "name=="+name)
	if err != nil {
		t.Fatalf("ctr images ls: %v: %s", err, out)
	}
	digest := ""
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[0] == name && strings.HasPrefix(f[2], "sha256:") {
			digest = f[2]
		}
	}
	if digest == "" {
		t.Fatalf("no digest for %s in the node:\n%s", name, out)
	}
	repo, _, _ := strings.Cut(name, ":e2e")
	ref := repo + "@" + digest
	if out, err := docker("exec", node, "ctr", "-n", "k8s.io", "images", "tag", "--force", name, ref); err != nil {
		t.Fatalf("ctr images tag: %v: %s", err, out)
	}
	return ref
}

// The in-cluster refresher on kind, keyless: the fake STS trusts the
// cluster's issuer with the JWKS read off the cluster (what an operator
// does with --print-wif-setup's commands); the action installs the
// refresher; a Job created from its CronJob (kubectl create job --from)
// rotates every covered secret with only its projected ServiceAccount
// token; once the previous token is revoked at the fake, a new pod still
// pulls with the rotated secret; teardown leaves no refresher object.
func refresherOnKind(t *testing.T) {
	ctx := context.Background()
	refreshNS := "ps-refresh-" + randomSuffix()
	t.Cleanup(func() { deleteNamespace(refreshNS) })
	// Pod Security "restricted" is enforced where the refresher runs: its
	// pod must be admitted as it is rendered.
	if _, err := e.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: refreshNS, Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest",
	}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	image := refresherImage(t)

	iss, err := kube.ReadIssuer(ctx, e.client.CoreV1().RESTClient())
	if err != nil {
		t.Fatal(err)
	}
	provider := "projects/123456/locations/global/workloadIdentityPools/k8s/providers/kind-" + randomSuffix()
	printed, err := refresher.SetupCommands(iss, provider, fakestack.ImpersonatedSA, refreshNS, config.DefaultSecretName)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(printed, string(iss.JWKS)) || !strings.Contains(printed, "--issuer-uri="+iss.URL) {
		t.Fatalf("setup commands lack the cluster's keys or issuer:\n%s", printed)
	}
	t.Logf("--print-wif-setup for the kind cluster:\n%s", printed)
	// The printed mapping, and the printed condition as the claim it pins.
	if err := e.stack.Google.AddProvider(fakegoogle.Provider{Name: provider, IssuerURI: iss.URL, JWKSJSON: iss.JWKS,
		AttributeMapping: map[string]string{"google.subject": refresher.SubjectMapping(provider)},
		RequiredClaims:   map[string]string{"sub": refresher.KubernetesSubject(refreshNS, refresherName)}}); err != nil {
		t.Fatal(err)
	}
	principal := refresher.RefresherPrincipal(provider, refreshNS, refresherName)
	if err := e.stack.Google.Grant(fakestack.ImpersonatedSA, principal); err != nil {
		t.Fatal(err)
	}

	prefix := "rf-" + randomSuffix()
	a, b := prefix+"-a", prefix+"-b"
	for _, ns := range []string{a, b} {
		if _, err := e.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { deleteNamespace(ns) })
		if err := waitForDefaultSA(e.client, ns, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	refreshInputs := map[string]string{
		config.InNamespaces: prefix + "-*", config.InRefresh: "true", config.InRefreshImage: image,
		config.InRefreshWorkloadIdentityProvider: provider, config.InRefreshNamespace: refreshNS,
		// The test made refresh_namespace (to enforce Pod Security there).
		config.InRefreshNamespaceAdopt: "true",
		// Short enough to watch tokens expire and the schedule replace them.
		config.InTokenLifetime: "2m", config.InRefreshInterval: "1m",
	}
	start := time.Now()
	r := mustRunAction(t, credentials(t, fakestack.WIF, refreshInputs))
	t.Logf("install run: %s", time.Since(start).Round(time.Millisecond))
	if !strings.Contains(r.summary, "Refresher: installed in `"+refreshNS+"`") {
		t.Errorf("step summary does not report the refresher:\n%s", r.summary)
	}
	before := map[string]string{}
	for _, ns := range []string{a, b} {
		before[ns] = tokenIn(t, payload(t, ns, config.DefaultSecretName), "*-docker.pkg.dev")
	}

	cj, err := e.client.BatchV1().CronJobs(refreshNS).Get(ctx, refresherName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if env := cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Env; !hasEnv(env, config.EnvAllowHTTPEndpoints, "true") {
		t.Errorf("the CronJob of a run with %s lacks it: %v", config.EnvAllowHTTPEndpoints, env)
	}

	// A namespace created after installation that matches the glob.
	c := prefix + "-c"
	if _, err := e.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: c}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteNamespace(c) })
	if err := waitForDefaultSA(e.client, c, time.Minute); err != nil {
		t.Fatal(err)
	}

	start = time.Now()
	job := jobFromCronJob(t, cj)
	t.Logf("refresher Job %s/%s succeeded in %s", refreshNS, job, time.Since(start).Round(time.Second))

	var rotated IssuedToken
	for _, ns := range []string{a, b, c} {
		tok := tokenIn(t, payload(t, ns, config.DefaultSecretName), "*-docker.pkg.dev")
		issued, ok := e.stack.Google.Lookup(tok)
		if issued.IssuedAt.After(rotated.IssuedAt) {
			rotated = issued
		}
		switch {
		case tok == before[ns]:
			t.Errorf("%s: the refresher Job did not rotate the secret", ns)
		case !ok:
			t.Errorf("%s: the secret holds a token the fake never issued", ns)
		case issued.Email != fakestack.ImpersonatedSA || !strings.Contains(issued.ImpersonatedBy, "system:serviceaccount:"+refreshNS+":"+refresherName):
			t.Errorf("%s: token acts as %q impersonated by %q; want %s impersonated by the refresher's ServiceAccount (its projected token)", ns, issued.Email, issued.ImpersonatedBy, fakestack.ImpersonatedSA)
		}
		if ns != c && !e.stack.Google.RevokeToken(before[ns]) {
			t.Errorf("%s: the fake did not know the previous token", ns)
		}
	}
	cm, err := e.client.CoreV1().ConfigMaps(refreshNS).Get(ctx, refresherName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cm.Annotations[labels.LastSuccess] == "" {
		t.Errorf("no %s on the ConfigMap: %v", labels.LastSuccess, cm.Annotations)
	}
	t.Logf("refresher status: %s", cm.Annotations[labels.LastResult])
	for _, ns := range []string{a, b} {
		requireRunning(t, startPod(t, ns, "default", arImage), ns+": new pod after the previous token was revoked")
	}
	requireRunning(t, startPod(t, c, "default", arImage), c+": namespace created after installation, covered at the next refresh")
	refresherRBACReadsNoOtherSecret(t, refreshNS, a)

	// No step runs from here: the schedule (every minute) must keep the
	// secret pullable after every token written so far has expired.
	wait := time.Until(rotated.Expiry.Add(5 * time.Second))
	t.Logf("waiting %s for the last token written by a step or by hand to expire (token_lifetime 2m, refresh_interval 1m)", wait.Round(time.Second))
	time.Sleep(wait)
	tok := tokenIn(t, payload(t, a, config.DefaultSecretName), "*-docker.pkg.dev")
	if issued, ok := e.stack.Google.Lookup(tok); !ok || !issued.IssuedAt.After(rotated.IssuedAt) || !issued.Expiry.After(time.Now()) {
		t.Errorf("%s: after the first tokens expired the secret holds no fresh token from a scheduled run (known %v, issued %s, expires %s)", a, ok, issued.IssuedAt, issued.Expiry)
	}
	requireRunning(t, startPod(t, a, "default", arImage), a+": pod created after the first tokens expired, no step run in between")
	scheduled := 0
	jobs, err := e.client.BatchV1().Jobs(refreshNS).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs.Items {
		if j.Annotations["cronjob.kubernetes.io/instantiate"] != "manual" && j.Status.Succeeded > 0 {
			scheduled++
		}
	}
	if scheduled == 0 {
		t.Error("no scheduled refresher Job succeeded")
	}
	t.Logf("%d scheduled refresher Job(s) succeeded (history limit 1 keeps the last)", scheduled)
	recordRefresherTranscript(t, refreshNS)

	namedRefresherOnKind(t, refreshNS, iss, image, prefix+"-d")

	mustRunAction(t, map[string]string{config.InNamespaces: prefix + "-*", config.InMode: "delete", config.InRefresh: "true", config.InRefreshNamespace: refreshNS})
	if left := refresherLeft(t, refreshNS); len(left) > 0 {
		t.Errorf("teardown left refresher objects: %v", left)
	}
}

// namedRefresherOnKind: a second refresher in the same refresh_namespace,
// for another secret name and named coverage, has its own objects (a Role
// in the covered namespace, its admission policy); a Job from its CronJob
// rotates its secret, and its identity cannot write a ServiceAccount token
// secret there.
func namedRefresherOnKind(t *testing.T, refreshNS string, iss *kube.Issuer, image, ns string) {
	ctx := context.Background()
	const secret = "named-pull"
	name := refresher.ObjectName(fakestack.ImpersonatedSA, secret)
	// Its own provider: a provider's attribute condition admits one
	// refresher's ServiceAccount.
	provider := "projects/123456/locations/global/workloadIdentityPools/k8s/providers/named-" + randomSuffix()
	if err := e.stack.Google.AddProvider(fakegoogle.Provider{Name: provider, IssuerURI: iss.URL, JWKSJSON: iss.JWKS,
		AttributeMapping: map[string]string{"google.subject": refresher.SubjectMapping(provider)},
		RequiredClaims:   map[string]string{"sub": refresher.KubernetesSubject(refreshNS, name)}}); err != nil {
		t.Fatal(err)
	}
	if err := e.stack.Google.Grant(fakestack.ImpersonatedSA, refresher.RefresherPrincipal(provider, refreshNS, name)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteNamespace(ns) })
	if err := waitForDefaultSA(e.client, ns, time.Minute); err != nil {
		t.Fatal(err)
	}
	mustRunAction(t, credentials(t, fakestack.WIF, map[string]string{
		config.InNamespaces: ns, config.InSecretName: secret, config.InRefresh: "true", config.InRefreshImage: image,
		config.InRefreshWorkloadIdentityProvider: provider, config.InRefreshNamespace: refreshNS, config.InRefreshNamespaceAdopt: "true",
		config.InTokenLifetime: "2m", config.InRefreshInterval: "1m",
	}))
	outer := refresher.OuterName(name, refreshNS)
	if _, err := e.client.RbacV1().Roles(ns).Get(ctx, outer, metav1.GetOptions{}); err != nil {
		t.Errorf("named coverage: no Role for the refresher in %s: %v", ns, err)
	}
	if _, err := e.client.AdmissionregistrationV1().ValidatingAdmissionPolicies().Get(ctx, outer, metav1.GetOptions{}); err != nil {
		t.Errorf("named coverage: no admission policy: %v", err)
	}
	before := tokenIn(t, payload(t, ns, secret), "*-docker.pkg.dev")
	cj, err := e.client.BatchV1().CronJobs(refreshNS).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	jobFromCronJob(t, cj)
	if after := tokenIn(t, payload(t, ns, secret), "*-docker.pkg.dev"); after == before {
		t.Errorf("%s: the named refresher's Job did not rotate %s", ns, secret)
	}
	refresherWritesOnlyPullSecrets(t, refreshNS, name, ns, secret)
	mustRunAction(t, map[string]string{config.InNamespaces: ns, config.InSecretName: secret, config.InMode: "delete", config.InRefresh: "true", config.InRefreshNamespace: refreshNS})
	if _, err := e.client.RbacV1().Roles(ns).Get(ctx, outer, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("teardown left the named refresher's Role in %s: %v", ns, err)
	}
}

// refresherWritesOnlyPullSecrets: as the refresher's ServiceAccount, a
// server-side apply (dry run) of its secret name as a ServiceAccount token
// secret is refused by its admission policy, once the API server has
// loaded it.
func refresherWritesOnlyPullSecrets(t *testing.T, refreshNS, name, ns, secret string) {
	t.Helper()
	rc := rest.CopyConfig(e.restConfig)
	rc.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + refreshNS + ":" + name,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + refreshNS, "system:authenticated"}}
	as, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	attack := corev1ac.Secret(secret, ns).WithType(corev1.SecretTypeServiceAccountToken).
		WithAnnotations(map[string]string{corev1.ServiceAccountNameKey: "default"})
	err = wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := as.CoreV1().Secrets(ns).Apply(ctx, attack, metav1.ApplyOptions{FieldManager: "attacker", Force: true, DryRun: []string{metav1.DryRunAll}})
		return err != nil, nil
	})
	if err != nil {
		t.Errorf("the refresher's ServiceAccount may write %s in %s as a ServiceAccount token secret", secret, ns)
	}
}

// refresherName is the refresher of fakestack.ImpersonatedSA and the
// default secret name, the one these scenarios install.
var refresherName = refresher.ObjectName(fakestack.ImpersonatedSA, config.DefaultSecretName)

// IssuedToken is the fake Google's record of a token.
type IssuedToken = fakegoogle.IssuedToken

// refresherRBACReadsNoOtherSecret asks the API server whether the
// refresher's ServiceAccount may read a secret other than the pull secret,
// or list secrets, in a covered namespace: it must not.
func refresherRBACReadsNoOtherSecret(t *testing.T, refreshNS, ns string) {
	t.Helper()
	user := "system:serviceaccount:" + refreshNS + ":" + refresherName
	for _, attr := range []authorizationv1.ResourceAttributes{
		{Namespace: ns, Verb: "get", Resource: "secrets", Name: "someone-elses"},
		{Namespace: ns, Verb: "list", Resource: "secrets"},
		{Namespace: refreshNS, Verb: "get", Resource: "secrets", Name: "someone-elses"},
	} {
		sar, err := e.client.AuthorizationV1().SubjectAccessReviews().Create(context.Background(), &authorizationv1.SubjectAccessReview{
			Spec: authorizationv1.SubjectAccessReviewSpec{User: user, Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + refreshNS, "system:authenticated"}, ResourceAttributes: &attr},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if sar.Status.Allowed {
			t.Errorf("the refresher may %s secrets %q in %s", attr.Verb, attr.Name, attr.Namespace)
		}
	}
	// Its own pull secret it reads with a LIST narrowed to the name by a
	// metadata.name field selector, which RBAC authorizes as list on that
	// name.
	attr := authorizationv1.ResourceAttributes{Namespace: ns, Verb: "list", Resource: "secrets", Name: config.DefaultSecretName}
	sar, err := e.client.AuthorizationV1().SubjectAccessReviews().Create(context.Background(), &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{User: user, Groups: []string{"system:serviceaccounts", "system:authenticated"}, ResourceAttributes: &attr},
	}, metav1.CreateOptions{})
	if err != nil || !sar.Status.Allowed {
		t.Errorf("the refresher may not read its own pull secret (err %v): the RBAC check above proves nothing", err)
	}
}

// recordRefresherTranscript adds the refresher's pods' logs and its
// objects, as stored, to what the final scan searches for secrets.
func recordRefresherTranscript(t *testing.T, ns string) {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	pods, err := e.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		raw, err := e.client.CoreV1().Pods(ns).GetLogs(p.Name, &corev1.PodLogOptions{}).Do(ctx).Raw()
		if err == nil {
			b.Write(raw)
		}
	}
	for _, res := range []string{"configmaps", "serviceaccounts", "events"} {
		raw, err := e.client.CoreV1().RESTClient().Get().Namespace(ns).Resource(res).Do(ctx).Raw()
		if err != nil {
			t.Fatal(err)
		}
		b.Write(raw)
	}
	raw, err := e.client.BatchV1().RESTClient().Get().Namespace(ns).Resource("cronjobs").Do(ctx).Raw()
	if err != nil {
		t.Fatal(err)
	}
	b.Write(raw)
	t.Logf("%d refresher pod(s) and the refresher's objects added to the leak scan", len(pods.Items))
	transcripts = append(transcripts, actionRun{stdout: b.String()})
}

func hasEnv(env []corev1.EnvVar, name, value string) bool {
	for _, e := range env {
		if e.Name == name && e.Value == value {
			return true
		}
	}
	return false
}

// jobFromCronJob is `kubectl create job --from=cronjob/NAME`: a Job with
// the CronJob's template, owned by it, marked as manually instantiated.
// It waits for the Job to succeed and fails with the pod's log otherwise.
func jobFromCronJob(t *testing.T, cj *batchv1.CronJob) string {
	t.Helper()
	ctx := context.Background()
	yes := true
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name: cj.Name + "-manual-" + randomSuffix(), Namespace: cj.Namespace,
			Labels:          cj.Spec.JobTemplate.Labels,
			Annotations:     map[string]string{"cronjob.kubernetes.io/instantiate": "manual"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob", Name: cj.Name, UID: cj.UID, Controller: &yes}},
		},
		Spec: cj.Spec.JobTemplate.Spec,
	}
	if _, err := e.client.BatchV1().Jobs(cj.Namespace).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(4 * time.Minute)
	for time.Now().Before(deadline) {
		j, err := e.client.BatchV1().Jobs(cj.Namespace).Get(ctx, job.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if j.Status.Succeeded > 0 {
			return job.Name
		}
		for _, c := range j.Status.Conditions {
			if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue {
				t.Fatalf("refresher Job failed: %s: %s\n%s", c.Reason, c.Message, jobLogs(t, cj.Namespace, job.Name))
			}
		}
		time.Sleep(time.Second)
	}
	t.Fatalf("refresher Job did not finish within 4m\n%s", jobLogs(t, cj.Namespace, job.Name))
	return ""
}

// jobLogs is the Job's pods' status and logs (the refresher never logs a
// credential; the leak scan of the transcripts covers the action's runs).
func jobLogs(t *testing.T, ns, job string) string {
	t.Helper()
	ctx := context.Background()
	pods, err := e.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + job})
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, p := range pods.Items {
		fmt.Fprintf(&b, "pod %s: %s %v\n", p.Name, p.Status.Phase, p.Status.ContainerStatuses)
		raw, err := e.client.CoreV1().Pods(ns).GetLogs(p.Name, &corev1.PodLogOptions{}).Do(ctx).Raw()
		if err != nil {
			fmt.Fprintf(&b, "  logs: %v\n", err)
			continue
		}
		b.WriteString(redactForLog(string(raw)))
	}
	b.WriteString(pullEvents(t, ns, job))
	return b.String()
}

// refresherLeft lists the refresher objects still present.
func refresherLeft(t *testing.T, ns string) []string {
	t.Helper()
	ctx := context.Background()
	var left []string
	check := func(kind string, err error) {
		switch {
		case err == nil:
			left = append(left, kind)
		case !apierrors.IsNotFound(err):
			t.Errorf("%s: %v", kind, err)
		}
	}
	crName := refresher.OuterName(refresherName, ns)
	_, err := e.client.CoreV1().ServiceAccounts(ns).Get(ctx, refresherName, metav1.GetOptions{})
	check("ServiceAccount", err)
	_, err = e.client.RbacV1().ClusterRoles().Get(ctx, crName, metav1.GetOptions{})
	check("ClusterRole", err)
	_, err = e.client.RbacV1().ClusterRoleBindings().Get(ctx, crName, metav1.GetOptions{})
	check("ClusterRoleBinding", err)
	_, err = e.client.AdmissionregistrationV1().ValidatingAdmissionPolicies().Get(ctx, crName, metav1.GetOptions{})
	check("ValidatingAdmissionPolicy", err)
	_, err = e.client.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Get(ctx, crName, metav1.GetOptions{})
	check("ValidatingAdmissionPolicyBinding", err)
	_, err = e.client.RbacV1().Roles(ns).Get(ctx, refresherName, metav1.GetOptions{})
	check("Role", err)
	_, err = e.client.RbacV1().RoleBindings(ns).Get(ctx, refresherName, metav1.GetOptions{})
	check("RoleBinding", err)
	_, err = e.client.CoreV1().ConfigMaps(ns).Get(ctx, refresherName, metav1.GetOptions{})
	check("ConfigMap", err)
	_, err = e.client.BatchV1().CronJobs(ns).Get(ctx, refresherName, metav1.GetOptions{})
	check("CronJob", err)
	_, err = e.client.AppsV1().Deployments(ns).Get(ctx, refresherName, metav1.GetOptions{})
	check("Deployment", err)
	_, err = e.client.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, refresherName, metav1.GetOptions{})
	check("PodDisruptionBudget", err)
	_, err = e.client.CoordinationV1().Leases(ns).Get(ctx, refresherName, metav1.GetOptions{})
	check("Lease", err)
	return left
}
