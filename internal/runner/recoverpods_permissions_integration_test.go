//go:build integration

package runner

import (
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/kube"
	"github.com/pullsecret/pullsecret/internal/podrecovery"
	"github.com/pullsecret/pullsecret/internal/testing/controlplane/controlplanetest"
)

// Stuck-pod recovery lives within what the installer grants with
// refresh_recover_pods (RBAC and admission policy), named and glob
// coverage: as the refresher's own identity, the Recoverer reads the
// ServiceAccount, deletes the stuck controller-owned pod and records the
// Event on its owner; the bare pod it only reports, on the pod.
func TestRecovererWithinInstalledPermissions(t *testing.T) {
	t.Parallel()
	cp := controlplanetest.Shared(t)
	cs := clientFor(t, cp)
	for _, kind := range []string{"named", "glob"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			refreshNS, covered, coverage := coverageOfKind(t, cs, kind, "recperm")
			// Stuck before the reference exists: created before the install.
			stuck := stuckPod(t, cs, covered, true, true)
			bare := stuckPod(t, cs, covered, false, true)
			installRefresherFor(t, cp, refreshNS, coverage, map[string]string{config.InRefreshMode: config.RefreshWatch, config.InRefreshRecoverPods: "true"})

			rc := rest.CopyConfig(cp.RESTConfig())
			rc.Impersonate = rest.ImpersonationConfig{UserName: saUser(refreshNS, pullerRefresher),
				Groups: []string{"system:authenticated", "system:serviceaccounts", "system:serviceaccounts:" + refreshNS}}
			c, err := kube.NewClient(rc)
			if err != nil {
				t.Fatal(err)
			}
			rec := podrecovery.New(podrecovery.Options{Client: c, SecretName: config.DefaultSecretName,
				Registries: config.SplitList(config.DefaultRegistries), Logf: t.Logf})
			ctx := controlplanetest.Context(t)
			if n, err := rec.Recover(ctx, covered); n != 1 || err != nil {
				t.Fatalf("recovered %d, %v; want 1, nil", n, err)
			}
			if _, err := cs.CoreV1().Pods(covered).Get(ctx, stuck.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("the stuck controller-owned pod is still there (%v)", err)
			}
			if _, err := cs.CoreV1().Pods(covered).Get(ctx, bare.Name, metav1.GetOptions{}); err != nil {
				t.Errorf("the bare pod is gone: %v", err)
			}
			for what, uid := range map[string]string{"the owner": string(stuck.OwnerReferences[0].UID), "the bare pod": string(bare.UID)} {
				list, err := cs.CoreV1().Events(covered).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.uid=" + uid})
				if err != nil {
					t.Fatal(err)
				}
				if len(list.Items) != 1 || list.Items[0].Source.Component == "" {
					t.Errorf("Events on %s: %+v; want one", what, list.Items)
				}
			}
		})
	}
}
