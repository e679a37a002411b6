package googleauth

import (
	"fmt"
	"time"
)

// Source is the credential a run mints from.
type Source int

const (
	// SourceADC follows Application Default Credentials.
	SourceADC Source = iota
	// SourceWorkloadIdentity exchanges the GitHub OIDC token at STS.
	SourceWorkloadIdentity
	// SourceKey signs with a service-account key.
	SourceKey
	// SourceAccessToken checks a token minted elsewhere.
	SourceAccessToken
)

// Input is everything Mint needs, and nothing else: the caller turns its
// own configuration (action inputs, CLI flags) into one, as kube's
// ClientOptions. Values are already validated by the caller.
type Input struct {
	Source Source

	WorkloadIdentityProvider string
	// ServiceAccount is impersonated after federation; with an access
	// token it only names the principal for the report.
	ServiceAccount string
	// Audience is the OIDC audience GitHub is asked for.
	Audience string
	// SubjectTokenFile or SubjectTokenEnv (a file's path, an environment
	// variable's name) hold another CI's OIDC ID token, exchanged instead
	// of GitHub's.
	SubjectTokenFile string
	SubjectTokenEnv  string
	// Key is a service-account key's JSON; StoreKey means the secret will
	// hold the key itself (credential_mode json_key).
	Key         []byte
	StoreKey    bool
	AccessToken string

	TokenLifetime time.Duration
	Scopes        []string

	STSEndpoint            string
	IAMCredentialsEndpoint string
	OAuthTokenEndpoint     string
	MetadataEndpoint       string
	// AllowHTTP lets plain-http endpoints off loopback through (test rigs
	// reaching fakes through a container gateway; never an input).
	AllowHTTP bool

	// Names are how the caller's users spell each field (an action
	// input, a flag), for hints such as "set workload_identity_provider".
	// A missing name is printed as the Field itself.
	Names map[Field]string
}

// Default endpoints, as Google publishes them.
const (
	DefaultOAuthTokenEndpoint = "https://oauth2.googleapis.com/token"
	DefaultMetadataEndpoint   = "http://metadata.google.internal"
)

// Field identifies one Input field in errors and hints.
type Field string

// The fields errors and hints can name.
const (
	FieldWorkloadIdentityProvider Field = "WorkloadIdentityProvider"
	FieldServiceAccount           Field = "ServiceAccount"
	FieldKey                      Field = "Key"
	FieldAccessToken              Field = "AccessToken"
	FieldTokenLifetime            Field = "TokenLifetime"
	FieldScopes                   Field = "Scopes"
	FieldSTSEndpoint              Field = "STSEndpoint"
	FieldIAMCredentialsEndpoint   Field = "IAMCredentialsEndpoint"
	FieldOAuthTokenEndpoint       Field = "OAuthTokenEndpoint"
	FieldOIDCTokenFile            Field = "SubjectTokenFile"
	FieldOIDCTokenEnv             Field = "SubjectTokenEnv"
)

// Fields lists every Field, so a caller can check it names them all.
var Fields = []Field{FieldWorkloadIdentityProvider, FieldServiceAccount, FieldKey, FieldAccessToken,
	FieldTokenLifetime, FieldScopes, FieldSTSEndpoint, FieldIAMCredentialsEndpoint, FieldOAuthTokenEndpoint,
	FieldOIDCTokenFile, FieldOIDCTokenEnv}

// name is how the user spells f.
func (in *Input) name(f Field) string {
	if n := in.Names[f]; n != "" {
		return n
	}
	return string(f)
}

// audience is the OIDC audience GitHub is asked for: Google's default for
// the provider unless one was given.
func (in *Input) audience() string {
	if in.Audience != "" {
		return in.Audience
	}
	return "https://iam.googleapis.com/" + in.WorkloadIdentityProvider
}

// InputError is an error in one field's value. Its text does not name the
// field: the caller adds that in its own spelling (`input "access_token": …`).
type InputError struct {
	Field Field
	Err   error
}

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

func inputErrorf(f Field, format string, args ...any) error {
	return &InputError{Field: f, Err: fmt.Errorf(format, args...)}
}
