package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"
)

// Grant is what a media cookie vouches for: a session of a user, until Exp.
// Media routes check its HMAC, its expiry and the in-memory set of revoked
// sessions, and nothing else: no SQL.
type Grant struct {
	Session int64
	User    int64
	Exp     time.Time
}

// GrantKeyLen is the length of the HMAC key, kept in the database so every
// process sharing it agrees.
const GrantKeyLen = 32

var errGrant = errors.New("media grant: invalid")

// SignGrant encodes g as base64url(session|user|exp) "." base64url(HMAC).
func SignGrant(key []byte, g Grant) string {
	var p [24]byte
	binary.BigEndian.PutUint64(p[0:], uint64(g.Session))
	binary.BigEndian.PutUint64(p[8:], uint64(g.User))
	binary.BigEndian.PutUint64(p[16:], uint64(g.Exp.Unix()))
	m := hmac.New(sha256.New, key)
	m.Write(p[:])
	return enc.EncodeToString(p[:]) + "." + enc.EncodeToString(m.Sum(nil))
}

// enc is strict: a grant has one spelling (a changed padding bit in the
// last character is a different, refused value).
var enc = base64.RawURLEncoding.Strict()

// VerifyGrant returns the grant in v when its HMAC is key's and it has not
// expired at now.
func VerifyGrant(key []byte, v string, now time.Time) (Grant, error) {
	if len(key) == 0 || len(v) != 32+1+43 || v[32] != '.' {
		return Grant{}, errGrant
	}
	p, err1 := enc.DecodeString(v[:32])
	sig, err2 := enc.DecodeString(v[33:])
	if err1 != nil || err2 != nil || len(p) != 24 {
		return Grant{}, errGrant
	}
	m := hmac.New(sha256.New, key)
	m.Write(p)
	if !hmac.Equal(m.Sum(nil), sig) {
		return Grant{}, errGrant
	}
	g := Grant{
		Session: int64(binary.BigEndian.Uint64(p[0:])),
		User:    int64(binary.BigEndian.Uint64(p[8:])),
		Exp:     time.Unix(int64(binary.BigEndian.Uint64(p[16:])), 0),
	}
	if !now.Before(g.Exp) {
		return Grant{}, errors.New("media grant: expired")
	}
	return g, nil
}
