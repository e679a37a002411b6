package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/util/csaupgrade"

	"github.com/pullsecret/pullsecret/internal/labels"
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
// existing is the secret as already read (ReadStates; nil: absent), so a
// run needs no read per namespace. Every write is conditional on the object
// whose ownership was checked (UID and resourceVersion, or "still absent"):
// if anyone changed it in between, the write fails with a Conflict and the
// secret is read and checked again, so a secret another controller took
// over meanwhile is refused, not overwritten.
func ApplySecret(ctx context.Context, c *Client, ns string, spec SecretSpec, existing *corev1.Secret) (SecretResult, error) {
	secrets := c.Secrets(ns)
	ctx, resent := trackResent(ctx)
	intended := SecretUpdated
	if existing == nil {
		intended = SecretCreated
	}
	var result SecretResult
	first := true
	err := onConflict(ctx, c.budget.limit, func(ctx context.Context) error {
		if !first {
			var err error
			if existing, err = readSecret(ctx, c, ns, spec.Name); err != nil {
				return err
			}
		}
		first = false
		var err error
		result, err = applyOnce(ctx, secrets, ns, spec, existing)
		return err
	})
	if err == nil && result == SecretUnchanged && resent.yes {
		// A write whose answer was lost was sent again and found its
		// change already made: it was ours.
		result = intended
	}
	return result, err
}

type secrets = Resource[corev1.Secret, corev1.SecretList]

func applyOnce(ctx context.Context, secrets secrets, ns string, spec SecretSpec, existing *corev1.Secret) (SecretResult, error) {
	if existing == nil {
		return createSecret(ctx, secrets, ns, spec)
	}
	if err := checkOwnership(existing, spec.Force, applyFix); err != nil {
		return "", err
	}
	if existing.Type != corev1.SecretTypeDockerConfigJson {
		return replaceSecret(ctx, secrets, existing, spec)
	}
	if !spec.DryRun {
		var err error
		if existing, err = adoptFields(ctx, secrets, existing); err != nil {
			return "", err
		}
	}
	applied, err := secrets.Apply(ctx, spec.Name, desiredSecret(ns, spec, existing.UID, existing.ResourceVersion), applyOptions(spec))
	switch {
	case err != nil:
		return "", err
	case applied.ResourceVersion == existing.ResourceVersion:
		return SecretUnchanged, nil
	default:
		return SecretUpdated, nil
	}
}

// absentVersion is the resourceVersion pullsecret sends to create a secret
// only while the name is still free. The API server ignores a
// resourceVersion when an apply creates the object, and refuses the apply
// with a Conflict when an object exists with another resourceVersion; etcd
// never gives an object revision 1 (the first write is revision 2), so a
// secret someone made since it was read is re-read and re-checked, not
// taken over. (A UID precondition cannot say "absent": the server answers
// a UID on a missing object with a Conflict.) One request, owned by our
// apply manager from the start.
const absentVersion = "1"

// createSecret creates the secret if the name is still free (see
// absentVersion).
func createSecret(ctx context.Context, secrets secrets, ns string, spec SecretSpec) (SecretResult, error) {
	_, err := secrets.Apply(ctx, spec.Name, desiredSecret(ns, spec, "", absentVersion), applyOptions(spec))
	if err != nil {
		return "", err
	}
	return SecretCreated, nil
}

// adoptFields moves fields that older pullsecret versions recorded with a
// Create (manager pullsecret, operation Update) to our apply manager, so
// an apply can drop a label it no longer sets. It is conditional on s's
// resourceVersion, and costs no request when there is nothing to move.
func adoptFields(ctx context.Context, secrets secrets, s *corev1.Secret) (*corev1.Secret, error) {
	if !hasLegacyCreate(s.ManagedFields) {
		return s, nil
	}
	patch, err := csaupgrade.UpgradeManagedFieldsPatch(s, sets.New(FieldManager), FieldManager)
	if err != nil || patch == nil {
		return s, err
	}
	return secrets.Patch(ctx, s.Name, types.JSONPatchType, patch, metav1.PatchOptions{})
}

func secretLabels(spec SecretSpec) map[string]string {
	l := map[string]string{}
	maps.Copy(l, spec.Labels)
	l[labels.ManagedBy] = labels.Manager
	return l
}

