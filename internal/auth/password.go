package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// MinPasswordLen is the shortest password accepted (in bytes of UTF-8).
const MinPasswordLen = 10

// maxPasswordLen bounds the work one sign-in can ask for.
const maxPasswordLen = 1024

// Argon2id parameters: OWASP's recommendation (19 MiB, 2 passes, 1 lane).
const (
	argonMemory  = 19456 // KiB
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// Bounds on parameters read back from a stored hash: a hostile or corrupt
// row must not make one verification take gigabytes or minutes.
const (
	maxMemory  = 1 << 20 // 1 GiB in KiB
	maxTime    = 16
	maxThreads = 16
)

// ErrBadPassword is a password that does not meet the rules.
var ErrBadPassword = errors.New("password")

// CheckPassword says why a new password is refused, or nil.
func CheckPassword(p string) error {
	switch {
	case len(p) < MinPasswordLen:
		return fmt.Errorf("%w: must be at least %d characters", ErrBadPassword, MinPasswordLen)
	case len(p) > maxPasswordLen:
		return fmt.Errorf("%w: must be at most %d characters", ErrBadPassword, maxPasswordLen)
	}
	return nil
}

// HashPassword returns the PHC string of p:
// $argon2id$v=19$m=19456,t=2,p=1$salt$hash (unpadded base64).
func HashPassword(p string) (string, error) {
	if err := CheckPassword(p); err != nil {
		return "", err
	}
	salt := make([]byte, argonSaltLen)
	rand.Read(salt)
	key := argon2.IDKey([]byte(p), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

var b64 = base64.RawStdEncoding

var phcRE = regexp.MustCompile(`^\$argon2id\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$`)

// VerifyPassword says whether p matches the PHC string phc, comparing in
// constant time. A malformed or out-of-bounds phc is an error, never a
// match.
func VerifyPassword(phc, p string) (bool, error) {
	m := phcRE.FindStringSubmatch(phc)
	if m == nil {
		return false, errors.New("password hash: not an argon2id PHC string")
	}
	num := func(s string, lo, hi uint64) (uint64, bool) {
		v, err := strconv.ParseUint(s, 10, 32)
		return v, err == nil && v >= lo && v <= hi
	}
	ver, okV := num(m[1], argon2.Version, argon2.Version)
	mem, okM := num(m[2], 8, maxMemory)
	t, okT := num(m[3], 1, maxTime)
	th, okP := num(m[4], 1, maxThreads)
	if !okV || !okM || !okT || !okP || ver != argon2.Version {
		return false, errors.New("password hash: parameters out of bounds")
	}
	salt, err1 := b64.DecodeString(m[5])
	want, err2 := b64.DecodeString(m[6])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(salt) > 64 || len(want) < 16 || len(want) > 64 {
		return false, errors.New("password hash: bad salt or key")
	}
	if len(p) > maxPasswordLen {
		return false, nil
	}
	got := argon2.IDKey([]byte(p), salt, uint32(t), uint32(mem), uint8(th), uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// DummyHash is verified against when a sign-in names no account, so an
// unknown name takes as long as a wrong password.
var DummyHash = func() string {
	h, err := HashPassword(strings.Repeat("x", MinPasswordLen) + "-dummy")
	if err != nil {
		panic(err)
	}
	return h
}()

var nameRE = regexp.MustCompile(`^[a-z0-9._-]{1,32}$`)

// CheckName says why an account name is refused, or nil.
func CheckName(n string) error {
	if !nameRE.MatchString(n) {
		return fmt.Errorf("account name %q: use 1 to 32 of a-z 0-9 . _ - (lower case)", n)
	}
	return nil
}
