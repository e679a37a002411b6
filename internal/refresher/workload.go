package refresher

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/labels"
)

// The watching refresher (refresh_mode: watch): a Deployment whose pods
// run `pullsecret refresh --watch`, one of them the leader through a Lease
// named like the refresher in refresh_namespace.
const (
	// Replicas: a follower keeps its informers warm and takes over
	// within the Lease's duration when the leader's node goes away.
	Replicas = 2
	// MetricsPort serves /metrics, /healthz and /readyz.
	MetricsPort     = 9090
	MetricsPortName = "metrics"
	// EnvPodName is the leader election identity.
	EnvPodName = "POD_NAME"

	coordinationGroup = "coordination.k8s.io"
)

// WatchArgs are the Deployment's arguments: Args (the identity and inputs
// the installer fixes), the watching controller, its metrics, and pod
// recovery when it was asked for.
func (s Settings) WatchArgs() []string {
	args := append(s.Args(), "--watch", "--metrics-address", ":9090")
	if s.RecoverPods {
		args = append(args, "--recover-pods")
	}
	return args
}

// workload is what runs the refresher: the CronJob, or the
// PodDisruptionBudget and the Deployment.
func (s Settings) workload() []Object {
	ns, name := s.Namespace, s.Name()
	if !s.Watch() {
		return []Object{obj("batch/v1", "CronJob", "cronjobs", ns, name, cronJob(s))}
	}
	return []Object{
		obj("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets", ns, name, s.disruptionBudget()),
		obj("apps/v1", "Deployment", "deployments", ns, name, s.deployment()),
	}
}

// Lease is the watching refresher's leader election record, which its
// pods create (not the installer); teardown deletes it.
func (s Settings) Lease() Object {
	return obj(coordinationGroup+"/v1", "Lease", "leases", s.Namespace, s.Name(), nil)
}

// Retired are the workload objects of the other mode, which an install
// deletes before it applies its own workload, so that no refresher ever
// runs as both a CronJob and a Deployment (and its teardown deletes them
// whatever mode it was installed in).
func Retired(s Settings) []Object {
	other := s
	if s.Watch() {
		other.Mode = ""
		return other.workload()
	}
	other.Mode = config.RefreshWatch
	return append(other.workload(), s.Lease())
}

// selector picks the refresher's pods: name and instance, which never
// change (a Deployment's selector is immutable).
func (s Settings) selector() *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{labels.Name: Name, labels.Instance: s.Name()}}
}

// disruptionBudget keeps one replica through a node drain.
func (s Settings) disruptionBudget() *policyv1.PodDisruptionBudget {
	one := intstr.FromInt32(1)
	return &policyv1.PodDisruptionBudget{
		TypeMeta:   metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
		ObjectMeta: s.meta(s.Namespace, s.Name()),
		Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: &one, Selector: s.selector()},
	}
}

// deployment runs the watching controller with the CronJob's pod
// hardening, two replicas preferably on different nodes, and probes on the
// metrics port (no scrape annotations: deploy/ has a ServiceMonitor
// example).
func (s Settings) deployment() *appsv1.Deployment {
	name := s.Name()
	replicas := int32(Replicas)
	p := s.pod()
	c := &p.container
	c.Args = s.WatchArgs()
	c.Env = append([]corev1.EnvVar{{Name: EnvPodName, ValueFrom: &corev1.EnvVarSource{
		FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"},
	}}}, c.Env...)
	c.Ports = []corev1.ContainerPort{{Name: MetricsPortName, ContainerPort: MetricsPort, Protocol: corev1.ProtocolTCP}}
	probe := func() *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
			Path: "/healthz", Port: intstr.FromString(MetricsPortName), Scheme: corev1.URISchemeHTTP,
		}}}
	}
	c.ReadinessProbe, c.LivenessProbe = probe(), probe()
	c.Resources = corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")},
	}
	spec := p.spec(corev1.RestartPolicyAlways)
	spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
		PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
			Weight: 100,
			PodAffinityTerm: corev1.PodAffinityTerm{
				LabelSelector: s.selector(), TopologyKey: corev1.LabelHostname,
			},
		}},
	}}
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: s.meta(s.Namespace, name),
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: s.selector(),
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: Labels(name)}, Spec: spec},
		},
	}
}
