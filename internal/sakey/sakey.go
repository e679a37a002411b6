// Package sakey parses and masks Google service-account keys. It is a leaf:
// config validates the credentials_json input with it and googleauth signs
// with the key it describes, without either reaching into the other.
package sakey

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Key is the part of a key file pullsecret reads.
type Key struct {
	Type         string `json:"type"`
	ProjectID    string `json:"project_id"`
	PrivateKeyID string `json:"private_key_id"`
	PrivateKey   string `json:"private_key"`
	ClientEmail  string `json:"client_email"`
	TokenURI     string `json:"token_uri"`
}

// Error says what is wrong with a key, as a predicate on it ("is missing
// private_key"); the caller names where the key came from. It never quotes
// the key.
type Error struct{ Problem string }

func (e *Error) Error() string { return "the service-account key " + e.Problem }

func problemf(format string, args ...any) error {
	return &Error{Problem: fmt.Sprintf(format, args...)}
}

// GoogleTokenURIs are the token endpoints Google has ever written into
// service-account keys.
var GoogleTokenURIs = map[string]bool{
	"https://oauth2.googleapis.com/token":        true,
	"https://accounts.google.com/o/oauth2/token": true,
	"https://www.googleapis.com/oauth2/v4/token": true,
}

// Parse type-checks a service-account key.
func Parse(b []byte) (*Key, error) {
	var k Key
	if err := json.Unmarshal(b, &k); err != nil {
		return nil, problemf("is not valid JSON (%s)", jsonProblem(err))
	}
	if err := exactFieldNames(b); err != nil {
		return nil, err
	}
	if k.Type != "service_account" {
		return nil, problemf("has type %q; only service-account keys (type \"service_account\") are accepted here — use workload_identity_provider or ADC for other credential types", k.Type)
	}
	var missing []string
	for name, v := range map[string]string{"client_email": k.ClientEmail, "private_key": k.PrivateKey, "private_key_id": k.PrivateKeyID, "token_uri": k.TokenURI} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, problemf("is missing %s", strings.Join(slices.Sorted(slices.Values(missing)), ", "))
	}
	return &k, nil
}

// fields are the names Google writes into a key, all lower case.
var fields = []string{"type", "project_id", "private_key_id", "private_key", "client_email", "client_id", "auth_uri", "token_uri", "auth_provider_x509_cert_url", "client_x509_cert_url", "universe_domain"}

// exactFieldNames refuses a key naming a field in another case
// ("Private_Key"): encoding/json, and so every Go reader of the key,
// accepts it, while masking and reviewers look for Google's spelling.
func exactFieldNames(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return problemf("is not valid JSON (%s)", jsonProblem(err))
	}
	for name := range m {
		for _, f := range fields {
			if strings.EqualFold(name, f) && name != f {
				return problemf("names field %q; a service-account key spells it %q", name, f)
			}
		}
	}
	return nil
}

// jsonProblem describes a JSON error by position only: the default message
// of a syntax error may quote bytes of the key.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	}
	return "unexpected structure"
}

// Mask masks the key as a whole and line by line: GitHub masks per line,
// and a PEM block printed anywhere would otherwise leak line by line.
func Mask(key []byte, mask func(string)) {
	mask(strings.TrimSpace(string(key)))
	var m map[string]any
	if json.Unmarshal(key, &m) == nil {
		if pk, ok := m["private_key"].(string); ok {
			for _, line := range strings.Split(pk, "\n") {
				if len(strings.TrimSpace(line)) > 8 && !strings.HasPrefix(line, "-----") {
					mask(strings.TrimSpace(line))
				}
			}
			// The escaped form is how the key appears inside JSON text.
			esc, _ := json.Marshal(pk)
			mask(strings.Trim(string(esc), `"`))
		}
		if id, ok := m["private_key_id"].(string); ok && id != "" {
			mask(id)
		}
	}
	for _, line := range strings.Split(string(key), "\n") {
		if l := strings.TrimSpace(line); len(l) > 8 {
			mask(l)
		}
	}
}
