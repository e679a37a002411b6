package fakegoogle

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/pullsecret/pullsecret/internal/testing/fakejwt"
)

// account is a service account and its user-managed keys.
type account struct {
	email         string
	uniqueID      string
	impersonators []string
	// pending are grants not applied yet: member → when it applies.
	pending map[string]time.Time
	keys    []*saKey
}

type saKey struct {
	id      string // private_key_id, the JWT "kid"
	pub     *rsa.PublicKey
	certPEM string
}

// AddServiceAccount creates the account, or replaces the grants of an
// existing one (keeping its keys and unique id). It returns the unique id.
func (g *Google) AddServiceAccount(sa ServiceAccount) (string, error) {
	if sa.Email == "" {
		return "", errors.New("fakegoogle: service account without an email")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	a, ok := g.accounts[sa.Email]
	if !ok {
		a = &account{email: sa.Email, uniqueID: sa.UniqueID}
		if a.uniqueID == "" {
			// Service-account unique ids are 21-digit numbers starting with 1.
			d, err := randomDigits(20)
			if err != nil {
				return "", err
			}
			a.uniqueID = "1" + d
		}
		g.accounts[sa.Email] = a
	}
	if sa.Impersonators != nil {
		a.impersonators = slices.Clone(sa.Impersonators)
	}
	return a.uniqueID, nil
}

// Grant adds an impersonation binding (see ServiceAccount.Impersonators),
// creating the account if needed.
func (g *Google) Grant(email, member string) error {
	if _, err := g.AddServiceAccount(ServiceAccount{Email: email}); err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	a := g.accounts[email]
	if slices.Contains(a.impersonators, member) {
		return nil
	}
	if g.grantPropagation > 0 {
		if a.pending == nil {
			a.pending = map[string]time.Time{}
		}
		a.pending[member] = g.now().Add(g.grantPropagation)
		return nil
	}
	a.impersonators = append(a.impersonators, member)
	return nil
}

// accountLocked finds an account by email or unique id, as iamcredentials
// resource names accept either. The caller must hold g.mu.
func (g *Google) accountLocked(id string) *account {
	if a, ok := g.accounts[id]; ok {
		return a
	}
	for _, a := range g.accounts {
		if a.uniqueID == id {
			return a
		}
	}
	return nil
}

// serviceAccountKeyFile is a key file in the layout the Cloud console and
// `gcloud iam service-accounts keys create` write, field order included.
type serviceAccountKeyFile struct {
	Type                    string `json:"type"`
	ProjectID               string `json:"project_id"`
	PrivateKeyID            string `json:"private_key_id"`
	PrivateKey              string `json:"private_key"`
	ClientEmail             string `json:"client_email"`
	ClientID                string `json:"client_id"`
	AuthURI                 string `json:"auth_uri"`
	TokenURI                string `json:"token_uri"`
	AuthProviderX509CertURL string `json:"auth_provider_x509_cert_url"`
	ClientX509CertURL       string `json:"client_x509_cert_url"`
	UniverseDomain          string `json:"universe_domain"`
}

// NewServiceAccountKey creates a user-managed key for email (creating the
// account if needed) and returns its JSON key file. tokenURI becomes the
// file's token_uri, where clients post jwt-bearer assertions: give the
// fake's TokenURL(baseURL), or "" for Google's real
// https://oauth2.googleapis.com/token. The certificate URL in the file points
// at the same host as tokenURI. Whatever tokenURI is, assertions must name
// AssertionAudience: a client posting to the fake must set the JWT audience
// itself (x/oauth2 reads it from an "audience" field of the key file).
func (g *Google) NewServiceAccountKey(email, tokenURI string) ([]byte, error) {
	if tokenURI == "" {
		tokenURI = "https://oauth2.googleapis.com/token"
	}
	if _, err := g.AddServiceAccount(ServiceAccount{Email: email}); err != nil {
		return nil, err
	}
	priv, err := fakejwt.NewKey()
	if err != nil {
		return nil, fmt.Errorf("fakegoogle: generating key: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	idBytes := make([]byte, 20)
	if _, err := rand.Read(idBytes); err != nil {
		return nil, err
	}
	keyID := hex.EncodeToString(idBytes)
	certPEM, err := selfSignedCert(priv, email, g.now())
	if err != nil {
		return nil, err
	}

	g.mu.Lock()
	a := g.accounts[email]
	a.keys = append(a.keys, &saKey{id: keyID, pub: &priv.PublicKey, certPEM: certPEM})
	uniqueID := a.uniqueID
	g.mu.Unlock()

	return json.MarshalIndent(serviceAccountKeyFile{
		Type:                    "service_account",
		ProjectID:               projectOf(email),
		PrivateKeyID:            keyID,
		PrivateKey:              string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})),
		ClientEmail:             email,
		ClientID:                uniqueID,
		AuthURI:                 "https://accounts.google.com/o/oauth2/auth",
		TokenURI:                tokenURI,
		AuthProviderX509CertURL: "https://www.googleapis.com/oauth2/v1/certs",
		ClientX509CertURL:       certsBase(tokenURI) + "/robot/v1/metadata/x509/" + url.PathEscape(email),
		UniverseDomain:          "googleapis.com",
	}, "", "  ")
}

