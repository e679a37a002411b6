package fakejwt

import (
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
)

// JWK is an RSA or EC public key in RFC 7517 form, with the members GitHub's
// and Google's JWKS documents publish.
type JWK struct {
	Kty string `json:"kty"`
	Alg string `json:"alg,omitempty"`
	Use string `json:"use,omitempty"`
	Kid string `json:"kid,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
}

// JWKS is a JSON Web Key Set document.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// NewJWK encodes pub as an RS256 signing JWK: n and e are unsigned big-endian
// integers in base64url without padding (RFC 7518 section 6.3.1).
func NewJWK(kid string, pub *rsa.PublicKey) JWK {
	return JWK{
		Kty: "RSA",
		Alg: AlgRS256,
		Use: "sig",
		Kid: kid,
		N:   b64.EncodeToString(pub.N.Bytes()),
		E:   b64.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}
}

// PublicKey decodes k back into an RSA public key.
func (k JWK) PublicKey() (*rsa.PublicKey, error) {
	if k.Kty != "RSA" {
		return nil, fmt.Errorf("fakejwt: JWK kty %q is not RSA", k.Kty)
	}
	n, err := b64.DecodeString(k.N)
	if err != nil || len(n) == 0 {
		return nil, errors.New("fakejwt: JWK has a bad modulus")
	}
	e, err := b64.DecodeString(k.E)
	if err != nil || len(e) == 0 || len(e) > 4 {
		return nil, errors.New("fakejwt: JWK has a bad exponent")
	}
	exp := new(big.Int).SetBytes(e)
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(exp.Int64())}, nil
}

// PublicKeys decodes every RSA key in the set, keyed by kid. Keys of other types
// are skipped, as a relying party would.
func (s JWKS) PublicKeys() (map[string]*rsa.PublicKey, error) {
	out := make(map[string]*rsa.PublicKey, len(s.Keys))
	for _, k := range s.Keys {
		if k.Kty != "RSA" {
			continue
		}
		pub, err := k.PublicKey()
		if err != nil {
			return nil, fmt.Errorf("kid %q: %w", k.Kid, err)
		}
		out[k.Kid] = pub
	}
	return out, nil
}

// ParseJWKS decodes a JWKS document.
func ParseJWKS(data []byte) (JWKS, error) {
	var s JWKS
	if err := json.Unmarshal(data, &s); err != nil {
		return JWKS{}, fmt.Errorf("fakejwt: decoding JWKS: %w", err)
	}
	return s, nil
}

// Thumbprint returns a stable, URL-safe identifier for pub derived from its
// RFC 7638 JWK thumbprint. The fakes use it as a default "kid" so that a key
// always gets the same id.
func Thumbprint(pub *rsa.PublicKey) string {
	k := NewJWK("", pub)
	// RFC 7638: the required members in lexicographic order, no whitespace.
	canon := `{"e":"` + k.E + `","kty":"RSA","n":"` + k.N + `"}`
	sum := sha256.Sum256([]byte(canon))
	return b64.EncodeToString(sum[:])
}
