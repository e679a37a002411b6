// Command floor is the benchmark's lower bound: what writing the pull
// secret into N namespaces costs with nothing pullsecret adds. It lists the
// namespaces by selector, then per namespace blindly applies the secret
// (no read, no precondition) and merges the reference into the default
// ServiceAccount with a strategic-merge patch (as `kubectl patch` does),
// 64 namespaces in flight, with no client-side rate limiter and no retries
// of its own. It is not a safe client (a blind write can take over a secret
// it does not own); it is the time to beat.
//
// Usage: floor KUBECONFIG SELECTOR SECRET_NAME
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

const inFlight = 64

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: floor KUBECONFIG SELECTOR SECRET_NAME")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2], os.Args[3]); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

func run(kubeconfig, selector, name string) error {
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	rc.QPS, rc.Burst = -1, 0 // no client-side limiter
	rc.UserAgent = "floor/bench"
	rc.ContentType = "application/vnd.kubernetes.protobuf"
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	ctx := context.Background()
	nss, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return err
	}
	ref, err := json.Marshal(map[string]any{"imagePullSecrets": []corev1.LocalObjectReference{{Name: name}}})
	if err != nil {
		return err
	}
	sem := make(chan struct{}, inFlight)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, ns := range nss.Items {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := write(ctx, cs, ns.Name, name, ref); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("%d of %d namespaces failed, first: %w", len(errs), len(nss.Items), errs[0])
	}
	return nil
}

func write(ctx context.Context, cs kubernetes.Interface, ns, name string, ref []byte) error {
	secret, err := json.Marshal(map[string]any{
		"apiVersion": "v1", "kind": "Secret",
		"metadata": map[string]any{"name": name, "namespace": ns, "labels": map[string]string{"app.kubernetes.io/managed-by": "floor"}},
		"type":     corev1.SecretTypeDockerConfigJson,
		"data":     map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{"gcr.io":{"username":"oauth2accesstoken","password":"ya29.floor-not-a-real-token"}}}`)},
	})
	if err != nil {
		return err
	}
	if _, err := cs.CoreV1().Secrets(ns).Patch(ctx, name, types.ApplyPatchType, secret, metav1.PatchOptions{FieldManager: "floor", Force: new(true)}); err != nil {
		return fmt.Errorf("secret in %s: %w", ns, err)
	}
	if _, err := cs.CoreV1().ServiceAccounts(ns).Patch(ctx, "default", types.StrategicMergePatchType, ref, metav1.PatchOptions{FieldManager: "floor"}); err != nil {
		return fmt.Errorf("ServiceAccount in %s: %w", ns, err)
	}
	return nil
}
