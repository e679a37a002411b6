package googleauth

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// iamClient calls IAM Credentials generateAccessToken. x/oauth2 does this
// internally for federation but exposes no client for a key to impersonate
// itself, so this is the one Google endpoint we speak to by hand.
type iamClient struct {
	base string
	http *http.Client
}

type generatedToken struct {
	AccessToken string
	Expiry      time.Time
}

func (c *iamClient) generateAccessToken(ctx context.Context, bearer, email string, scopes []string, lifetime time.Duration) (*generatedToken, error) {
	body, err := json.Marshal(map[string]any{
		"scope":    scopes,
		"lifetime": fmt.Sprintf("%ds", int(lifetime.Seconds())),
	})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, impersonationURL(c.base, email), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("IAM Credentials request failed: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, googleAPIError(resp.StatusCode, raw)
	}
	var out struct {
		AccessToken string `json:"accessToken"`
		ExpireTime  string `json:"expireTime"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("IAM Credentials returned malformed JSON")
	}
	exp, err := time.Parse(time.RFC3339, out.ExpireTime)
	if err != nil {
		return nil, fmt.Errorf("IAM Credentials returned a malformed expireTime %q", out.ExpireTime)
	}
	return &generatedToken{AccessToken: out.AccessToken, Expiry: exp}, nil
}

// googleAPIError reports Google's error envelope ({"error":{"code","message",
// "status"}}) without echoing anything else from the body.
func googleAPIError(status int, raw []byte) error {
	var env struct {
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Status  string `json:"status"`
		} `json:"error"`
	}
	if json.Unmarshal(raw, &env) == nil && env.Error.Message != "" {
		return fmt.Errorf("HTTP %d %s: %s", status, env.Error.Status, env.Error.Message)
	}
	return fmt.Errorf("HTTP %d", status)
}
