package googleauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// roleTokenCreator is what an account needs on itself to mint its own
// tokens through IAM Credentials.
const roleTokenCreator = "roles/iam.serviceAccountTokenCreator"

// iamClient calls IAM Credentials generateAccessToken. x/oauth2 does this
// internally for federation but exposes no client for an account to
// impersonate itself, so this is the one Google endpoint we speak to by hand.
type iamClient struct {
	base string
	http *http.Client
}

type generatedToken struct {
	AccessToken string
	Expiry      time.Time
}

func (c *iamClient) generateAccessToken(ctx context.Context, bearer, email string, scopes []string, lifetime time.Duration) (*generatedToken, error) {
	return c.generateAt(ctx, impersonationURL(c.base, email), bearer, scopes, lifetime, nil)
}

// generateAt posts to a full generateAccessToken URL (as written in an
// impersonated_service_account file).
func (c *iamClient) generateAt(ctx context.Context, u, bearer string, scopes []string, lifetime time.Duration, delegates []string) (*generatedToken, error) {
	req := map[string]any{
		"scope":    scopes,
		"lifetime": fmt.Sprintf("%ds", int(lifetime.Seconds())),
	}
	if len(delegates) > 0 {
		req["delegates"] = delegates
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := c.http.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("IAM Credentials request failed: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("failed to read the IAM Credentials answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, googleError(resp.StatusCode, raw)
	}
	var out struct {
		AccessToken string `json:"accessToken"`
		ExpireTime  string `json:"expireTime"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, errors.New("IAM Credentials returned malformed JSON")
	}
	exp, err := time.Parse(time.RFC3339, out.ExpireTime)
	if err != nil {
		return nil, fmt.Errorf("IAM Credentials returned a malformed expireTime %q", out.ExpireTime)
	}
	return &generatedToken{AccessToken: out.AccessToken, Expiry: exp}, nil
}

// apiError is an error answer from a Google endpoint, reduced to what is
// safe to print: the status, and Google's own code, message and reason.
type apiError struct {
	HTTPStatus int
	Status     string // google.rpc.Code name, or the OAuth "error" code
	Message    string
	Reason     string // google.rpc.ErrorInfo reason, if any
	// Service and Consumer are the ErrorInfo's metadata of a
	// SERVICE_DISABLED refusal: the API and "projects/N" without it.
	Service, Consumer string
}

func (e *apiError) Error() string {
	s := fmt.Sprintf("HTTP %d", e.HTTPStatus)
	if e.Status != "" {
		s += " " + e.Status
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// denied reports a 403: the caller lacks a permission or a scope.
func (e *apiError) denied() bool { return e.HTTPStatus == http.StatusForbidden }

// googleError parses Google's two error shapes — {"error":{"code",
// "message","status","details"}} of its REST APIs and RFC 6749's
// {"error","error_description"} of its OAuth endpoints — without echoing
// anything else from the body.
func googleError(status int, raw []byte) *apiError {
	e := &apiError{HTTPStatus: status}
	var rpc struct {
		Error struct {
			Message string `json:"message"`
			Status  string `json:"status"`
			Details []struct {
				Reason   string            `json:"reason"`
				Metadata map[string]string `json:"metadata"`
			} `json:"details"`
		} `json:"error"`
	}
	if json.Unmarshal(raw, &rpc) == nil && rpc.Error.Message != "" {
		e.Status, e.Message = rpc.Error.Status, rpc.Error.Message
		for _, d := range rpc.Error.Details {
			if d.Reason != "" {
				e.Reason = d.Reason
				e.Service = d.Metadata["service"]
				e.Consumer = strings.TrimPrefix(d.Metadata["consumer"], "projects/")
			}
		}
		return e
	}
	var oauth struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(raw, &oauth) == nil && oauth.Error != "" {
		e.Status, e.Message = oauth.Error, oauth.Description
		return e
	}
	e.Status = http.StatusText(status)
	return e
}

// tokenCreatorHint is what to grant when an account may not mint its own
// tokens.
func tokenCreatorHint(email string) string {
	return fmt.Sprintf("grant %s %s on itself (gcloud iam service-accounts add-iam-policy-binding %s --member=serviceAccount:%s --role=%s); %s",
		email, roleTokenCreator, email, email, roleTokenCreator, propagationHint)
}
