package kube

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/wait"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/util/csaupgrade"
	"k8s.io/client-go/util/retry"
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

// What can happen to a secret; the values appear in logs, the summary and
// --output json.
const (
	SecretCreated   SecretResult = "created"
	SecretUpdated   SecretResult = "updated"
	SecretUnchanged SecretResult = "unchanged"
	SecretDeleted   SecretResult = "deleted"
	SecretAbsent    SecretResult = "absent"
	// SecretReplaced: a secret of another type was deleted and ours created
	// (force); in a dry run, that it would be.
	SecretReplaced SecretResult = "replaced"
)

const applyFix = "choose another secret_name, or set force to take it over"

// ErrNotOurs marks a secret pullsecret refuses to touch without force.
var ErrNotOurs = errors.New("secret is not managed by pullsecret")

// ApplySecret writes the secret with server-side apply: only the fields we
// own change, so labels and annotations others add survive, and it is never
// deleted and recreated (pods mid-pull keep a valid secret) unless force
// replaces a secret of another type.
//
// Every write is conditional on the object whose ownership was checked
// (UID and resourceVersion): if anyone changed it in between, the write
// fails with a Conflict and the secret is read and checked again, so a
// secret another controller took over meanwhile is refused, not
// overwritten.
func ApplySecret(ctx context.Context, cs kubernetes.Interface, ns string, spec SecretSpec) (SecretResult, error) {
	secrets := cs.CoreV1().Secrets(ns)
	var result SecretResult
	err := retry.RetryOnConflict(conflictBackoff, func() error {
		var err error
		result, err = applyOnce(ctx, secrets, ns, spec)
		return err
	})
	return result, err
}

// conflictBackoff bounds the re-reads when others keep writing the same
// object (concurrent runs, a controller editing ServiceAccounts): growing,
// jittered waits so two writers do not retry in lockstep, at most about
// 5s in all before the namespace fails with the Conflict.
var conflictBackoff = wait.Backoff{Steps: 9, Duration: 10 * time.Millisecond, Factor: 2, Jitter: 1}

func applyOnce(ctx context.Context, secrets corev1client.SecretInterface, ns string, spec SecretSpec) (SecretResult, error) {
	existing, err := secrets.Get(ctx, spec.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return createSecret(ctx, secrets, ns, spec)
	case err != nil:
		return "", err
	}
	if err := checkOwnership(existing, spec.Force, applyFix); err != nil {
		return "", err
	}
	if existing.Type != corev1.SecretTypeDockerConfigJson {
		return replaceSecret(ctx, secrets, existing, spec)
	}
	if !spec.DryRun {
		if existing, err = adoptFields(ctx, secrets, existing); err != nil {
			return "", err
		}
	}
	ac := desiredSecret(ns, spec).WithUID(existing.UID).WithResourceVersion(existing.ResourceVersion)
	applied, err := secrets.Apply(ctx, ac, applyOptions(spec))
	switch {
	case err != nil:
		return "", err
	case applied.ResourceVersion == existing.ResourceVersion:
		return SecretUnchanged, nil
	default:
		return SecretUpdated, nil
	}
}

// createSecret creates the secret only while the name is still free: an
// apply would take over a secret someone made since it was read, so this
// is a Create, and AlreadyExists becomes a Conflict that re-reads and
// re-checks. Create records our fields as an Update; they are then handed
// to our apply manager, so a later apply can drop a label it no longer sets.
func createSecret(ctx context.Context, secrets corev1client.SecretInterface, ns string, spec SecretSpec) (SecretResult, error) {
	obj := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: spec.Name, Namespace: ns, Labels: secretLabels(spec), Annotations: spec.Annotations},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: spec.Payload},
	}
	created, err := secrets.Create(ctx, obj, metav1.CreateOptions{FieldManager: FieldManager, DryRun: dryRunOpt(spec.DryRun)})
	if apierrors.IsAlreadyExists(err) {
		return "", apierrors.NewConflict(corev1.Resource("secrets"), spec.Name, errors.New("created by someone else since it was read"))
	}
	if err != nil {
		return "", err
	}
	if !spec.DryRun {
		if _, err := adoptFields(ctx, secrets, created); err != nil {
			// The secret exists and is ours; the next run's update path
			// retries the hand-over.
			return SecretCreated, fmt.Errorf("created the secret, but failed to record its fields as server-side applied: %w", err)
		}
	}
	return SecretCreated, nil
}

