package main

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
	"sync"
	"time"
)

// grants maps HOST/REPOSITORY to the actions ("pull", "push") a token allows.
type grants map[string]map[string]bool

func (g grants) allows(repo, action string) bool { return g[repo][action] }

func (g grants) String() string {
	var parts []string
	for repo, actions := range g {
		var as []string
		for a := range actions {
			as = append(as, a)
		}
		parts = append(parts, "repository:"+repo+":"+strings.Join(as, ","))
	}
	return strings.Join(parts, " ")
}

// registryToken is the server-side record behind an opaque bearer token.
type registryToken struct {
	subject string // e.g. "oauth2accesstoken sa@proj.iam.gserviceaccount.com"
	grants  grants
	expiry  time.Time
}

// tokenStore keeps issued registry tokens in memory; they are opaque to
// clients, as GCR's are.
type tokenStore struct {
	mu     sync.Mutex
	tokens map[string]registryToken
}

func newTokenStore() *tokenStore { return &tokenStore{tokens: map[string]registryToken{}} }

func (s *tokenStore) issue(t registryToken) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	id := base64.RawURLEncoding.EncodeToString(b)
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.tokens { // drop expired ones so the map stays small
		if now.After(v.expiry) {
			delete(s.tokens, k)
		}
	}
	s.tokens[id] = t
	return id
}

// lookup returns the token if it exists and has not expired.
func (s *tokenStore) lookup(id string) (registryToken, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[id]
	if !ok || time.Now().After(t.expiry) {
		return registryToken{}, false
	}
	return t, true
}
