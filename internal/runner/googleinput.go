package runner

import (
	"errors"
	"fmt"

	"github.com/pullsecret/pullsecret/internal/config"
	"github.com/pullsecret/pullsecret/internal/googleauth"
)

// googleInputNames spell googleauth's fields as the action's inputs.
var googleInputNames = map[googleauth.Field]string{
	googleauth.FieldWorkloadIdentityProvider: config.InWorkloadIdentityProvider,
	googleauth.FieldServiceAccount:           config.InServiceAccount,
	googleauth.FieldKey:                      config.InCredentialsJSON,
	googleauth.FieldAccessToken:              config.InAccessToken,
	googleauth.FieldTokenLifetime:            config.InTokenLifetime,
	googleauth.FieldScopes:                   config.InScopes,
	googleauth.FieldSTSEndpoint:              config.InSTSEndpoint,
	googleauth.FieldIAMCredentialsEndpoint:   config.InIAMCredentialsEndpoint,
	googleauth.FieldOAuthTokenEndpoint:       config.InOAuthTokenEndpoint,
	googleauth.FieldOIDCTokenFile:            config.InOIDCTokenFile,
	googleauth.FieldOIDCTokenEnv:             config.InOIDCTokenEnv,
}

// googleInput is the part of cfg googleauth needs.
func googleInput(cfg *config.Config) googleauth.Input {
	in := googleauth.Input{
		WorkloadIdentityProvider: cfg.WorkloadIdentityProvider,
		ServiceAccount:           cfg.ServiceAccount,
		Audience:                 cfg.Audience,
		SubjectTokenFile:         cfg.OIDCTokenFile,
		SubjectTokenEnv:          cfg.OIDCTokenEnv,
		Key:                      cfg.CredentialsJSON,
		StoreKey:                 cfg.CredentialMode == config.CredentialJSONKey,
		AccessToken:              cfg.AccessToken,
		TokenLifetime:            cfg.TokenLifetime,
		Scopes:                   cfg.Scopes,
		STSEndpoint:              cfg.STSEndpoint,
		IAMCredentialsEndpoint:   cfg.IAMCredentialsEndpoint,
		OAuthTokenEndpoint:       cfg.OAuthTokenEndpoint,
		MetadataEndpoint:         cfg.MetadataEndpoint,
		AllowHTTP:                cfg.AllowHTTPEndpoints,
		Names:                    googleInputNames,
	}
	switch cfg.CredentialSource() {
	case config.InWorkloadIdentityProvider:
		in.Source = googleauth.SourceWorkloadIdentity
	case config.InCredentialsJSON:
		in.Source = googleauth.SourceKey
	case config.InAccessToken:
		in.Source = googleauth.SourceAccessToken
	default:
		in.Source = googleauth.SourceADC
	}
	return in
}

// googleError names the input a googleauth error is about.
func googleError(err error) error {
	var ie *googleauth.InputError
	if errors.As(err, &ie) {
		return fmt.Errorf("failed to get Google credentials: input %q: %w", googleInputNames[ie.Field], err)
	}
	return fmt.Errorf("failed to get Google credentials: %w", err)
}
