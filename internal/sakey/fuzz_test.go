package sakey

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"slices"
	"strings"
	"testing"
)

// FuzzKeyParsing feeds anything as a key to sakey.Parse and sakey.Mask
// (what runs before any key is used): no panic, and every line of an
// accepted key's private_key is masked.
func FuzzKeyParsing(f *testing.F) {
	// A well-formed key, generated here: no key material is committed.
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(rsaKey)
	if err != nil {
		f.Fatal(err)
	}
	seed, err := json.Marshal(map[string]string{
		"type": "service_account", "private_key": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"private_key_id": "abc", "client_email": "a@b.iam.gserviceaccount.com", "token_uri": "https://oauth2.googleapis.com/token",
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(seed))
	f.Add(`{"type":"service_account","private_key":42}`)
	f.Fuzz(func(t *testing.T, raw string) {
		var masked []string
		Mask([]byte(raw), func(s string) { masked = append(masked, s) })
		k, err := Parse([]byte(raw))
		if err != nil {
			return
		}
		var m map[string]any
		if json.Unmarshal([]byte(raw), &m) != nil {
			t.Fatal("Parse accepted what json.Unmarshal into a map refuses")
		}
		for _, line := range strings.Split(k.PrivateKey, "\n") {
			l := strings.TrimSpace(line)
			if len(l) > 8 && !strings.HasPrefix(l, "-----") && !slices.Contains(masked, l) {
				t.Fatalf("private key line not masked")
			}
		}
	})
}