// secretApply is the apply configuration of our secret: exactly the
// fields pullsecret owns (a marshalled corev1.Secret would also claim
// creationTimestamp: null and empty fields).
type secretApply struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   applyMeta         `json:"metadata"`
	Type       corev1.SecretType `json:"type"`
	Data       map[string][]byte `json:"data"`
}

type applyMeta struct {
	Name            string            `json:"name"`
	Namespace       string            `json:"namespace"`
	UID             types.UID         `json:"uid,omitempty"`
	ResourceVersion string            `json:"resourceVersion,omitempty"`
	Labels          map[string]string `json:"labels,omitempty"`
	Annotations     map[string]string `json:"annotations,omitempty"`
}

// desiredSecret is the apply body; uid and resourceVersion are the
// preconditions of the write.
func desiredSecret(ns string, spec SecretSpec, uid types.UID, resourceVersion string) []byte {
	b, err := json.Marshal(secretApply{
		APIVersion: "v1", Kind: "Secret",
		Metadata: applyMeta{
			Name: spec.Name, Namespace: ns, UID: uid, ResourceVersion: resourceVersion,
			Labels: secretLabels(spec), Annotations: spec.Annotations,
		},
		Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: spec.Payload},
	})
	if err != nil {
		panic(err) // strings, maps of strings and bytes always marshal
	}
	return b
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
func replaceSecret(ctx context.Context, secrets secrets, existing *corev1.Secret, spec SecretSpec) (SecretResult, error) {
	uid, rv := existing.UID, existing.ResourceVersion
	dctx, resent := trackResent(ctx)
	err := secrets.Delete(dctx, existing.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv},
		DryRun:        dryRunOpt(spec.DryRun),
	})
	// NotFound after a delete whose answer was lost and was sent again:
	// the first one deleted it.
	if apierrors.IsNotFound(err) && !resent.yes {
		return "", apierrors.NewConflict(corev1.Resource("secrets"), existing.Name, errors.New("deleted by someone else during replacement"))
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return "", fmt.Errorf("failed to delete the secret of type %q to replace it: %w", existing.Type, err)
	}
	if spec.DryRun {
		// The delete was validated; a dry-run create cannot be (the
		// object still exists), and a dry-run apply fails on the type.
		return SecretReplaced, nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), replaceTimeout)
	defer cancel()
	if _, err := createSecret(ctx, secrets, existing.Namespace, spec); err != nil {
		return "", restoreSecret(ctx, secrets, existing, err)
	}
	return SecretReplaced, nil
}

// replaceTimeout bounds finishing a replacement after cancellation.
const replaceTimeout = 30 * time.Second

// restoreSecret re-creates the secret a failed replacement deleted, with
// its type, data, labels, annotations and owners (a new UID is
// unavoidable). Like every create of pullsecret's it is an apply that only
// creates (see absentVersion): RBAC can narrow it to the secret's name,
// and a secret someone else made meanwhile is left alone.
func restoreSecret(ctx context.Context, secrets secrets, orig *corev1.Secret, cause error) error {
	back, err := json.Marshal(map[string]any{
		"apiVersion": "v1", "kind": "Secret",
		"metadata": map[string]any{
			"name": orig.Name, "namespace": orig.Namespace, "resourceVersion": absentVersion,
			"labels": orig.Labels, "annotations": orig.Annotations, "ownerReferences": orig.OwnerReferences,
		},
		"type": orig.Type, "data": orig.Data, "immutable": orig.Immutable,
	})
	if err == nil {
		_, err = secrets.Apply(ctx, orig.Name, back, metav1.ApplyOptions{FieldManager: FieldManager + "-restore", Force: true})
	}
	switch {
	case err == nil:
		return fmt.Errorf("failed to replace the secret of type %q, so the original was put back: %w", orig.Type, cause)
	case apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err):
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
	case s.Labels[labels.ManagedBy] != labels.Manager:
		reason = fmt.Sprintf("it exists without label %s=%s (type %q)", labels.ManagedBy, labels.Manager, s.Type)
	case len(s.OwnerReferences) > 0:
		reason = fmt.Sprintf("it is owned by %s %q", s.OwnerReferences[0].Kind, s.OwnerReferences[0].Name)
	case s.Type != corev1.SecretTypeDockerConfigJson:
		reason = fmt.Sprintf("it has type %q", s.Type)
	default:
		return nil
	}
	return fmt.Errorf("%w: %s; %s", ErrNotOurs, reason, fix)
}
