//go:build integration

package integration_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/labels"
	"github.com/pullsecret/pullsecret/internal/refresher"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
	"github.com/pullsecret/pullsecret/internal/testing/fakestack"
)

// resources maps the kinds refresher render prints to their resources.
var resources = map[string]schema.GroupVersionResource{
	"Namespace":                        {Version: "v1", Resource: "namespaces"},
	"ServiceAccount":                   {Version: "v1", Resource: "serviceaccounts"},
	"ConfigMap":                        {Version: "v1", Resource: "configmaps"},
	"ValidatingAdmissionPolicy":        {Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingadmissionpolicies"},
	"ValidatingAdmissionPolicyBinding": {Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingadmissionpolicybindings"},
	"ClusterRole":                      {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"},
	"ClusterRoleBinding":               {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"},
	"Role":                             {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"},
	"RoleBinding":                      {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"},
	"PodDisruptionBudget":              {Group: "policy", Version: "v1", Resource: "poddisruptionbudgets"},
	"Deployment":                       {Group: "apps", Version: "v1", Resource: "deployments"},
	"CronJob":                          {Group: "batch", Version: "v1", Resource: "cronjobs"},
}

// GitOps: what `pullsecret refresher render` prints, applied as Argo CD
// or Flux apply it (server-side, their own field manager), is accepted by
// the API server and is the set of objects the action installs for the
// same inputs: the same kinds and names, and the same content but for the
// refresh_namespace's name.
func TestRefresherRenderIsWhatTheActionInstalls(t *testing.T) {
	cp, cs, stack, bin := binaryRig(t)
	dyn, err := dynamic.NewForConfig(cp.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	ns := controlplanetest.Namespace(t, cp)
	suffix := strings.TrimPrefix(ns, "test-")
	byAction, byGit := "rf-act-"+suffix, "rf-git-"+suffix
	for _, n := range []string{byAction, byGit} {
		t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), n, metav1.DeleteOptions{}) })
	}
	const image = "ghcr.io/pullsecret/pullsecret@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	refresh := map[string]string{config.InNamespaces: ns + ",other-" + suffix + "-*", config.InRefreshMode: config.RefreshWatch,
		config.InRefreshRecoverPods: "true", config.InRefreshImage: image, config.InServiceAccounts: "default"}

	inputs, err := stack.Inputs(fakestack.WIF, "")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range refresh {
		inputs[k] = v
	}
	inputs[config.InKubeconfig] = cp.Kubeconfig()
	inputs[config.InRefresh] = "true"
	inputs[config.InRefreshNamespace] = byAction
	if r := runAsGitHub(t, bin, inputs, stack.GitHubEnv("")); r.exitCode != 0 {
		t.Fatalf("install run: exit %d\n%s", r.exitCode, withoutMaskCommands(r.stdout))
	}

	args := []string{"refresher", "render", "--refresh-namespace", byGit, "--service-account", fakestack.ImpersonatedSA}
	for _, k := range []string{config.InSTSEndpoint, config.InIAMCredentialsEndpoint, config.InOAuthTokenEndpoint, config.InMetadataEndpoint} {
		refresh[k] = inputs[k] // the fakes', which the install fixed in the refresher's arguments
	}
	for k, v := range refresh {
		args = append(args, "--"+strings.ReplaceAll(k, "_", "-")+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(controlplanetest.Context(t), bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("refresher render: %v\n%s", err, stderr.String())
	}
	dec := yaml.NewYAMLOrJSONDecoder(&stdout, 4096)
	rendered := map[string]string{}
	for {
		var u unstructured.Unstructured
		if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if u.Object == nil {
			continue
		}
		gvr, ok := resources[u.GetKind()]
		if !ok {
			t.Fatalf("refresher render printed an unexpected kind %q", u.GetKind())
		}
		body, err := json.Marshal(u.Object)
		if err != nil {
			t.Fatal(err)
		}
		var ri dynamic.ResourceInterface = dyn.Resource(gvr)
		if u.GetNamespace() != "" {
			ri = dyn.Resource(gvr).Namespace(u.GetNamespace())
		}
		force := true
		applied, err := ri.Patch(t.Context(), u.GetName(), types.ApplyPatchType, body, metav1.PatchOptions{FieldManager: "argocd-controller", Force: &force})
		if err != nil {
			t.Fatalf("applying the rendered %s %s: %v", u.GetKind(), u.GetName(), err)
		}
		if u.GetKind() == "Namespace" {
			continue
		}
		// As stored (defaulted), like the action's.
		rendered[key(u.GetKind(), u.GetNamespace(), u.GetName(), byGit)] = content(t, applied.Object, byGit)
	}

	name := refresher.ObjectName(fakestack.ImpersonatedSA, config.DefaultSecretName)
	installed := map[string]string{}
	for kind, gvr := range resources {
		if kind == "Namespace" {
			continue
		}
		list, err := dyn.Resource(gvr).List(t.Context(), metav1.ListOptions{LabelSelector: labels.Instance + "=" + name})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range list.Items {
			if u.GetNamespace() != byAction && !strings.HasSuffix(u.GetName(), "."+byAction) {
				continue // the Git-installed refresher's, or another test's
			}
			installed[key(u.GetKind(), u.GetNamespace(), u.GetName(), byAction)] = content(t, u.Object, byAction)
		}
	}
	var gotKeys, wantKeys []string
	for k := range rendered {
		gotKeys = append(gotKeys, k)
	}
	for k := range installed {
		wantKeys = append(wantKeys, k)
	}
	slices.Sort(gotKeys)
	slices.Sort(wantKeys)
	if !slices.Equal(gotKeys, wantKeys) {
		t.Fatalf("refresher render printed\n  %v\nthe action installed\n  %v", gotKeys, wantKeys)
	}
	for k, want := range installed {
		if got := rendered[k]; got != want {
			t.Errorf("%s differs:\nrendered  %s\ninstalled %s", k, got, want)
		}
	}
}

// key names an object with its refresh_namespace written as NS.
func key(kind, namespace, name, refreshNS string) string {
	return kind + " " + strings.ReplaceAll(namespace+"/"+name, refreshNS, "NS")
}

// content is what the installer sets (labels, pullsecret's annotations,
// and the body but for metadata and status), with refreshNS written as NS.
// Controllers' annotations (a Deployment's revision) are left out.
func content(t *testing.T, obj map[string]any, refreshNS string) string {
	t.Helper()
	u := unstructured.Unstructured{Object: obj}
	ours := map[string]string{}
	for k, v := range u.GetAnnotations() {
		if strings.HasPrefix(k, "pullsecret.dev/") {
			ours[k] = v
		}
	}
	body := map[string]any{"labels": u.GetLabels(), "annotations": ours}
	for k, v := range obj {
		if k != "metadata" && k != "status" && k != "apiVersion" && k != "kind" {
			body[k] = v
		}
	}
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(raw), refreshNS, "NS")
}
