package podrecovery

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// Decide runs for every pod of every covered namespace each refresh
// cycle; a healthy pod must cost next to nothing.
func BenchmarkDecide(b *testing.B) {
	for name, pod := range map[string]*corev1.Pod{"running": func() *corev1.Pod {
		p := stuckPod()
		p.Status.ContainerStatuses[0].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
		return p
	}(), "stuck": stuckPod()} {
		sa := &corev1.ServiceAccount{ImagePullSecrets: []corev1.LocalObjectReference{{Name: secret}}}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				Decide(pod, secret, registries, func(string) *corev1.ServiceAccount { return sa })
			}
		})
	}
}
