package fakejwt

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Key generation dominates test time on small machines, so the tests share
// two keys.
var (
	keysOnce sync.Once
	keyA     *rsa.PrivateKey
	keyB     *rsa.PrivateKey
)

func testKeys(t *testing.T) (*rsa.PrivateKey, *rsa.PrivateKey) {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		if keyA, err = NewKey(); err != nil {
			panic(err)
		}
		if keyB, err = NewKey(); err != nil {
			panic(err)
		}
	})
	return keyA, keyB
}

func TestSignVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	a, _ := testKeys(t)
	claims := map[string]any{"iss": "me", "exp": int64(1700000000), "aud": []string{"x", "y"}}
	tok, err := Sign(a, "kid-1", claims)
	if err != nil {
		t.Fatal(err)
	}
	header, got, err := VerifyRS256(tok, &a.PublicKey)
	if err != nil {
		t.Fatalf("VerifyRS256: %v", err)
	}
	wantHeader := map[string]any{"alg": "RS256", "typ": "JWT", "kid": "kid-1"}
	if diff := cmp.Diff(wantHeader, header); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
	if exp, ok := Int64(got, "exp"); !ok || exp != 1700000000 {
		t.Errorf("exp = %v, %v; want 1700000000", exp, ok)
	}
	if diff := cmp.Diff([]string{"x", "y"}, Audiences(got)); diff != "" {
		t.Errorf("aud (-want +got):\n%s", diff)
	}
}

func TestVerifyRejects(t *testing.T) {
	t.Parallel()
	a, b := testKeys(t)
	good, err := Sign(a, "k", map[string]any{"sub": "alice"})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")
	forgedPayload := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"mallory"}`))
	noneHeader := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	hsToken, err := SignWithHeader(a, map[string]any{"alg": "HS256"}, map[string]any{"sub": "alice"})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		token string
		key   *rsa.PublicKey
		want  error
	}{
		{
			name:  "wrong key",
			token: good,
			key:   &b.PublicKey,
			want:  ErrSignature,
		},
		{
			name:  "payload swapped",
			token: parts[0] + "." + forgedPayload + "." + parts[2],
			key:   &a.PublicKey,
			want:  ErrSignature,
		},
		{
			name:  "signature stripped",
			token: parts[0] + "." + parts[1] + ".",
			key:   &a.PublicKey,
			want:  ErrSignature,
		},
		{
			name:  "alg none",
			token: noneHeader + "." + parts[1] + ".",
			key:   &a.PublicKey,
			want:  ErrAlgorithm,
		},
		{
			name:  "alg HS256",
			token: hsToken,
			key:   &a.PublicKey,
			want:  ErrAlgorithm,
		},
		{
			name:  "two segments",
			token: parts[0] + "." + parts[1],
			key:   &a.PublicKey,
			want:  ErrMalformed,
		},
		{
			name:  "not base64",
			token: "!!." + parts[1] + "." + parts[2],
			key:   &a.PublicKey,
			want:  ErrMalformed,
		},
		{
			name:  "payload not object",
			token: parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`[1]`)) + "." + parts[2],
			key:   &a.PublicKey,
			want:  ErrMalformed,
		},
		{
			name:  "nil key",
			token: good,
			want:  ErrSignature,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := VerifyRS256(tc.token, tc.key)
			if !errors.Is(err, tc.want) {
				t.Fatalf("VerifyRS256 error = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestJWKRoundTrip(t *testing.T) {
	t.Parallel()
	a, b := testKeys(t)
	set := JWKS{Keys: []JWK{NewJWK("a", &a.PublicKey), NewJWK("b", &b.PublicKey), {Kty: "EC", Kid: "ec"}}}
	raw, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := ParseJWKS(raw)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := parsed.PublicKeys()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 {
		t.Fatalf("got %d RSA keys, want 2 (EC key skipped)", len(keys))
	}
	if !keys["a"].Equal(&a.PublicKey) || !keys["b"].Equal(&b.PublicKey) {
		t.Fatal("decoded keys differ from the originals")
	}
	// e=65537 must encode as the 3-byte "AQAB", not a padded 4- or 8-byte form.
	if got := set.Keys[0].E; got != "AQAB" {
		t.Errorf("e = %q, want AQAB", got)
	}
	tok, err := Sign(a, "a", map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := VerifyRS256(tok, keys["a"]); err != nil {
		t.Errorf("token does not verify under the JWKS key: %v", err)
	}
}

func TestThumbprint(t *testing.T) {
	t.Parallel()
	// RFC 7638 section 3.1's worked example: the published key and its
	// published thumbprint.
	n, err := base64.RawURLEncoding.DecodeString("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
	if err != nil {
		t.Fatal(err)
	}
	rfc := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537}
	if got, want := Thumbprint(rfc), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; got != want {
		t.Errorf("Thumbprint(RFC 7638 example) = %q, want %q", got, want)
	}
	a, b := testKeys(t)
	// A copy of the key, not the same pointer: the thumbprint depends on
	// the key's value only.
	if Thumbprint(&a.PublicKey) != Thumbprint(&rsa.PublicKey{N: new(big.Int).Set(a.N), E: a.E}) {
		t.Error("thumbprint is not stable")
	}
	if Thumbprint(&a.PublicKey) == Thumbprint(&b.PublicKey) {
		t.Error("different keys share a thumbprint")
	}
	if got := len(Thumbprint(&a.PublicKey)); got != 43 {
		t.Errorf("thumbprint length = %d, want 43 (base64url SHA-256)", got)
	}
}

func TestClaimAccessors(t *testing.T) {
	t.Parallel()
	tok, err := Parse(mustSign(t, map[string]any{"n": 1700000000, "f": 1.5, "s": "x", "aud": "one"}))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tok.Claims["n"].(json.Number); !ok {
		t.Fatalf("numbers decode as %T, want json.Number", tok.Claims["n"])
	}
	if got, ok := Time(tok.Claims, "n"); !ok || !got.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("Time(n) = %v, %v", got, ok)
	}
	if _, ok := Int64(tok.Claims, "f"); ok {
		t.Error("Int64 accepted a fractional number")
	}
	if _, ok := Int64(tok.Claims, "s"); ok {
		t.Error("Int64 accepted a string")
	}
	if s, ok := String(tok.Claims, "s"); !ok || s != "x" {
		t.Errorf("String(s) = %q, %v", s, ok)
	}
	if diff := cmp.Diff([]string{"one"}, Audiences(tok.Claims)); diff != "" {
		t.Errorf("Audiences (-want +got):\n%s", diff)
	}
	if Audiences(map[string]any{}) != nil {
		t.Error("Audiences of a token without aud should be nil")
	}
}

func mustSign(t *testing.T, claims map[string]any) string {
	t.Helper()
	a, _ := testKeys(t)
	tok, err := Sign(a, "", claims)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
