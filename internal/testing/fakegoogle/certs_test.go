package fakegoogle

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"testing"

	"github.com/pullsecret/pullsecret/internal/testing/fakejwt"
)

func TestServiceAccountPublicKeys(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil, nil)
	keyJSON, err := w.google.NewServiceAccountKey(testSA, TokenURL(w.url))
	if err != nil {
		t.Fatal(err)
	}
	var key struct {
		PrivateKeyID string `json:"private_key_id"`
		PrivateKey   string `json:"private_key"`
		CertURL      string `json:"client_x509_cert_url"`
	}
	if err := json.Unmarshal(keyJSON, &key); err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode([]byte(key.PrivateKey))
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	priv := parsed.(*rsa.PrivateKey)
	signed, err := fakejwt.Sign(priv, key.PrivateKeyID, map[string]any{"iss": testSA})
	if err != nil {
		t.Fatal(err)
	}

	// The key file links to its certificate document; both URL forms work.
	for _, u := range []string{key.CertURL, w.url + "/service_accounts/v1/metadata/x509/" + testSA} {
		var certs map[string]string
		if status := getJSONStatus(t, u, &certs); status != http.StatusOK {
			t.Fatalf("GET %s: %d", u, status)
		}
		if len(certs) != 1 {
			t.Fatalf("%d certificates, want 1", len(certs))
		}
		b, _ := pem.Decode([]byte(certs[key.PrivateKeyID]))
		if b == nil || b.Type != "CERTIFICATE" {
			t.Fatalf("no PEM certificate under kid %s: %v", key.PrivateKeyID, certs)
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		// Self-signed: the certificate's own key verifies its signature.
		if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
			t.Errorf("certificate is not self-signed by its key: %v", err)
		}
		pub, ok := cert.PublicKey.(*rsa.PublicKey)
		if !ok || !pub.Equal(&priv.PublicKey) {
			t.Fatal("certificate key differs from the key file's key")
		}
		if _, _, err := fakejwt.VerifyRS256(signed, pub); err != nil {
			t.Errorf("JWT signed with the key file does not verify under the certificate: %v", err)
		}
		if cert.Subject.CommonName != testSA {
			t.Errorf("certificate CN %q", cert.Subject.CommonName)
		}
	}

	var set fakejwt.JWKS
	if status := getJSONStatus(t, w.url+"/service_accounts/v1/jwk/"+testSA, &set); status != http.StatusOK {
		t.Fatalf("jwk status %d", status)
	}
	keys, err := set.PublicKeys()
	if err != nil || len(keys) != 1 || !keys[key.PrivateKeyID].Equal(&priv.PublicKey) {
		t.Errorf("JWKS %+v does not hold the key under its id (%v)", set, err)
	}

	for _, p := range []string{"/service_accounts/v1/jwk/", "/service_accounts/v1/metadata/x509/", "/robot/v1/metadata/x509/"} {
		status, body := call(t, http.MethodGet, w.url+p+"ghost@my-project.iam.gserviceaccount.com", nil, "")
		if e, _ := body["error"].(map[string]any); status != http.StatusNotFound || e["status"] != "NOT_FOUND" {
			t.Errorf("unknown account at %s: %d %v", p, status, body)
		}
	}
	// An account without user-managed keys has an empty document, not 404.
	const bare = "bare@my-project.iam.gserviceaccount.com"
	if _, err := w.google.AddServiceAccount(ServiceAccount{Email: bare}); err != nil {
		t.Fatal(err)
	}
	var empty map[string]string
	if status := getJSONStatus(t, w.url+"/service_accounts/v1/metadata/x509/"+bare, &empty); status != http.StatusOK || empty == nil || len(empty) != 0 {
		t.Errorf("keyless account: status %d, document %v; want 200 {}", status, empty)
	}
}

func getJSONStatus(t *testing.T, u string, v any) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}
