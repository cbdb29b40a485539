package system

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"shoebox/internal/library"
)

// TestZipDownload: a selection downloads as one zip holding exactly its
// originals, byte for byte, under the asker's file names (a clash made
// unique, no folders); nobody downloads a photo they may not see.
func TestZipDownload(t *testing.T) {
	_, dbURL := startCluster(t, nil)
	lib, photos := makeLibrary(t, 3, 0)
	// Two different photos of one name in two folders.
	for i, dir := range []string{"one", "two"} {
		os.MkdirAll(filepath.Join(lib, dir), 0o755)
		os.Rename(filepath.Join(lib, photos[i].path), filepath.Join(lib, dir, "same.jpg"))
	}
	want := map[string]string{} // id → sha256 of its file
	filepath.Walk(lib, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			id, _, _ := library.Hash(p)
			sum, _, _ := sha256File(p)
			want[id] = sum
		}
		return nil
	})
	addUser(t, dbURL, "anna", annaPassword, true)
	addUser(t, dbURL, "ben", annaPassword, false)
	s := startServe(t, serveOpts{dbURL: dbURL, library: lib, budget: 6})
	anna, ben := signedIn(t, s, "anna", annaPassword), signedIn(t, s, "ben", annaPassword)
	waitFor(t, "indexed", 2*time.Minute, func() bool {
		ids, err := listPhotos(anna, s.base, "/api/photos?limit=50")
		return err == nil && len(ids) == 3
	})
	var ids []string
	for id := range want {
		ids = append(ids, id)
	}
	body := `{"ids":["` + strings.Join(ids, `","`) + `"]}`
	post := func(c *http.Client, body string) (*http.Response, []byte) {
		req, _ := http.NewRequest("POST", s.base+"/api/photos/download", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	resp, zb := post(anna, body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/zip" || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("zip: %d %v %s", resp.StatusCode, resp.Header, brief(zb))
	}
	zr, err := zip.NewReader(bytes.NewReader(zb), int64(len(zb)))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if strings.ContainsAny(f.Name, "/\\") {
			t.Errorf("zip entry %q has a folder", f.Name)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		io.Copy(h, rc)
		rc.Close()
		got[hex.EncodeToString(h.Sum(nil))] = f.Name
	}
	sort.Strings(names)
	if len(zr.File) != 3 || names[1] != "same (2).jpg" || names[2] != "same.jpg" {
		t.Fatalf("zip entries %v, want 3 with same.jpg and same (2).jpg", names)
	}
	for id, sum := range want {
		if _, ok := got[sum]; !ok {
			t.Errorf("photo %s: its bytes are not in the zip", id)
		}
	}
	// Ben sees none of anna's photos: 404, no zip; a forged id too.
	if resp, b := post(ben, body); resp.StatusCode != 404 || bytes.HasPrefix(b, []byte("PK")) {
		t.Fatalf("ben downloading anna's photos: %d", resp.StatusCode)
	}
	if resp, _ := post(anna, `{"ids":["`+ids[0]+`","AAAAAAAAAAAAAAAAAAAA"]}`); resp.StatusCode != 404 {
		t.Fatalf("a selection with no such photo: %d, want 404", resp.StatusCode)
	}
	if resp, _ := post(newClient(30*time.Second), body); resp.StatusCode != 401 {
		t.Fatalf("signed out: %d, want 401", resp.StatusCode)
	}
}
