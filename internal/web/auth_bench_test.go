package web

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"shoebox/internal/auth"
	"shoebox/internal/storage"
	"shoebox/internal/thumbs"
)

// BenchmarkThumbnailSignedIn is BenchmarkThumbnailFromMemory with accounts:
// the media grant's HMAC, expiry and revoked-set check added, no SQL (the
// server has no database at all here).
func BenchmarkThumbnailSignedIn(b *testing.B) {
	store := thumbs.Store{Dir: b.TempDir()}
	id := strings.Repeat("ab", 10)
	if err := store.Write(id, thumbs.Thumb, make([]byte, 12<<10)); err != nil {
		b.Fatal(err)
	}
	s, err := New(nil, nil, store, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	key := []byte(strings.Repeat("k", auth.GrantKeyLen))
	s.auth.key.Store(&key)
	s.auth.revoked.Store(&map[int64]struct{}{9: {}})
	s.auth.mode.Store(modeAccounts)
	// User 1 sees every library; photo id is in none of user 2's.
	s.vis.replace(storage.VisibilityChanges{Full: true, Libraries: []storage.LibraryAccess{{ID: 1, Root: "/a", Users: []int64{1}}, {ID: 2, Root: "/b", Users: []int64{1, 2}}},
		Files: []storage.PhotoLibrary{{Photo: id, Library: 1}}})
	h := s.Handler()
	req := httptest.NewRequest("GET", "/thumbnail/"+id, nil)
	req.AddCookie(&http.Cookie{Name: mediaCookie, Value: auth.SignGrant(key, auth.Grant{Session: 1, User: 1, Exp: time.Now().Add(time.Hour)})})
	w := &discardWriter{h: http.Header{}}
	h.ServeHTTP(w, req)
	if w.code != http.StatusOK || w.h.Get("Cache-Control") != "private, max-age=31536000, immutable" {
		b.Fatalf("thumbnail: %d %q", w.code, w.h.Get("Cache-Control"))
	}
	revoked := httptest.NewRequest("GET", "/thumbnail/"+id, nil)
	revoked.AddCookie(&http.Cookie{Name: mediaCookie, Value: auth.SignGrant(key, auth.Grant{Session: 9, User: 1, Exp: time.Now().Add(time.Hour)})})
	w2 := &discardWriter{h: http.Header{}}
	h.ServeHTTP(w2, revoked)
	if w2.code != http.StatusUnauthorized {
		b.Fatalf("revoked session's thumbnail: %d", w2.code)
	}
	other := httptest.NewRequest("GET", "/thumbnail/"+id, nil)
	other.AddCookie(&http.Cookie{Name: mediaCookie, Value: auth.SignGrant(key, auth.Grant{Session: 2, User: 2, Exp: time.Now().Add(time.Hour)})})
	w3 := &discardWriter{h: http.Header{}}
	h.ServeHTTP(w3, other)
	if w3.code != http.StatusNotFound {
		b.Fatalf("thumbnail of a photo in none of the user's libraries: %d", w3.code)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, req.Clone(req.Context()))
	}
}
