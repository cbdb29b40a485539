package auth

import (
	"strings"
	"testing"
	"time"
)

func TestPasswordHashVerifies(t *testing.T) {
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("not the PHC form: %s", h)
	}
	if ok, err := VerifyPassword(h, "correct horse battery"); !ok || err != nil {
		t.Fatalf("right password refused: %v %v", ok, err)
	}
	if ok, _ := VerifyPassword(h, "correct horse batterz"); ok {
		t.Fatal("wrong password accepted")
	}
	h2, _ := HashPassword("correct horse battery")
	if h2 == h {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	if _, err := HashPassword("short"); err == nil || !strings.Contains(err.Error(), "at least 10") {
		t.Fatalf("short password: %v", err)
	}
}

func TestPasswordHostilePHC(t *testing.T) {
	good, _ := HashPassword("correct horse battery")
	parts := strings.Split(good, "$")
	for _, bad := range []string{
		"", "plain", "$argon2i$v=19$m=19456,t=2,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=16$m=19456,t=2,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=99999999,t=2,p=1$" + parts[4] + "$" + parts[5], // 95 GiB
		"$argon2id$v=19$m=19456,t=4000000000,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=19456,t=2,p=0$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=19456,t=2,p=1$$" + parts[5],
		"$argon2id$v=19$m=19456,t=2,p=1$" + parts[4] + "$",
		"$argon2id$v=19$m=19456,t=2,p=1$" + parts[4] + "$QQ",
		good + "$extra",
		"$argon2id$v=19$m=-1,t=2,p=1$" + parts[4] + "$" + parts[5],
	} {
		if ok, err := VerifyPassword(bad, "correct horse battery"); ok || err == nil {
			t.Errorf("hostile hash %q: ok=%v err=%v", bad, ok, err)
		}
	}
}

func TestNames(t *testing.T) {
	for _, n := range []string{"anna", "a", "jean-luc.p_2", strings.Repeat("a", 32)} {
		if CheckName(n) != nil {
			t.Errorf("%q refused", n)
		}
	}
	for _, n := range []string{"", "Anna", "a b", "é", strings.Repeat("a", 33), "../x", "a/b"} {
		if CheckName(n) == nil {
			t.Errorf("%q accepted", n)
		}
	}
}

func TestTokens(t *testing.T) {
	a, ha := NewToken()
	b, _ := NewToken()
	if a == b || len(a) != 43 || len(ha) != 32 {
		t.Fatalf("tokens %q %q", a, b)
	}
	if string(HashToken(a)) != string(ha) || string(HashToken(b)) == string(ha) {
		t.Fatal("hash does not identify its token")
	}
}

func TestGrant(t *testing.T) {
	key := []byte(strings.Repeat("k", 32))
	now := time.Unix(1_700_000_000, 0)
	g := Grant{Session: 7, User: 3, Exp: now.Add(15 * time.Minute)}
	v := SignGrant(key, g)
	got, err := VerifyGrant(key, v, now)
	if err != nil || got.Session != 7 || got.User != 3 || !got.Exp.Equal(g.Exp) {
		t.Fatalf("valid grant: %+v %v", got, err)
	}
	if _, err := VerifyGrant(key, v, now.Add(15*time.Minute)); err == nil {
		t.Fatal("expired grant accepted")
	}
	if _, err := VerifyGrant([]byte(strings.Repeat("o", 32)), v, now); err == nil {
		t.Fatal("grant of another key accepted")
	}
	if _, err := VerifyGrant(nil, v, now); err == nil {
		t.Fatal("grant accepted without a key")
	}
	// Tamper with every byte of the payload and the signature.
	for i := range v {
		if v[i] == '.' {
			continue
		}
		c := byte('A')
		if v[i] == 'A' {
			c = 'B'
		}
		bad := v[:i] + string(c) + v[i+1:]
		// Refused even where the change only touches the last character's
		// unused bits (the same bytes): a grant has one spelling.
		if g2, err := VerifyGrant(key, bad, now); err == nil {
			t.Fatalf("tampered grant (byte %d) accepted as %+v", i, g2)
		}
	}
	// The last character carries 2 unused bits: flip one of them.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, v[len(v)-1])
	if _, err := VerifyGrant(key, v[:len(v)-1]+string(alphabet[last^1]), now); err == nil {
		t.Fatal("grant with a changed unused bit accepted")
	}
	// A longer expiry signed by someone without the key.
	other := SignGrant([]byte("guess"), Grant{Session: 7, User: 3, Exp: now.Add(time.Hour * 24 * 365)})
	if _, err := VerifyGrant(key, other, now); err == nil {
		t.Fatal("forged grant accepted")
	}
}

func TestThrottle(t *testing.T) {
	th := NewThrottle(5, 15*time.Minute)
	now := time.Unix(1_700_000_000, 0)
	for i := 0; i < 5; i++ {
		if d := th.Blocked("1.2.3.4", now); d != 0 {
			t.Fatalf("blocked after %d failures", i)
		}
		th.Fail("1.2.3.4", now.Add(time.Duration(i)*time.Minute))
	}
	d := th.Blocked("1.2.3.4", now.Add(5*time.Minute))
	if d != 10*time.Minute {
		t.Fatalf("after 5 failures: wait %s, want 10m", d)
	}
	if th.Blocked("5.6.7.8", now) != 0 {
		t.Fatal("another key blocked")
	}
	if th.Blocked("1.2.3.4", now.Add(15*time.Minute)) != 0 {
		t.Fatal("still blocked once the first failure left the window")
	}
	th.Reset("1.2.3.4")
	if th.Blocked("1.2.3.4", now.Add(5*time.Minute)) != 0 {
		t.Fatal("blocked after reset")
	}
}
