package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
)

// NewToken returns a session token (256 random bits, URL-safe base64) and
// its SHA-256, the only form stored: a database leak yields no usable token.
func NewToken() (token string, hash []byte) {
	b := make([]byte, 32)
	rand.Read(b)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken is the stored form of a token.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// APIKeyPrefix marks Shoebox's API keys, so a leaked one is recognisable
// (secret scanners, logs) and never mistaken for a session token.
const APIKeyPrefix = "sbx_"

// NewAPIKey returns a new API key (the prefix and 256 random bits,
// base64url) and its stored form.
func NewAPIKey() (key string, hash []byte) {
	t, _ := NewToken()
	key = APIKeyPrefix + t
	return key, HashToken(key)
}

// Scopes of API keys: read (GET of /api/* and media), write (also the
// state-changing /api/* requests), metrics (/metrics only).
var Scopes = []string{"read", "write", "metrics"}

// CheckScope says why s is not a scope of API keys, or nil.
func CheckScope(s string) error {
	for _, v := range Scopes {
		if s == v {
			return nil
		}
	}
	return fmt.Errorf("scope %q: want read, write or metrics", s)
}
