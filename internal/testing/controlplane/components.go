package controlplane

import (
	"fmt"
	"strings"
)

// Cluster-wide settings every control plane shares; nothing routes to them, they only have to be
// consistent between the serving certificate and the API server's flags.
const (
	serviceCIDR          = "10.0.0.0/24"
	serviceAccountIssuer = "https://kubernetes.default.svc.cluster.local"
)

// DefaultControllers are the kube-controller-manager controllers Start runs (canonical 1.34 names):
//   - serviceaccount: creates the `default` ServiceAccount in every namespace, which pullsecret patches;
//   - serviceaccount-token: token Secrets for ServiceAccounts that still ask for them;
//   - namespace: finalizes deleted namespaces (otherwise they stay Terminating forever);
//   - garbage-collector: honours ownerReferences, as a real cluster does;
//   - root-ca-certificate-publisher: the kube-root-ca.crt ConfigMap every namespace gets.
//
// Scheduling, nodes and workloads are left out: there is no kubelet, and they cost CPU.
var DefaultControllers = []string{
	"serviceaccount-controller",
	"serviceaccount-token-controller",
	"namespace-controller",
	"garbage-collector-controller",
	"root-ca-certificate-publisher-controller",
}

// files are the paths Start generates inside the work directory.
type files struct {
	pkiDir                          string
	caCert, servingCert, servingKey string
	saKey, saPub                    string
	kcmKubeconfig                   string
	etcdData                        string
}

func etcdArgs(f files, clientPort, peerPort int) []string {
	client := fmt.Sprintf("http://127.0.0.1:%d", clientPort)
	peer := fmt.Sprintf("http://127.0.0.1:%d", peerPort)
	return []string{
		"--name=pullsecret",
		"--data-dir=" + f.etcdData,
		"--listen-client-urls=" + client,
		"--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer,
		"--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=pullsecret=" + peer,
		"--log-level=warn",
		// Throwaway data: skipping fsync keeps API writes fast on slow or shared disks.
		"--unsafe-no-fsync=true",
	}
}

func apiserverArgs(f files, etcdClientPort, securePort int) []string {
	return []string{
		fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", etcdClientPort),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", securePort),
		"--tls-cert-file=" + f.servingCert,
		"--tls-private-key-file=" + f.servingKey,
		"--client-ca-file=" + f.caCert,
		// Otherwise it writes self-signed certificates under /var/run/kubernetes.
		"--cert-dir=" + f.pkiDir,
		"--service-account-issuer=" + serviceAccountIssuer,
		"--service-account-key-file=" + f.saPub,
		"--service-account-signing-key-file=" + f.saKey,
		"--service-cluster-ip-range=" + serviceCIDR,
		// The `kubernetes` Service keeps no Endpoints: a loopback address is invalid there (and
		// retried with an error every 10 s), and nothing in-cluster would route to it anyway.
		"--endpoint-reconciler-type=none",
		// RBAC as in production clusters, so tests can prove what pullsecret's Role must grant.
		"--authorization-mode=Node,RBAC",
		"--enable-admission-plugins=NamespaceLifecycle,ServiceAccount,LimitRanger,ResourceQuota,NodeRestriction",
		"--allow-privileged=true",
		"--profiling=false",
	}
}

func controllerManagerArgs(f files, controllers []string) []string {
	return []string{
		"--kubeconfig=" + f.kcmKubeconfig,
		"--controllers=" + strings.Join(controllers, ","),
		// Each controller acts as its own ServiceAccount, so RBAC applies to it as in kubeadm clusters.
		"--use-service-account-credentials=true",
		"--service-account-private-key-file=" + f.saKey,
		"--root-ca-file=" + f.caCert,
		"--leader-elect=false",
		// No HTTPS endpoint: nothing scrapes it, and it would be one more port to race for.
		"--secure-port=0",
		"--profiling=false",
	}
}
