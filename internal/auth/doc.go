// Package auth holds Shoebox's account primitives, none of which touch the
// database: Argon2id password hashes, session tokens (stored only as their
// SHA-256), signed media grants (an HMAC cookie that lets thumbnail,
// preview and original requests be authorized with zero SQL), and the
// in-memory sign-in throttle.
package auth
