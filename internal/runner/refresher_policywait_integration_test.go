//go:build integration

package runner

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/refresher"
)

// waitPolicyAdmits waits until the refresher's ValidatingAdmissionPolicy
// in force admits its secret in every namespace its ConfigMap names. The
// API server loads a policy and its binding asynchronously (on a busy
// machine, seconds after the install returned): a run started at once may
// be refused in a namespace the install just added, although the next
// scheduled run would not be. Production runs start at the CronJob's next
// tick; a test starts one right away, so it waits for the event instead.
// The coverage is re-read on every poll, so a teardown racing the wait
// cannot make it wait for a namespace that is no longer covered.
func waitPolicyAdmits(ctx context.Context, t *testing.T, admin, as kubernetes.Interface, refreshNS, name string) {
	t.Helper()
	probe := func(ns string) error {
		s := corev1ac.Secret(config.DefaultSecretName, ns).
			WithType(corev1.SecretTypeDockerConfigJson).
			WithData(map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{}}`)})
		_, err := as.CoreV1().Secrets(ns).Apply(ctx, s, metav1.ApplyOptions{FieldManager: "policy-probe", Force: true, DryRun: []string{metav1.DryRunAll}})
		return err
	}
	var pending []string
	// The wait ends with ctx at the latest (a test's deadline, or a test
	// cancelling the run on purpose): the run then meets that end itself.
	_ = wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		cm, err := admin.CoreV1().ConfigMaps(refreshNS).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		if err != nil {
			return false, nil
		}
		cov, err := refresher.CoverageFrom(cm.Data)
		if err != nil {
			return true, nil // the run itself reports a bad ConfigMap
		}
		pending = pending[:0]
		for _, ns := range cov.Namespaces {
			if refresher.IsPattern(ns) {
				continue
			}
			// Only the policy's refusal is waited out; any other answer
			// (a foreign secret, a missing namespace) is the run's to meet.
			if err := probe(ns); err != nil && strings.Contains(err.Error(), "ValidatingAdmissionPolicy") {
				pending = append(pending, ns)
			}
		}
		return len(pending) == 0, nil
	})
}
