// Package podrecovery finds pods stuck pulling an image because they were
// created before their ServiceAccount referenced the pull secret, and
// deletes them so their controller recreates them with the secret
// (refresh_recover_pods). It decides; package kube sends the requests.
//
// Why deleting is needed at all: the ServiceAccount admission plugin copies
// the ServiceAccount's imagePullSecrets into a pod only when the pod is
// created, so a pod admitted before the reference existed keeps pulling
// without it forever.
package podrecovery

import (
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pullsecret/pullsecret/internal/registry"
)

// Action is what to do with one pod.
type Action int

const (
	// Skip leaves the pod alone.
	Skip Action = iota
	// Delete deletes it: its controller recreates it with the secret.
	Delete
	// Report only reports it: nothing would recreate a bare pod.
	Report
)

func (a Action) String() string {
	return [...]string{"skip", "delete", "report"}[a]
}

// Decision is the verdict on one pod and why.
type Decision struct {
	Action Action
	// Why says, for logs and tests, which condition decided.
	Why string
	// Container is the stuck container, Image its image, Host the
	// registry host it pulls from.
	Container, Image, Host, Reason string
	// ServiceAccount is the pod's ServiceAccount name.
	ServiceAccount string
	// Owner is the pod's controller (Delete only).
	Owner *metav1.OwnerReference
}

// Reasons a container waits with when its image cannot be pulled; the
// ValidatingAdmissionPolicy admits a DELETE by the refresher only for
// these.
const (
	ReasonErrImagePull     = "ErrImagePull"
	ReasonImagePullBackOff = "ImagePullBackOff"
)

// Why values of Decision.
const (
	WhyDeleting    = "being deleted"
	WhyHasSecret   = "already has the pull secret"
	WhyNotStuck    = "no container is waiting with ErrImagePull or ImagePullBackOff"
	WhyNotOurHost  = "no stuck image is on one of the registries"
	WhyNoReference = "its ServiceAccount does not reference the pull secret"
	WhyOwnSecrets  = "it names pull secrets its ServiceAccount does not, so a new pod would not get the ServiceAccount's either"
	WhyBare        = "no controller owns it"
	WhyRecover     = "stuck on one of the registries before its ServiceAccount referenced the pull secret"
)

// DefaultServiceAccount is the ServiceAccount of a pod that names none.
const DefaultServiceAccount = "default"

// Decide judges pod. sa returns the pod's ServiceAccount by name, or nil
// when it is absent or cannot be read; it is called only once the pod
// itself qualifies, so a namespace of healthy pods costs no read. A pod is
// deleted only when every condition holds: not being deleted, its
// imagePullSecrets lacks secretName, a container or init container waits
// with ErrImagePull or ImagePullBackOff on an image whose host is one of
// registries (matched as kubelet matches a pull secret's keys), its
// ServiceAccount references secretName (and every pull secret the pod
// names, else the pod's list came from its template and a new pod would
// lack the secret too), and a controller owns it.
func Decide(pod *corev1.Pod, secretName string, registries []string, sa func(name string) *corev1.ServiceAccount) Decision {
	if pod.DeletionTimestamp != nil {
		return Decision{Why: WhyDeleting}
	}
	if references(pod.Spec.ImagePullSecrets, secretName) {
		return Decision{Why: WhyHasSecret}
	}
	d, stuck := stuckOnRegistry(pod, registries)
	if !stuck {
		return d
	}
	d.ServiceAccount = pod.Spec.ServiceAccountName
	if d.ServiceAccount == "" {
		d.ServiceAccount = DefaultServiceAccount
	}
	acct := sa(d.ServiceAccount)
	if acct == nil || !references(acct.ImagePullSecrets, secretName) {
		d.Why = WhyNoReference
		return d
	}
	// The admission plugin copies the ServiceAccount's imagePullSecrets
	// only into a pod that names none. A pod naming one its ServiceAccount
	// lacks got its list from its template: its replacement would be stuck
	// the same way, so deleting it only churns.
	for _, ref := range pod.Spec.ImagePullSecrets {
		if !references(acct.ImagePullSecrets, ref.Name) {
			d.Why = WhyOwnSecrets
			return d
		}
	}
	if d.Owner = metav1.GetControllerOf(pod); d.Owner == nil {
		d.Action, d.Why = Report, WhyBare
		return d
	}
	d.Action, d.Why = Delete, WhyRecover
	return d
}

// stuckOnRegistry finds the first container or init container waiting to
// pull an image from one of registries.
func stuckOnRegistry(pod *corev1.Pod, registries []string) (Decision, bool) {
	why := WhyNotStuck
	for _, statuses := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses} {
		for _, s := range statuses {
			w := s.State.Waiting
			if w == nil || (w.Reason != ReasonErrImagePull && w.Reason != ReasonImagePullBackOff) {
				continue
			}
			image := specImage(pod, s)
			host := ImageHost(image)
			if slices.ContainsFunc(registries, func(p string) bool { return registry.HostMatches(p, host) }) {
				return Decision{Container: s.Name, Image: image, Host: host, Reason: w.Reason}, true
			}
			why = WhyNotOurHost
		}
	}
	return Decision{Why: why}, false
}

// specImage is the image the kubelet pulls for a container status: the
// spec's (the status may hold a normalised or resolved form).
func specImage(pod *corev1.Pod, s corev1.ContainerStatus) string {
	for _, c := range pod.Spec.InitContainers {
		if c.Name == s.Name {
			return c.Image
		}
	}
	for _, c := range pod.Spec.Containers {
		if c.Name == s.Name {
			return c.Image
		}
	}
	return s.Image
}

// ImageHost is the registry host of an image reference as the container
// runtime reads it: the first path element when it looks like a host (has
// a dot or a port, or is localhost), else Docker Hub.
func ImageHost(image string) string {
	first, _, ok := strings.Cut(image, "/")
	if !ok || (!strings.ContainsAny(first, ".:") && first != "localhost") {
		return "docker.io"
	}
	return strings.ToLower(first)
}

func references(refs []corev1.LocalObjectReference, name string) bool {
	return slices.ContainsFunc(refs, func(r corev1.LocalObjectReference) bool { return r.Name == name })
}
