package googleauth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// checkAccessToken validates a caller-supplied token at tokeninfo, so a dead
// token fails here instead of as ErrImagePull in the deploy, and so the
// report can tell when the secret stops working.
func checkAccessToken(ctx context.Context, in *Input, d Deps) (*Token, error) {
	d.Mask(in.AccessToken)
	tok := &Token{AccessToken: in.AccessToken, Method: "access token from input"}
	info, err := tokenInfo(ctx, d.HTTPClient, tokenInfoURL(in.OAuthTokenEndpoint), in.AccessToken)
	if err != nil {
		if _, invalid := err.(*invalidTokenError); invalid {
			return nil, inputErrorf(FieldAccessToken, "Google rejected the token (expired, revoked or malformed); mint a fresh one in the step before")
		}
		tok.Warnings = append(tok.Warnings, fmt.Sprintf("could not check the access token at tokeninfo (%v); its expiry is unknown", err))
		tok.Principal = in.ServiceAccount
		if tok.Principal == "" {
			tok.Principal = tokenInfoFailedPrincipal
		}
		return tok, nil
	}
	if info.ExpiresIn > 0 {
		tok.Expiry = d.Now().Add(time.Duration(info.ExpiresIn) * time.Second).Truncate(time.Second)
	}
	tok.Principal, tok.Scopes = info.Email, strings.Fields(info.Scope)
	if tok.Principal == "" {
		tok.Principal = unknownPrincipal
		if in.ServiceAccount != "" {
			tok.Principal = in.ServiceAccount
		} else if info.UniqueID != "" {
			tok.Principal = fmt.Sprintf("%s; unique ID %s", unknownPrincipal, info.UniqueID)
		}
	}
	if info.ExpiresIn > 0 && info.ExpiresIn < 600 {
		tok.Warnings = append(tok.Warnings, fmt.Sprintf("the access token expires in %ds: pods pulling after that will fail", info.ExpiresIn))
	}
	return tok, nil
}

// tokenInfoURL derives tokeninfo from the token endpoint: Google serves both
// from the same host (oauth2.googleapis.com/token and /tokeninfo).
func tokenInfoURL(tokenEndpoint string) string {
	u, err := url.Parse(tokenEndpoint)
	if err != nil {
		return tokenEndpoint
	}
	u.Path = strings.TrimSuffix(u.Path, "/token") + "/tokeninfo"
	u.RawQuery = ""
	return u.String()
}

// tokenInfoResponse is what tokeninfo tells about a token. Email is only
// there when the token carries the userinfo.email scope; UniqueID (azp, the
// service account's or OAuth client's numeric id) always is.
type tokenInfoResponse struct {
	Email     string
	UniqueID  string
	Scope     string
	ExpiresIn int64
}

type invalidTokenError struct{}

func (*invalidTokenError) Error() string { return "invalid token" }

func tokenInfo(ctx context.Context, hc *http.Client, endpoint, token string) (*tokenInfoResponse, error) {
	// POST keeps the token out of URLs (and so out of any proxy's access log).
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(url.Values{"access_token": {token}}.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("tokeninfo request failed: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("failed to read the tokeninfo answer: %w", err)
	}
	if resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnauthorized {
		return nil, &invalidTokenError{}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("tokeninfo answered %w", googleError(resp.StatusCode, raw))
	}
	var body struct {
		Email string `json:"email"`
		AZP   string `json:"azp"`
		Scope string `json:"scope"`
		// Google sends numbers as strings here; accept both.
		ExpiresIn json.RawMessage `json:"expires_in"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, fmt.Errorf("tokeninfo returned malformed JSON")
	}
	n, _ := strconv.ParseInt(strings.Trim(string(body.ExpiresIn), `"`), 10, 64)
	return &tokenInfoResponse{Email: body.Email, UniqueID: body.AZP, Scope: body.Scope, ExpiresIn: n}, nil
}
