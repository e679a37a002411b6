package config

import (
	"testing"

	"github.com/pullsecret/pullsecret/internal/testing/check"
)

// Every Google endpoint receives a credential (an OIDC token, a signed
// assertion, an access token): only https, except the metadata server
// (link-local, http by design) and loopback fakes.
func TestGoogleEndpointsMustBeHTTPS(t *testing.T) {
	t.Parallel()
	cases := []struct {
		input, value string
		ok           bool
	}{
		{
			input: InSTSEndpoint,
			value: "https://sts.example/v1/token",
			ok:    true,
		},
		{
			input: InSTSEndpoint,
			value: "http://127.0.0.1:8080/v1/token",
			ok:    true,
		},
		{
			input: InIAMCredentialsEndpoint,
			value: "http://localhost:9",
			ok:    true,
		},
		{
			input: InOAuthTokenEndpoint,
			value: "http://[::1]:9/token",
			ok:    true,
		},
		{
			input: InMetadataEndpoint,
			value: "http://169.254.169.254",
			ok:    true,
		},
		{
			input: InMetadataEndpoint,
			value: "http://metadata.internal.example",
			ok:    true,
		},
		{
			input: InSTSEndpoint,
			value: "http://sts.googleapis.com/v1/token",
		},
		{
			input: InIAMCredentialsEndpoint,
			value: "http://iamcredentials.googleapis.com",
		},
		{
			input: InOAuthTokenEndpoint,
			value: "http://10.0.0.5/token",
		},
		{
			input: InOAuthTokenEndpoint,
			value: "http://127.0.0.1.evil.example/token",
		},
		{
			input: InOAuthTokenEndpoint,
			value: "http://localhost.evil.example/token",
		},
	}
	for _, tc := range cases {
		t.Run(tc.input+" "+tc.value, func(t *testing.T) {
			t.Parallel()
			_, err := Load(check.Lookup(map[string]string{tc.input: tc.value}))
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted a plain-http Google endpoint that is not loopback")
			}
			if d := check.ErrDiff(err, `input "`+tc.input+`"`, "https"); d != "" {
				t.Error(d)
			}
		})
	}
}

// Test rigs that reach fakes through a container gateway opt in explicitly.
func TestAllowHTTPEndpointsOption(t *testing.T) {
	t.Parallel()
	in := check.Lookup(map[string]string{InOAuthTokenEndpoint: "http://172.17.0.1:8080/token"})
	if _, err := Load(in); err == nil {
		t.Fatal("http gateway endpoint accepted without the option")
	}
	if _, err := Load(in, AllowHTTPEndpoints(true)); err != nil {
		t.Fatalf("refused with the option: %v", err)
	}
}