// certsBase is where the x509 document for a key lives: Google's
// www.googleapis.com for real token URIs, else the fake's own host.
func certsBase(tokenURI string) string {
	u, err := url.Parse(tokenURI)
	if err != nil || u.Host == "" || strings.HasSuffix(u.Hostname(), ".googleapis.com") {
		return "https://www.googleapis.com"
	}
	return u.Scheme + "://" + u.Host
}

// selfSignedCert returns the PEM certificate Google publishes for a
// user-managed key: self-signed by the key, valid until the key's default
// expiry (year 9999).
func selfSignedCert(priv *rsa.PrivateKey, email string, now time.Time) (string, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: email},
		NotBefore:             now.Add(-time.Minute).UTC(),
		NotAfter:              time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return "", fmt.Errorf("fakegoogle: creating certificate: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), nil
}

// authorizedUser is an end user's OAuth client grant, as in the
// application-default credentials file `gcloud auth application-default
// login` writes.
type authorizedUser struct {
	email        string
	userID       string
	clientID     string
	clientSecret string
	refreshToken string
	scopes       []string
	revoked      bool
}

// gcloudADCScopes are the scopes `gcloud auth application-default login`
// requests by default.
var gcloudADCScopes = []string{
	"openid",
	"https://www.googleapis.com/auth/userinfo.email",
	ScopeCloudPlatform,
	"https://www.googleapis.com/auth/sqlservice.login",
}

// NewAuthorizedUser registers an end user holding a refresh token and
// returns an "authorized_user" credentials file for it. tokenURI, when
// non-empty, is written as token_uri so that x/oauth2 refreshes against the
// fake; gcloud itself omits the field, so "" gives a file like gcloud's.
func (g *Google) NewAuthorizedUser(email, tokenURI string) ([]byte, error) {
	userID, err := randomDigits(21)
	if err != nil {
		return nil, err
	}
	clientNum, err := randomDigits(12)
	if err != nil {
		return nil, err
	}
	secret, err := randomString(18)
	if err != nil {
		return nil, err
	}
	refresh, err := randomString(48)
	if err != nil {
		return nil, err
	}
	u := &authorizedUser{
		email:        email,
		userID:       userID,
		clientID:     clientNum + "-fake.apps.googleusercontent.com",
		clientSecret: "GOCSPX-" + secret,
		refreshToken: "1//fake-" + refresh,
		scopes:       slices.Clone(gcloudADCScopes),
	}
	g.mu.Lock()
	g.users[u.refreshToken] = u
	g.mu.Unlock()

	file := map[string]string{
		"account":         "",
		"client_id":       u.clientID,
		"client_secret":   u.clientSecret,
		"refresh_token":   u.refreshToken,
		"type":            "authorized_user",
		"universe_domain": "googleapis.com",
	}
	if tokenURI != "" {
		file["token_uri"] = tokenURI
	}
	return json.MarshalIndent(file, "", "  ")
}
