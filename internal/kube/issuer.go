package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"k8s.io/client-go/rest"
)

// Issuer is a cluster's ServiceAccount token issuer, read from the API
// server's OIDC discovery endpoints.
type Issuer struct {
	URL string
	// JWKS is the document at /openid/v1/jwks, as served (compacted).
	JWKS []byte
}

// ReadIssuer reads the cluster's issuer URL and signing keys through rc (a
// Client's JSON(), or any REST client of the cluster). The API server
// serves both (ServiceAccountIssuerDiscovery, on by default since 1.21);
// the caller needs get on the nonResourceURLs
// /.well-known/openid-configuration and /openid/v1/jwks (bound for every
// ServiceAccount and cluster admins by default).
func ReadIssuer(ctx context.Context, rc rest.Interface) (*Issuer, error) {
	raw, err := rc.Get().AbsPath("/.well-known/openid-configuration").Do(ctx).Raw()
	if err != nil {
		return nil, fmt.Errorf("failed to read the cluster's OIDC discovery document (/.well-known/openid-configuration): %w", err)
	}
	var doc struct {
		Issuer string `json:"issuer"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil || doc.Issuer == "" {
		return nil, fmt.Errorf("the cluster's OIDC discovery document names no issuer")
	}
	// The API server serves the keys as application/jwk-set+json and
	// answers 406 to a client that accepts application/json only (the
	// JSON client does).
	keys, err := rc.Get().AbsPath("/openid/v1/jwks").SetHeader("Accept", "application/jwk-set+json, application/json").Do(ctx).Raw()
	if err != nil {
		return nil, fmt.Errorf("failed to read the cluster's signing keys (/openid/v1/jwks): %w", err)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(keys, &set); err != nil || len(set.Keys) == 0 {
		return nil, fmt.Errorf("the cluster's /openid/v1/jwks holds no key")
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, keys); err != nil {
		return nil, fmt.Errorf("the cluster's /openid/v1/jwks is not JSON: %w", err)
	}
	return &Issuer{URL: doc.Issuer, JWKS: compact.Bytes()}, nil
}
