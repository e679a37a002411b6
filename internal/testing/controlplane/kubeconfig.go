package controlplane

import (
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// kubeconfigBytes renders a self-contained kubeconfig (certificates embedded, so the file can be
// copied anywhere) that authenticates to server with the client certificate in user.
func kubeconfigBytes(server string, ca, user *keyPair, userName string) ([]byte, error) {
	const cluster = "pullsecret-controlplane"
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[cluster] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca.certPEM}
	cfg.AuthInfos[userName] = &clientcmdapi.AuthInfo{ClientCertificateData: user.certPEM, ClientKeyData: user.keyPEM}
	cfg.Contexts[userName] = &clientcmdapi.Context{Cluster: cluster, AuthInfo: userName, Namespace: "default"}
	cfg.CurrentContext = userName
	return clientcmd.Write(*cfg)
}

// writeKubeconfig writes the kubeconfig to path and returns the REST config it describes, so
// that Go clients and kubectl users are guaranteed to see the same settings.
func writeKubeconfig(path, server string, ca, user *keyPair, userName string) (*rest.Config, error) {
	b, err := kubeconfigBytes(server, ca, user, userName)
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(path, b, 0o600); err != nil {
		return nil, err
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(b)
	if err != nil {
		return nil, fmt.Errorf("parsing generated kubeconfig: %w", err)
	}
	return cfg, nil
}

// writeFileAtomic makes path appear complete or not at all, so a script polling for a
// kubeconfig never reads half of one.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
