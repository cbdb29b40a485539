package web_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"shoebox/internal/database"
	"shoebox/internal/database/dbtest"
	"shoebox/internal/storage"
	"shoebox/internal/thumbs"
	"shoebox/internal/upload"
	"shoebox/internal/web"
)

// jpegOf is a real JPEG of w×h pixels whose content depends on seed.
func jpegOf(t *testing.T, w, h int, seed uint8) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x) + seed, uint8(y), seed, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// uploadSite serves a database without accounts (the local user) with
// uploads on, under a quota.
func uploadSite(t *testing.T, quota int64) (srv *httptest.Server, st *storage.Storage, dir string) {
	t.Helper()
	ctx := context.Background()
	db, err := database.Open(ctx, database.Options{URL: dbtest.NewDatabase(t), MaxConns: 4, AcquireTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	st = storage.New(db)
	h, err := web.New(db, st, thumbs.Store{Dir: t.TempDir()}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	if err := h.SetUploads(web.UploadOptions{Dir: dir, MaxBytes: 1 << 20, Quota: quota}); err != nil {
		t.Fatal(err)
	}
	srv = httptest.NewServer(h.Handler())
	t.Cleanup(srv.Close)
	return srv, st, dir
}

func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// An upload through tus is kept once under uploads/local/YYYY/MM with its
// row and processing job saved; /api/uploads/check then says the user has
// it and a second upload stores nothing; a text file named .jpg is refused
// with the reason and leaves nothing behind; the quota is enforced at
// creation (507: the size is all it knows then); the check refuses what is not a SHA-256.
func TestUploadEndToEnd(t *testing.T) {
	good := jpegOf(t, 64, 48, 1)
	srv, st, dir := uploadSite(t, 2*int64(len(good))+100) // room for a second copy at creation, not for more
	ctx := context.Background()
	c := &upload.Client{Server: srv.URL, Key: "unused without accounts", ChunkSize: 1000}
	sum := sha256.Sum256(good)
	hexSum := hex.EncodeToString(sum[:])

	if have, err := c.Have(ctx, []string{hexSum}); err != nil || len(have) != 0 {
		t.Fatalf("check before: %v %v", have, err)
	}
	res, err := c.Upload(ctx, writeTemp(t, "IMG 1.JPG", good), hexSum)
	if err != nil || res.Duplicate || res.Sent != int64(len(good)) || res.Photo == "" {
		t.Fatalf("upload: %+v %v", res, err)
	}
	month := time.Now().Format("2006/01")
	kept := filepath.Join(dir, "local", filepath.FromSlash(month), "IMG 1.jpg")
	if b, err := os.ReadFile(kept); err != nil || !bytes.Equal(b, good) {
		t.Fatalf("kept file %s: %v", kept, err)
	}
	if have, err := c.Have(ctx, []string{hexSum}); err != nil || !have[hexSum] {
		t.Fatalf("check after: %v %v", have, err)
	}
	if n, err := st.UploadedBytes(ctx, 0); err != nil || n != int64(len(good)) {
		t.Fatalf("uploaded bytes: %d %v", n, err)
	}
	if p, err := st.Photo(ctx, storage.Scope{}, res.Photo); err != nil || p.ID != res.Photo {
		t.Fatalf("the photo row: %+v %v", p, err)
	}

	again, err := c.Upload(ctx, writeTemp(t, "copy.jpg", good), hexSum)
	if err != nil || !again.Duplicate || again.Photo != res.Photo {
		t.Fatalf("the same content again: %+v %v", again, err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "local", "*", "*", "*")); len(m) != 1 {
		t.Fatalf("files kept: %v, want one", m)
	}

	text := []byte("not a photo at all\n")
	ts := sha256.Sum256(text)
	_, err = c.Upload(ctx, writeTemp(t, "notes.jpg", text), hex.EncodeToString(ts[:]))
	var ref *upload.RefusedError
	if !errors.As(err, &ref) || ref.Status != http.StatusUnprocessableEntity || !strings.Contains(ref.Reason, "not a readable photo") {
		t.Fatalf("a text file named .jpg: %v", err)
	}
	if left, _ := os.ReadDir(filepath.Join(dir, upload.TusDir)); len(left) != 0 {
		t.Fatalf("left in %s: %v", upload.TusDir, left)
	}

	// An upload in progress counts at creation: two started at once
	// cannot pass the quota together.
	create := func(size int) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/uploads/", nil)
		req.Header.Set("Tus-Resumable", "1.0.0")
		req.Header.Set("Upload-Length", strconv.Itoa(size))
		req.Header.Set("Upload-Metadata", "filename eC5qcGc=") // x.jpg
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	first := create(len(good))
	if first.StatusCode != http.StatusCreated {
		t.Fatalf("an upload within the quota: %d", first.StatusCode)
	}
	if r := create(150); r.StatusCode != http.StatusInsufficientStorage {
		t.Fatalf("a second one past the quota with the first in progress: %d, want 507", r.StatusCode)
	}
	loc, err := first.Request.URL.Parse(first.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodDelete, loc.String(), nil)
	req.Header.Set("Tus-Resumable", "1.0.0")
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != http.StatusNoContent {
		t.Fatalf("ending the upload in progress: %v %v", r, err)
	}
	if r := create(60); r.StatusCode != http.StatusCreated {
		t.Fatalf("once the first is ended: %d, want 201", r.StatusCode)
	}

	other := jpegOf(t, 256, 192, 2)
	os2 := sha256.Sum256(other)
	_, err = c.Upload(ctx, writeTemp(t, "other.jpg", other), hex.EncodeToString(os2[:]))
	if !errors.As(err, &ref) || ref.Status != http.StatusInsufficientStorage || !strings.Contains(ref.Reason, "quota") {
		t.Fatalf("over the quota: %v", err)
	}

	for _, body := range []string{`{"sha256":["xyz"]}`, `{"sha256":"` + hexSum + `"}`, `not json`} {
		resp, err := http.Post(srv.URL+"/api/uploads/check", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("check %s: %d, want 400", body, resp.StatusCode)
		}
	}
}
