package controlplane

import (
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
)

func TestServingCertCoversClusterNames(t *testing.T) {
	ca, err := newCA("test-ca")
	if err != nil {
		t.Fatal(err)
	}
	serving, err := servingCert(ca, net.IPv4(10, 0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	for _, name := range []string{"127.0.0.1", "::1", "10.0.0.1", "localhost", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"} {
		if _, err := serving.cert.Verify(x509.VerifyOptions{DNSName: name, Roots: roots}); err != nil {
			t.Errorf("serving cert not valid for %s: %v", name, err)
		}
	}
}

func TestClientCertCarriesUserAndGroups(t *testing.T) {
	ca, err := newCA("test-ca")
	if err != nil {
		t.Fatal(err)
	}
	c, err := clientCert(ca, "alice", []string{"team-a", "team-b"})
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	if _, err := c.cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("client cert does not verify for client auth: %v", err)
	}
	if c.cert.Subject.CommonName != "alice" || !slices.Equal(c.cert.Subject.Organization, []string{"team-a", "team-b"}) {
		t.Fatalf("subject = %v, want CN=alice O=team-a,team-b", c.cert.Subject)
	}
}

func TestKubeconfigRoundTrips(t *testing.T) {
	ca, err := newCA("test-ca")
	if err != nil {
		t.Fatal(err)
	}
	user, err := clientCert(ca, "bob", nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kc")
	cfg, err := writeKubeconfig(path, "https://127.0.0.1:1234", ca, user, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://127.0.0.1:1234" || len(cfg.CertData) == 0 || len(cfg.KeyData) == 0 || len(cfg.CAData) == 0 {
		t.Fatalf("incomplete REST config: host=%q cert=%d key=%d ca=%d", cfg.Host, len(cfg.CertData), len(cfg.KeyData), len(cfg.CAData))
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("kubeconfig mode %v, want 0600 (it holds a private key)", fi.Mode().Perm())
	}
	fromFile, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	if fromFile.Host != cfg.Host {
		t.Fatalf("file says %s, returned config says %s", fromFile.Host, cfg.Host)
	}
}

func TestServiceAccountKeyFiles(t *testing.T) {
	dir := t.TempDir()
	priv, pub, err := writeServiceAccountKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	for path, mode := range map[string]os.FileMode{priv: 0o600, pub: 0o644} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s mode %v, want %v", path, fi.Mode().Perm(), mode)
		}
	}
}

func TestFreePortsAreDistinct(t *testing.T) {
	ports, err := freePorts(5)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p <= 0 || seen[p] {
			t.Fatalf("bad port list %v", ports)
		}
		seen[p] = true
	}
}