// adoptFields moves the fields our Create recorded (manager pullsecret,
// operation Update) to our apply manager, conditional on s's
// resourceVersion. It returns s unchanged when there is nothing to move.
func adoptFields(ctx context.Context, secrets corev1client.SecretInterface, s *corev1.Secret) (*corev1.Secret, error) {
	patch, err := csaupgrade.UpgradeManagedFieldsPatch(s, sets.New(FieldManager), FieldManager)
	if err != nil || patch == nil {
		return s, err
	}
	return secrets.Patch(ctx, s.Name, types.JSONPatchType, patch, metav1.PatchOptions{})
}

func secretLabels(spec SecretSpec) map[string]string {
	labels := map[string]string{}
	maps.Copy(labels, spec.Labels)
	labels[LabelManagedBy] = ManagerName
	return labels
}

func desiredSecret(ns string, spec SecretSpec) *corev1ac.SecretApplyConfiguration {
	ac := corev1ac.Secret(spec.Name, ns).
		WithType(corev1.SecretTypeDockerConfigJson).
		WithLabels(secretLabels(spec)).
		WithData(map[string][]byte{corev1.DockerConfigJsonKey: spec.Payload})
	if len(spec.Annotations) > 0 {
		ac = ac.WithAnnotations(spec.Annotations)
	}
	return ac
}

// applyOptions: Force only resolves field conflicts with other managers of
// the same fields (e.g. a human's kubectl edit of .data); ownership was
// checked.
func applyOptions(spec SecretSpec) metav1.ApplyOptions {
	return metav1.ApplyOptions{FieldManager: FieldManager, Force: true, DryRun: dryRunOpt(spec.DryRun)}
}

// replaceSecret swaps a secret of another type for ours (force only: type
// is immutable, so it is delete then create). The delete is conditional on
// the object inspected. Once it is gone the name must not stay empty -
// ServiceAccounts may reference it - so the create runs even if the run is
// being cancelled, and if it fails the original is put back.
func replaceSecret(ctx context.Context, secrets corev1client.SecretInterface, existing *corev1.Secret, spec SecretSpec) (SecretResult, error) {
	uid, rv := existing.UID, existing.ResourceVersion
	err := secrets.Delete(ctx, existing.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv},
		DryRun:        dryRunOpt(spec.DryRun),
	})
	if apierrors.IsNotFound(err) {
		return "", apierrors.NewConflict(corev1.Resource("secrets"), existing.Name, errors.New("deleted by someone else during replacement"))
	}
	if err != nil {
		return "", fmt.Errorf("failed to delete the secret of type %q to replace it: %w", existing.Type, err)
	}
	if spec.DryRun {
		// The delete was validated; a dry-run create cannot be (the
		// object still exists), and a dry-run apply fails on the type.
		return SecretReplaced, nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), replaceTimeout)
	defer cancel()
	if created, err := createSecret(ctx, secrets, existing.Namespace, spec); err != nil {
		if created != "" {
			return "", err // ours is in place; only its field records failed
		}
		return "", restoreSecret(ctx, secrets, existing, err)
	}
	return SecretReplaced, nil
}

// replaceTimeout bounds finishing a replacement after cancellation.
const replaceTimeout = 30 * time.Second

// restoreSecret re-creates the secret a failed replacement deleted, with
// its type, data, labels, annotations and owners (a new UID is unavoidable).
func restoreSecret(ctx context.Context, secrets corev1client.SecretInterface, orig *corev1.Secret, cause error) error {
	back := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: orig.Name, Namespace: orig.Namespace,
			Labels: orig.Labels, Annotations: orig.Annotations, OwnerReferences: orig.OwnerReferences,
		},
		Type: orig.Type, Data: orig.Data, Immutable: orig.Immutable,
	}
	_, err := secrets.Create(ctx, back, metav1.CreateOptions{FieldManager: FieldManager + "-restore"})
	switch {
	case err == nil:
		return fmt.Errorf("failed to replace the secret of type %q, so the original was put back: %w", orig.Type, cause)
	case apierrors.IsAlreadyExists(err):
		return fmt.Errorf("failed to replace the secret of type %q (someone else re-created it meanwhile): %w", orig.Type, cause)
	default:
		return fmt.Errorf("failed to replace the secret of type %q, and putting the original back failed too (%v), so ServiceAccounts referencing it point at nothing: %w", orig.Type, err, cause)
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
