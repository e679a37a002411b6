package googleauth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pullsecret/pullsecret/internal/config"
)

// mintFromMetadata asks the GKE/GCE metadata server for the attached service
// account's token. It is a direct client rather than x/oauth2's
// ComputeTokenSource because that one only reads its host from the process
// environment, and metadata_endpoint must be settable per run.
func mintFromMetadata(ctx context.Context, cfg *config.Config, d Deps) (*Token, error) {
	base := cfg.MetadataEndpoint
	if h := d.Getenv("GCE_METADATA_HOST"); h != "" && base == config.DefaultMetadataEndpoint {
		base = "http://" + h
	}
	// A short timeout: off Google Cloud the host does not resolve or answer,
	// and the user needs the "no credentials" error quickly.
	probe := &http.Client{Transport: d.HTTPClient.Transport, Timeout: 5 * time.Second}
	email, err := metadataGet(ctx, probe, base+"/computeMetadata/v1/instance/service-accounts/default/email")
	if err != nil {
		return nil, fmt.Errorf("no Google credentials: set one of %s, %s or %s, or provide Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud auth application-default login, or the metadata server on GKE/GCE, which was not reachable at %s: %v)",
			config.InWorkloadIdentityProvider, config.InCredentialsJSON, config.InAccessToken, base, err)
	}
	q := url.Values{"scopes": {strings.Join(cfg.Scopes, ",")}}
	raw, err := metadataGet(ctx, d.HTTPClient, base+"/computeMetadata/v1/instance/service-accounts/default/token?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("failed to get a token from the metadata server: %w", err)
	}
	var body struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := json.Unmarshal([]byte(raw), &body); err != nil {
		return nil, fmt.Errorf("the metadata server returned malformed JSON")
	}
	d.Mask(body.AccessToken)
	return &Token{
		AccessToken: body.AccessToken,
		Expiry:      d.Now().Add(time.Duration(body.ExpiresIn) * time.Second).Truncate(time.Second),
		Principal:   strings.TrimSpace(email),
		Method:      "Application Default Credentials (metadata server)",
	}, nil
}

func metadataGet(ctx context.Context, hc *http.Client, u string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Metadata-Flavor", "Google")
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("HTTP %d from %s", resp.StatusCode, u)
	}
	// A real metadata server always says so; anything else (a captive
	// portal, a proxy) must not be trusted with our token request.
	if resp.Header.Get("Metadata-Flavor") != "Google" {
		return "", fmt.Errorf("%s is not a metadata server (no Metadata-Flavor header)", u)
	}
	return string(raw), nil
}
