package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// googleClient asks the (fake) Google APIs whether a credential is genuine,
// the way GCR's token service does behind the scenes.
type googleClient struct {
	base string
	http *http.Client
}

func newGoogleClient(base string) *googleClient {
	return &googleClient{base: strings.TrimRight(base, "/"), http: &http.Client{Timeout: 15 * time.Second}}
}

// tokenInfo is what GET {google}/tokeninfo?access_token=… reports. Its
// email (present only for tokens with the userinfo.email scope, and never
// for federated tokens) is not used: who is behind a token is the fake
// Google's answer to checkPermission.
type tokenInfo struct {
	Scopes    []string
	ExpiresIn time.Duration
}

// errInvalidCredential means Google rejected the credential (as opposed to
// Google being unreachable, which is our problem, not the caller's).
var errInvalidCredential = errors.New("invalid credential")

func (g *googleClient) tokenInfo(ctx context.Context, accessToken string) (tokenInfo, error) {
	u := g.base + "/tokeninfo?access_token=" + url.QueryEscape(accessToken)
	body, status, err := g.get(ctx, u)
	if err != nil {
		return tokenInfo{}, err
	}
	if status != http.StatusOK {
		// Google answers 400 {"error":"invalid_token",…} for unknown, expired or revoked tokens.
		return tokenInfo{}, fmt.Errorf("%w: tokeninfo: %d %s", errInvalidCredential, status, strings.TrimSpace(string(body)))
	}
	var raw struct {
		Scope     string          `json:"scope"`
		ExpiresIn json.RawMessage `json:"expires_in"` // Google sends a string; accept a number too
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return tokenInfo{}, fmt.Errorf("tokeninfo: decoding %q: %w", body, err)
	}
	secs, err := strconv.Atoi(strings.Trim(string(raw.ExpiresIn), `"`))
	if err != nil {
		return tokenInfo{}, fmt.Errorf("tokeninfo: expires_in %s: %w", raw.ExpiresIn, err)
	}
	if secs <= 0 {
		return tokenInfo{}, fmt.Errorf("%w: tokeninfo: token expired", errInvalidCredential)
	}
	return tokenInfo{Scopes: strings.Fields(raw.Scope), ExpiresIn: time.Duration(secs) * time.Second}, nil
}

// iamIdentity names who an IAM check is for: the identity behind an access
// token, or a member ("serviceAccount:EMAIL") whose key was verified here.
type iamIdentity struct {
	accessToken string
	member      string
}

// checkPermission asks the fake Google whether who holds permission on
// resource, through its fake-only POST /fakegoogle/v1/checkPermission (the
// stand-in for the check Artifact Registry makes inside Google). principal
// is the IAM member Google resolved, e.g. serviceAccount:… or principal://….
func (g *googleClient) checkPermission(ctx context.Context, who iamIdentity, resource, permission string) (principal string, granted bool, err error) {
	body, err := json.Marshal(map[string]string{
		"accessToken": who.accessToken, "member": who.member, "resource": resource, "permission": permission,
	})
	if err != nil {
		return "", false, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.base+"/fakegoogle/v1/checkPermission", bytes.NewReader(body))
	if err != nil {
		return "", false, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := g.http.Do(req)
	if err != nil {
		return "", false, fmt.Errorf("asking google: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", false, fmt.Errorf("asking google: %w", err)
	}
	var ans struct {
		Principal string `json:"principal"`
		Granted   bool   `json:"granted"`
		Error     any    `json:"error"`
	}
	_ = json.Unmarshal(raw, &ans)
	switch {
	case resp.StatusCode == http.StatusBadRequest && ans.Error == "invalid_token":
		// Revoked or expired since tokeninfo said it was fine.
		return "", false, fmt.Errorf("%w: checkPermission: %s", errInvalidCredential, strings.TrimSpace(string(raw)))
	case resp.StatusCode != http.StatusOK:
		return "", false, fmt.Errorf("checkPermission %s on %s: %d %s", permission, resource, resp.StatusCode, strings.TrimSpace(string(raw)))
	}
	return ans.Principal, ans.Granted, nil
}

// serviceAccountKey is the subset of a JSON key file GCR looks at.
type serviceAccountKey struct {
	Type         string `json:"type"`
	ClientEmail  string `json:"client_email"`
	PrivateKeyID string `json:"private_key_id"`
	PrivateKey   string `json:"private_key"`
}

// verifyKey checks that a service-account key is one Google issued: the public
// certificate Google publishes for client_email under private_key_id must hold
// the public half of private_key.
func (g *googleClient) verifyKey(ctx context.Context, keyJSON []byte) (email string, err error) {
	var key serviceAccountKey
	if err := json.Unmarshal(keyJSON, &key); err != nil {
		return "", fmt.Errorf("%w: key is not JSON: %v", errInvalidCredential, err)
	}
	if key.Type != "service_account" || key.ClientEmail == "" || key.PrivateKeyID == "" || key.PrivateKey == "" {
		return "", fmt.Errorf("%w: not a service_account key (type %q, client_email %q)", errInvalidCredential, key.Type, key.ClientEmail)
	}
	signer, err := parsePrivateKey(key.PrivateKey)
	if err != nil {
		return "", fmt.Errorf("%w: private_key: %v", errInvalidCredential, err)
	}
	u := g.base + "/service_accounts/v1/metadata/x509/" + url.PathEscape(key.ClientEmail)
	body, status, err := g.get(ctx, u)
	if err != nil {
		return "", err
	}
	if status != http.StatusOK {
		return "", fmt.Errorf("%w: x509 metadata for %s: %d %s", errInvalidCredential, key.ClientEmail, status, strings.TrimSpace(string(body)))
	}
	var certs map[string]string
	if err := json.Unmarshal(body, &certs); err != nil {
		return "", fmt.Errorf("x509 metadata: decoding: %w", err)
	}
	certPEM, ok := certs[key.PrivateKeyID]
	if !ok {
		return "", fmt.Errorf("%w: key %s of %s is unknown or deleted", errInvalidCredential, key.PrivateKeyID, key.ClientEmail)
	}
	block, _ := pem.Decode([]byte(certPEM))
	if block == nil {
		return "", fmt.Errorf("x509 metadata: key %s: no PEM certificate", key.PrivateKeyID)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return "", fmt.Errorf("x509 metadata: key %s: %w", key.PrivateKeyID, err)
	}
	pub, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(signer.Public()) {
		return "", fmt.Errorf("%w: private_key does not match the certificate of key %s", errInvalidCredential, key.PrivateKeyID)
	}
	return key.ClientEmail, nil
}

func parsePrivateKey(p string) (crypto.Signer, error) {
	block, _ := pem.Decode([]byte(p))
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		switch k := k.(type) {
		case *rsa.PrivateKey:
			return k, nil
		case *ecdsa.PrivateKey:
			return k, nil
		}
		return nil, fmt.Errorf("unsupported key type %T", k)
	}
	return x509.ParsePKCS1PrivateKey(block.Bytes) // older PKCS#1 (RSA) PEM keys
}

func (g *googleClient) get(ctx context.Context, u string) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := g.http.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("asking google: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return body, resp.StatusCode, err
}
