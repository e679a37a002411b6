package fakejwt

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// AlgRS256 is the only JWS algorithm the fakes issue or accept; GitHub's OIDC
// issuer and Google's service-account keys both use it.
const AlgRS256 = "RS256"

var (
	// ErrMalformed reports a token that is not three base64url segments of
	// JSON objects.
	ErrMalformed = errors.New("fakejwt: malformed JWT")
	// ErrAlgorithm reports a header alg other than RS256. Checking it stops
	// "alg":"none" and HMAC-confusion tokens from being treated as signed.
	ErrAlgorithm = errors.New("fakejwt: unsupported JWS algorithm")
	// ErrSignature reports an RS256 signature that does not verify.
	ErrSignature = errors.New("fakejwt: invalid JWT signature")
)

var b64 = base64.RawURLEncoding

// Token is a JWT split into its parts. Header and Claims are decoded with
// json.Decoder.UseNumber so that numeric dates survive exactly; read them with
// Int64 rather than asserting float64.
type Token struct {
	Header    map[string]any
	Claims    map[string]any
	Signature []byte
	// SigningInput is "base64url(header).base64url(payload)", the bytes the
	// signature covers.
	SigningInput string
}

// KeyID returns the "kid" header parameter, or "".
func (t *Token) KeyID() string { s, _ := String(t.Header, "kid"); return s }

// Alg returns the "alg" header parameter, or "".
func (t *Token) Alg() string { s, _ := String(t.Header, "alg"); return s }

// Sign returns a compact RS256 JWS over claims (anything encoding/json can
// marshal to an object). The header is {"alg":"RS256","typ":"JWT"} plus "kid"
// when kid is non-empty, which is what both GitHub and Google clients send.
func Sign(key *rsa.PrivateKey, kid string, claims any) (string, error) {
	header := map[string]any{"alg": AlgRS256, "typ": "JWT"}
	if kid != "" {
		header["kid"] = kid
	}
	return SignWithHeader(key, header, claims)
}

// SignWithHeader is Sign with a caller-chosen header, for building tokens a
// verifier must reject (wrong alg, missing kid, and so on). The signature is
// always RS256 whatever the header claims.
func SignWithHeader(key *rsa.PrivateKey, header map[string]any, claims any) (string, error) {
	if key == nil {
		return "", errors.New("fakejwt: nil signing key")
	}
	h, err := json.Marshal(header)
	if err != nil {
		return "", fmt.Errorf("fakejwt: encoding header: %w", err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("fakejwt: encoding claims: %w", err)
	}
	input := b64.EncodeToString(h) + "." + b64.EncodeToString(c)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("fakejwt: signing: %w", err)
	}
	return input + "." + b64.EncodeToString(sig), nil
}

// Parse splits and decodes a compact JWS without verifying it. Verifiers need
// this first step to choose a key by "kid" or "iss" before checking the
// signature; never trust the result without calling Verify.
func Parse(token string) (*Token, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: want 3 segments, got %d", ErrMalformed, len(parts))
	}
	header, err := decodeSegment(parts[0])
	if err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	claims, err := decodeSegment(parts[1])
	if err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return nil, fmt.Errorf("%w: signature: %v", ErrMalformed, err)
	}
	return &Token{Header: header, Claims: claims, Signature: sig, SigningInput: parts[0] + "." + parts[1]}, nil
}

func decodeSegment(seg string) (map[string]any, error) {
	raw, err := b64.DecodeString(seg)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("not a JSON object")
	}
	if dec.More() {
		return nil, errors.New("trailing data after JSON object")
	}
	return m, nil
}

// Verify checks that t is RS256 and that its signature verifies under key.
// It does not look at any claim; time and audience checks are the caller's,
// because GitHub and Google apply different rules and error messages.
func (t *Token) Verify(key *rsa.PublicKey) error {
	if t.Alg() != AlgRS256 {
		return fmt.Errorf("%w: %q", ErrAlgorithm, t.Alg())
	}
	if key == nil {
		return fmt.Errorf("%w: no key", ErrSignature)
	}
	sum := sha256.Sum256([]byte(t.SigningInput))
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], t.Signature); err != nil {
		return ErrSignature
	}
	return nil
}

// VerifyRS256 parses token and verifies its RS256 signature under key,
// returning the decoded header and claims.
func VerifyRS256(token string, key *rsa.PublicKey) (header, claims map[string]any, err error) {
	t, err := Parse(token)
	if err != nil {
		return nil, nil, err
	}
	if err := t.Verify(key); err != nil {
		return nil, nil, err
	}
	return t.Header, t.Claims, nil
}

// NewKey generates an RSA-2048 key, the size GitHub and Google use for the
// keys the fakes stand in for.
func NewKey() (*rsa.PrivateKey, error) {
	return rsa.GenerateKey(rand.Reader, 2048)
}
