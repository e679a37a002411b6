package kube

import (
	"context"
	"errors"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
)

// SecretSpec is the pull secret to write.
type SecretSpec struct {
	Name        string
	Payload     []byte // the .dockerconfigjson
	Labels      map[string]string
	Annotations map[string]string
	Force       bool
	DryRun      bool
}

// SecretResult says what happened to a secret.
type SecretResult string

const (
	SecretCreated   SecretResult = "created"
	SecretUpdated   SecretResult = "updated"
	SecretUnchanged SecretResult = "unchanged"
	SecretDeleted   SecretResult = "deleted"
	SecretAbsent    SecretResult = "absent"
)

const applyFix = "choose another secret_name, or set force to take it over"

// ErrNotOurs marks a secret pullsecret refuses to touch without force.
var ErrNotOurs = errors.New("secret is not managed by pullsecret")

// ApplySecret writes the secret with server-side apply: only the fields we
// own change, so labels and annotations others add survive, and it is never
// deleted and recreated (pods mid-pull keep a valid secret).
func ApplySecret(ctx context.Context, cs kubernetes.Interface, ns string, spec SecretSpec) (SecretResult, error) {
	secrets := cs.CoreV1().Secrets(ns)
	existing, err := secrets.Get(ctx, spec.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		existing = nil
	case err != nil:
		return "", err
	default:
		if err := checkOwnership(existing, spec.Force, applyFix); err != nil {
			return "", err
		}
		if existing.Type != corev1.SecretTypeDockerConfigJson {
			// Type is immutable: only an explicit force may replace it,
			// guarded by UID so we delete exactly what we inspected.
			uid := existing.UID
			if err := secrets.Delete(ctx, spec.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}, DryRun: dryRunOpt(spec.DryRun)}); err != nil {
				return "", fmt.Errorf("failed to replace secret of type %q: %w", existing.Type, err)
			}
			existing = nil
		}
	}
	labels := map[string]string{LabelManagedBy: ManagerName}
	maps.Copy(labels, spec.Labels)
	labels[LabelManagedBy] = ManagerName
	ac := corev1ac.Secret(spec.Name, ns).
		WithType(corev1.SecretTypeDockerConfigJson).
		WithLabels(labels).
		WithData(map[string][]byte{corev1.DockerConfigJsonKey: spec.Payload})
	if len(spec.Annotations) > 0 {
		ac = ac.WithAnnotations(spec.Annotations)
	}
	// Force only resolves field conflicts with other managers of the same
	// fields (e.g. a human's kubectl edit of .data); ownership was checked.
	applied, err := secrets.Apply(ctx, ac, metav1.ApplyOptions{FieldManager: FieldManager, Force: true, DryRun: dryRunOpt(spec.DryRun)})
	if err != nil {
		return "", err
	}
	switch {
	case existing == nil:
		return SecretCreated, nil
	case applied.ResourceVersion == existing.ResourceVersion:
		return SecretUnchanged, nil
	default:
		return SecretUpdated, nil
	}
}

// checkOwnership refuses secrets someone else manages: a hand-made secret of
// the same name, or one owned by another controller (ExternalSecret,
// SealedSecret), would be silently overwritten otherwise. fix tells the user
// the way out for the operation at hand.
func checkOwnership(s *corev1.Secret, force bool, fix string) error {
	if force {
		return nil
	}
	var reason string
	switch {
	case s.Labels[LabelManagedBy] != ManagerName:
		reason = fmt.Sprintf("it exists without label %s=%s (type %q)", LabelManagedBy, ManagerName, s.Type)
	case len(s.OwnerReferences) > 0:
		reason = fmt.Sprintf("it is owned by %s %q", s.OwnerReferences[0].Kind, s.OwnerReferences[0].Name)
	case s.Type != corev1.SecretTypeDockerConfigJson:
		reason = fmt.Sprintf("it has type %q", s.Type)
	default:
		return nil
	}
	return fmt.Errorf("%w: %s; %s", ErrNotOurs, reason, fix)
}
