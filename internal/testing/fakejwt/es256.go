package fakejwt

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
)

// AlgES256 is ECDSA P-256 with SHA-256 (RFC 7518 section 3.4), which
// Google's STS accepts from OIDC providers besides RS256
// (https://cloud.google.com/iam/docs/workload-identity-federation-with-other-providers#oidc).
const AlgES256 = "ES256"

// NewECJWK encodes a P-256 key as an ES256 signing JWK (RFC 7518 section
// 6.2.1: x and y as 32-byte big-endian base64url).
func NewECJWK(kid string, pub *ecdsa.PublicKey) (JWK, error) {
	// Bytes is the uncompressed point: 0x04 || X || Y (SEC 1 section 2.3.3).
	point, err := pub.Bytes()
	if err != nil || len(point) != 65 {
		return JWK{}, fmt.Errorf("fakejwt: not a P-256 public key: %v", err)
	}
	return JWK{Kty: "EC", Alg: AlgES256, Use: "sig", Kid: kid, Crv: "P-256",
		X: b64.EncodeToString(point[1:33]),
		Y: b64.EncodeToString(point[33:])}, nil
}

// Key decodes an RSA or P-256 JWK.
func (k JWK) Key() (crypto.PublicKey, error) {
	switch k.Kty {
	case "RSA":
		return k.PublicKey()
	case "EC":
		if k.Crv != "P-256" {
			return nil, fmt.Errorf("fakejwt: JWK curve %q is not P-256", k.Crv)
		}
		x, errX := b64.DecodeString(k.X)
		y, errY := b64.DecodeString(k.Y)
		if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
			return nil, errors.New("fakejwt: JWK has a bad EC point")
		}
		// The parser validates the point: a JWK's must be checked before use.
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			return nil, errors.New("fakejwt: JWK point is not on P-256")
		}
		return pub, nil
	}
	return nil, fmt.Errorf("fakejwt: JWK kty %q is neither RSA nor EC", k.Kty)
}

// VerificationKeys decodes every RSA and P-256 key in the set, by kid.
func (s JWKS) VerificationKeys() (map[string]crypto.PublicKey, error) {
	out := make(map[string]crypto.PublicKey, len(s.Keys))
	for _, k := range s.Keys {
		pub, err := k.Key()
		if err != nil {
			return nil, fmt.Errorf("kid %q: %w", k.Kid, err)
		}
		out[k.Kid] = pub
	}
	return out, nil
}

// SignES256 returns a compact ES256 JWS over claims with kid in the header.
func SignES256(key *ecdsa.PrivateKey, kid string, claims any) (string, error) {
	h, err := json.Marshal(map[string]any{"alg": AlgES256, "typ": "JWT", "kid": kid})
	if err != nil {
		return "", err
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("fakejwt: encoding claims: %w", err)
	}
	input := b64.EncodeToString(h) + "." + b64.EncodeToString(c)
	sum := sha256.Sum256([]byte(input))
	r, sv, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		return "", fmt.Errorf("fakejwt: signing: %w", err)
	}
	sig := append(r.FillBytes(make([]byte, 32)), sv.FillBytes(make([]byte, 32))...)
	return input + "." + b64.EncodeToString(sig), nil
}

// VerifyKey checks t's signature under key, whose type must match the
// header's alg: RS256 with an RSA key, ES256 with a P-256 key. Anything
// else (alg none, HMAC, a mismatched key) fails.
func (t *Token) VerifyKey(key crypto.PublicKey) error {
	switch k := key.(type) {
	case *rsa.PublicKey:
		return t.Verify(k)
	case *ecdsa.PublicKey:
		if t.Alg() != AlgES256 {
			return fmt.Errorf("%w: %q with an EC key", ErrAlgorithm, t.Alg())
		}
		if len(t.Signature) != 64 {
			return ErrSignature
		}
		sum := sha256.Sum256([]byte(t.SigningInput))
		r, s := new(big.Int).SetBytes(t.Signature[:32]), new(big.Int).SetBytes(t.Signature[32:])
		if !ecdsa.Verify(k, sum[:], r, s) {
			return ErrSignature
		}
		return nil
	case nil:
		return fmt.Errorf("%w: no key", ErrSignature)
	}
	return fmt.Errorf("%w: key type %T", ErrAlgorithm, key)
}
