package googleauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// metadataProbeTimeout: off Google Cloud the metadata host does not resolve
// or answer, and the user needs the "no credentials" error quickly.
const metadataProbeTimeout = 5 * time.Second

// mintFromMetadata uses the GKE/GCE metadata server's token for the attached
// service account only to authenticate one IAM Credentials
// generateAccessToken call for that same account. The metadata server hands
// out a cached token that may have only minutes left (GCE refreshes it 5
// minutes before expiry) and ignores any requested scopes; the minted token
// has exactly token_lifetime and scopes, so expires_at is real and means
// what the user asked for. This needs roles/iam.serviceAccountTokenCreator
// of the account on itself, and (on GCE) the cloud-platform access scope.
//
// It is a direct client rather than x/oauth2's ComputeTokenSource because
// that one only reads its host from the process environment, and
// metadata_endpoint must be settable per run.
func mintFromMetadata(ctx context.Context, in *Input, d Deps) (*Token, error) {
	base := in.MetadataEndpoint
	if h := d.Getenv("GCE_METADATA_HOST"); h != "" && base == DefaultMetadataEndpoint {
		base = "http://" + h
	}
	timeout := d.HTTPClient.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	probe := metadataClient(min(timeout, metadataProbeTimeout))
	email, err := metadataGet(ctx, probe, base+"/computeMetadata/v1/instance/service-accounts/default/email")
	if err != nil {
		var he *metadataHTTPError
		if errors.As(err, &he) {
			if he.status == http.StatusNotFound {
				return nil, fmt.Errorf("the metadata server at %s has no service account for this instance or pod: attach one (GKE: Workload Identity bound to a Google service account), or set %s, %s or %s", base, in.name(FieldWorkloadIdentityProvider), in.name(FieldKey), in.name(FieldAccessToken))
			}
			return nil, fmt.Errorf("the metadata server at %s refused the service account's email: %w", base, err)
		}
		return nil, fmt.Errorf("no Google credentials: set %s, %s, %s or GOOGLE_APPLICATION_CREDENTIALS (see docs/TROUBLESHOOTING.md#no-google-credentials); no metadata server at %s: %v",
			in.name(FieldWorkloadIdentityProvider), in.name(FieldKey), in.name(FieldAccessToken), base, err)
	}
	email = strings.TrimSpace(email)
	// No ?scopes=: GCE ignores it and the token only authenticates the
	// IAM Credentials call below.
	raw, err := metadataGet(ctx, metadataClient(timeout), base+"/computeMetadata/v1/instance/service-accounts/default/token")
	if err != nil {
		return nil, fmt.Errorf("failed to get the token of %s from the metadata server: %w", email, err)
	}
	var body struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := json.Unmarshal([]byte(raw), &body); err != nil || body.AccessToken == "" {
		return nil, errors.New("the metadata server returned malformed JSON for the token")
	}
	d.Mask(body.AccessToken)
	if pool, ok := gkeWorkloadPool(email); ok {
		return gkeFederatedToken(ctx, in, d, pool, body.AccessToken, body.ExpiresIn), nil
	}

	iam := &iamClient{base: in.IAMCredentialsEndpoint, http: d.HTTPClient}
	it, err := iam.generateAccessToken(ctx, body.AccessToken, email, in.Scopes, in.TokenLifetime)
	if err != nil {
		if sd := asServiceDisabled(err); sd != nil {
			// Enabling the API fixes it, not a grant.
			return nil, fmt.Errorf("failed to mint a %s token for %s through IAM Credentials: %w", in.TokenLifetime, email, sd)
		}
		var ae *apiError
		if errors.As(err, &ae) && ae.denied() {
			hint := tokenCreatorHint(email)
			if ae.Reason == "ACCESS_TOKEN_SCOPE_INSUFFICIENT" {
				hint = "give the instance (or node pool) the cloud-platform access scope, and " + hint
			}
			return nil, fmt.Errorf("IAM Credentials denied a %s token for %s, minted from the metadata server's token (see docs/TROUBLESHOOTING.md#metadata-server-token-creator): %s: %w",
				in.TokenLifetime, email, hint, err)
		}
		return nil, fmt.Errorf("failed to mint a %s token for %s through IAM Credentials: %w", in.TokenLifetime, email, err)
	}
	d.Mask(it.AccessToken)
	return &Token{
		AccessToken: it.AccessToken,
		Expiry:      it.Expiry,
		Principal:   email,
		Method:      "Application Default Credentials (metadata server, then IAM Credentials for token_lifetime)",
		Scopes:      in.Scopes,
	}, nil
}

// metadataClient never uses a proxy: HTTP(S)_PROXY must not see the
// instance's token, and the metadata server is link-local (a proxy cannot
// reach it, and the server refuses forwarded requests anyway).
func metadataClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &retryTransport{base: &http.Transport{
			Proxy:                 nil,
			DialContext:           (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
			ResponseHeaderTimeout: timeout,
			MaxIdleConnsPerHost:   2,
		}},
	}
}

// metadataHTTPError is a metadata server's non-200 answer; its body is
// short plain text.
type metadataHTTPError struct {
	status  int
	message string
}

func (e *metadataHTTPError) Error() string {
	if e.message == "" {
		return fmt.Sprintf("HTTP %d %s", e.status, http.StatusText(e.status))
	}
	return fmt.Sprintf("HTTP %d: %s", e.status, e.message)
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
	// A real metadata server always says so; anything else (a captive
	// portal, a proxy) must not be trusted with our token request.
	if resp.Header.Get("Metadata-Flavor") != "Google" {
		return "", fmt.Errorf("%s is not a metadata server (no Metadata-Flavor header, HTTP %d)", u, resp.StatusCode)
	}
	if resp.StatusCode != http.StatusOK {
		e := &metadataHTTPError{status: resp.StatusCode}
		if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
			e.message = oneLine(string(raw), 600)
		}
		return "", e
	}
	return string(raw), nil
}

// oneLine joins a plain-text message's lines: GKE's metadata server
// explains over several lines and puts the way out in the last ones, so
// none is dropped. Past limit, the middle goes, never the end.
func oneLine(s string, limit int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > limit {
		s = strings.ToValidUTF8(s[:limit/2]+" … "+s[len(s)-limit/2:], "")
	}
	return s
}
