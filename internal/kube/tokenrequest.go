package kube

import (
	"context"
	"encoding/json"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ServiceAccountToken requests a token of ServiceAccount namespace/name
// for audience (the TokenRequest API, what kubelet does for a projected
// volume), valid for expiration. It returns the token and its expiry. The
// error is the API server's.
func (c *Client) ServiceAccountToken(ctx context.Context, namespace, name, audience string, expiration time.Duration) (string, time.Time, error) {
	secs := int64(expiration / time.Second)
	tr := &authenticationv1.TokenRequest{
		TypeMeta: metav1.TypeMeta{APIVersion: "authentication.k8s.io/v1", Kind: "TokenRequest"},
		Spec:     authenticationv1.TokenRequestSpec{Audiences: []string{audience}, ExpirationSeconds: &secs},
	}
	body, err := json.Marshal(tr)
	if err != nil {
		return "", time.Time{}, err
	}
	raw, err := c.json.Post().AbsPath("/api/v1/namespaces/"+namespace+"/serviceaccounts/"+name+"/token").
		SetHeader("Content-Type", "application/json").Body(body).Do(ctx).Raw()
	if err != nil {
		return "", time.Time{}, err
	}
	var out authenticationv1.TokenRequest
	if err := json.Unmarshal(raw, &out); err != nil {
		return "", time.Time{}, err
	}
	return out.Status.Token, out.Status.ExpirationTimestamp.Time, nil
}
