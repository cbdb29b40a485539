package system

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// TestMediaInSharedFolder runs two `shoebox serve` processes on one
// database with SHOEBOX_MEDIA_URL=/shared-folder: an upload begun on one
// is finished on the other (tus's uploads in progress live in the shared
// folder), it lands in the shared upload library, and both serve the
// thumbnails kept in the shared folder; nothing of it under either data
// folder.
func TestMediaInSharedFolder(t *testing.T) {
	_, dbURL := startCluster(t, nil)
	addUser(t, dbURL, "anna", annaPassword, true)
	lib, _ := makeLibrary(t, 2, 0)
	shared := t.TempDir()
	env := shoeboxEnv("DATABASE_URL=" + dbURL)
	out, err := shoeboxStdin(t, env, "", "key", "add", "--user", "anna", "--scope", "write")
	key := regexp.MustCompile(`sbx_[A-Za-z0-9_-]{43}`).FindString(out)
	if err != nil || key == "" {
		t.Fatalf("key add: %v %s", err, out)
	}
	media := []string{"SHOEBOX_MEDIA_URL=" + shared}
	anna := &http.Client{Transport: withKey{key, http.DefaultTransport}, Timeout: 30 * time.Second}
	s1 := startServe(t, serveOpts{dbURL: dbURL, library: lib, budget: 6, env: media})
	s1.client = anna
	s1.waitIndexed(t, 2*time.Minute)
	s2 := startServe(t, serveOpts{dbURL: dbURL, library: t.TempDir(), budget: 6, env: media})
	s2.client = anna

	photo := corpusPhotos(t, 8)[7]
	body, err := os.ReadFile(photo.path)
	if err != nil {
		t.Fatal(err)
	}
	resp, msg := tusCreate(t, anna, s1.base, "across-processes"+filepath.Ext(photo.path), int64(len(body)))
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusCreated || loc == "" {
		t.Fatalf("create on the first process: %d %s", resp.StatusCode, msg)
	}
	loc = regexp.MustCompile(`^https?://[^/]+`).ReplaceAllString(loc, "")
	patch := func(base string, off int, part []byte) *http.Response {
		req, _ := http.NewRequest(http.MethodPatch, base+loc, bytes.NewReader(part))
		req.Header.Set("Tus-Resumable", "1.0.0")
		req.Header.Set("Upload-Offset", strconv.Itoa(off))
		req.Header.Set("Content-Type", "application/offset+octet-stream")
		r, err := anna.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r
	}
	half := len(body) / 2
	if r := patch(s1.base, 0, body[:half]); r.StatusCode != http.StatusNoContent {
		t.Fatalf("first half on the first process: %d", r.StatusCode)
	}
	// The second process knows where it stands, and takes the rest.
	req, _ := http.NewRequest(http.MethodHead, s2.base+loc, nil)
	req.Header.Set("Tus-Resumable", "1.0.0")
	r, err := anna.Do(req)
	if err != nil || r.StatusCode != http.StatusOK || r.Header.Get("Upload-Offset") != strconv.Itoa(half) {
		t.Fatalf("HEAD on the second process: %v %v offset %q, want %d", r, err, r.Header.Get("Upload-Offset"), half)
	}
	if r := patch(s2.base, half, body[half:]); r.StatusCode != http.StatusNoContent {
		t.Fatalf("second half on the second process: %d", r.StatusCode)
	}
	// In the shared upload library, byte for byte.
	var landed string
	for rel, sum := range filesUnder(t, filepath.Join(shared, "uploads")) {
		if sum == photo.sum {
			landed = rel
		}
	}
	if !regexp.MustCompile(`^anna/\d{4}/\d{2}/[^/]+$`).MatchString(landed) {
		t.Fatalf("the upload is not in the shared upload library: %q", landed)
	}
	// Indexed; both serve every thumbnail from the shared folder.
	st := s1.waitIndexed(t, 2*time.Minute)
	list := s1.photos(t)
	if len(list.Photos) != st.Photos || st.Photos != 3 {
		t.Fatalf("%d photos listed, %d indexed; want 3", len(list.Photos), st.Photos)
	}
	for _, p := range list.Photos {
		_, a := s1.mustGet(t, "/thumbnail/"+p.ID, 200)
		_, b := s2.mustGet(t, "/thumbnail/"+p.ID, 200)
		if !isWebP(a) || !bytes.Equal(a, b) {
			t.Fatalf("thumbnail %s: not the same WebP from both", p.ID)
		}
	}
	if n := countFiles(t, filepath.Join(shared, "media")); n < 3*3 {
		t.Fatalf("%d files in the shared media folder; want a thumbnail, preview and note per photo", n)
	}
	for _, s := range []*server{s1, s2} {
		if n := countFiles(t, filepath.Join(s.dataDir, "media")) + countFiles(t, filepath.Join(s.dataDir, "uploads")); n != 0 {
			t.Fatalf("%d media files under the data folder %s", n, s.dataDir)
		}
	}
}
