package system

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// photoIDOf is the photo id of content with this SHA-256 (library.PhotoID).
func photoIDOf(sum []byte) string { return base64.RawURLEncoding.EncodeToString(sum[:15]) }

// cutProxy forwards to target and cuts the first PATCH halfway: the server
// gets half the body, then the connection dies. It counts the PATCH body
// bytes that passed after the cut.
type cutProxy struct {
	cut   atomic.Bool
	after atomic.Int64
}

type cutReader struct {
	r    io.Reader
	left int64
}

func (c *cutReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, errors.New("connection cut by the test")
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

type countReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (cp *cutProxy) handler(target string) http.Handler {
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPatch {
			if cp.cut.CompareAndSwap(false, true) {
				r.Body = io.NopCloser(&cutReader{r: r.Body, left: r.ContentLength / 2})
			} else {
				r.Body = io.NopCloser(countReader{r.Body, &cp.after})
			}
		}
		rp.ServeHTTP(w, r)
	})
}

// uploadCLI runs `shoebox upload` and returns its output and exit code.
func uploadCLI(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(shoeboxBin, append([]string{"upload"}, args...)...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("shoebox upload: %v", err)
	}
	return string(out), code
}

// tusCreate starts an upload of size bytes named name with a raw tus POST.
func tusCreate(t *testing.T, c *http.Client, base, name string, size int64, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/api/uploads/", nil)
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Upload-Length", itoa(int(size)))
	req.Header.Set("Upload-Metadata", "filename "+base64.StdEncoding.EncodeToString([]byte(name)))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// filesUnder lists the regular files under root (relative, slash-separated)
// with their SHA-256.
func filesUnder(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(p)
		rel, _ := filepath.Rel(root, p)
		out[filepath.ToSlash(rel)] = sha256Bytes(b)
		return nil
	})
	return out
}

// TestUploads drives uploads end to end with the built binary and two
// accounts: anna uploads a folder of photos, a video and hostile files
// with `shoebox upload` (a write key); the good ones become hers alone,
// under <data>/uploads/anna/YYYY/MM/, the hostile ones are refused with
// their reasons and leave nothing behind; a second run skips everything
// (check); an upload cut mid-PATCH resumes from the server's offset and
// lands byte-identical; quota (507), size (413), a read key (403), a
// cross-site browser POST (403) and another user's upload (404) are
// refused; emptying the trash deletes an uploaded file and never a file
// of a folder library.
func TestUploads(t *testing.T) {
	_, dbURL := startCluster(t, nil)
	addUser(t, dbURL, "anna", annaPassword, true)
	addUser(t, dbURL, "ben", benPassword, false)
	lib, libPhotos := makeLibrary(t, 1, 0)
	picks := corpusPhotos(t, 64)[1:]

	good := t.TempDir()
	want := map[string]string{} // sha256 -> name, of every good file
	for i, p := range picks[:3] {
		rel := filepath.Join(map[bool]string{true: "trip", false: ""}[i == 2], "photo"+itoa(i)+filepath.Ext(p.path))
		copyFile(t, p.path, filepath.Join(good, rel))
		want[p.sum] = rel
	}
	video := filepath.Join(good, "clip.mp4")
	if out, err := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
		"-c:a", "aac", video).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v %s", err, out)
	}
	vb, _ := os.ReadFile(video)
	want[sha256Bytes(vb)] = "clip.mp4"

	bad := t.TempDir()
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(bad, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("notes.jpg", []byte("shopping list:\n- milk\n- a new camera\n"))
	var big []byte
	for i := len(picks) - 1; i >= 3 && big == nil; i-- {
		if p := picks[i]; strings.EqualFold(filepath.Ext(p.path), ".jpg") && p.size > 100<<10 {
			big, _ = os.ReadFile(p.path)
		}
	}
	if big == nil {
		t.Fatal("no JPEG over 100 kB among the corpus picks")
	}
	bomb := bytes.Clone(big[:jpegSOF(t, big)+2048])
	sof := jpegSOF(t, bomb)
	bomb[sof+5], bomb[sof+6], bomb[sof+7], bomb[sof+8] = 14000>>8, 14000&0xFF, 14000>>8, 14000&0xFF
	write("bomb.jpg", bomb)
	sos := jpegSegment(t, big, 0xDA, 0xDA)
	write("truncated.jpg", big[:sos+(len(big)-sos)/2])
	write("truncated.mp4", vb[:len(vb)/2]) // the index (moov) is written last: cut, none
	write("readme.txt", []byte("not even offered"))
	reasons := map[string]string{
		"notes.jpg":     "not a readable photo",
		"bomb.jpg":      "pixel bomb",
		"truncated.jpg": "damaged or truncated photo",
		"truncated.mp4": "not a readable video",
	}

	var goodSize int64
	for sum := range want {
		fi, _ := os.Stat(filepath.Join(good, want[sum]))
		goodSize += fi.Size()
	}
	const maxBytes = 8 << 20
	quota := goodSize + int64(len(big)) + 4096 // the good files and the resumed one, not a byte more
	dataDir := t.TempDir()
	env := shoeboxEnv("DATABASE_URL=" + dbURL)
	newKey := func(user, scope string) string {
		out, err := shoeboxStdin(t, env, "", "key", "add", "--user", user, "--scope", scope)
		k := regexp.MustCompile(`sbx_[A-Za-z0-9_-]{43}`).FindString(out)
		if err != nil || k == "" {
			t.Fatalf("key add: %v %s", err, out)
		}
		return k
	}
	annaKey, readKey, benKey := newKey("anna", "write"), newKey("anna", "read"), newKey("ben", "write")
	s := startServe(t, serveOpts{dbURL: dbURL, library: lib, dataDir: dataDir, budget: 6, env: []string{
		"SHOEBOX_UPLOAD_MAX_BYTES=" + itoa(maxBytes), "SHOEBOX_UPLOAD_QUOTA_BYTES=" + itoa(int(quota))}})
	cliEnv := append(os.Environ(), "XDG_CACHE_HOME="+t.TempDir(), "HOME="+t.TempDir())

	// 1. The folder: the good files are kept, the hostile ones refused.
	out, code := uploadCLI(t, cliEnv, "--server", s.base, "--key", annaKey, good, bad)
	t.Logf("shoebox upload:\n%s", out)
	if code != 1 || !strings.Contains(out, "4 uploaded, 0 skipped, 4 refused, 0 failed") {
		t.Fatalf("exit %d; want 1 and 4 uploaded, 4 refused", code)
	}
	for name, why := range reasons {
		if !regexp.MustCompile(`(?m)^refused  .*` + regexp.QuoteMeta(name) + `: .*` + regexp.QuoteMeta(why)).MatchString(out) {
			t.Errorf("%s: no refusal saying %q", name, why)
		}
	}
	if strings.Contains(out, "readme.txt") {
		t.Errorf("readme.txt was offered: only photos and videos are")
	}
	uploads := filepath.Join(dataDir, "uploads")
	kept := filesUnder(t, uploads)
	month := time.Now().Format("2006/01")
	for rel, sum := range kept {
		if strings.HasPrefix(rel, ".tus/") {
			t.Errorf("left in the tus folder: %s", rel)
			continue
		}
		if !regexp.MustCompile(`^anna/\d{4}/\d{2}/[^/]+$`).MatchString(rel) {
			t.Errorf("%s: not under anna/YYYY/MM/", rel)
		}
		name, ok := want[sum]
		if !ok {
			t.Errorf("%s: kept, but is not one of the good files (hostile content left behind?)", rel)
			continue
		}
		if filepath.Base(rel) != filepath.Base(name) {
			t.Errorf("%s: kept as another name than %s", rel, name)
		}
		if name == "clip.mp4" && !strings.HasPrefix(rel, "anna/"+month+"/") {
			t.Logf("clip.mp4 under %s (its recorded date)", rel)
		}
	}
	if len(kept) != len(want) {
		t.Errorf("kept %d files under %s, want the %d good ones: %v", len(kept), uploads, len(want), sortedKeys(kept))
	}

	anna := signedIn(t, s, "anna", annaPassword)
	ben := signedIn(t, s, "ben", benPassword)
	ids := map[string]bool{}
	for sum := range want {
		b, _ := hex.DecodeString(sum)
		ids[photoIDOf(b)] = true
	}
	waitFor(t, "the uploads indexed in anna's list", 2*time.Minute, func() bool {
		got, err := listPhotos(anna, s.base, "/api/photos?limit=500")
		if err != nil {
			return false
		}
		for id := range ids {
			if _, ok := got[id]; !ok {
				return false
			}
		}
		return true
	})
	got, err := listPhotos(ben, s.base, "/api/photos?limit=500")
	if err != nil {
		t.Fatal(err)
	}
	for id := range ids {
		if _, ok := got[id]; ok {
			t.Errorf("ben sees anna's upload %s", id)
		}
	}
	for id := range ids {
		if code, _, _ := fetch(t, ben, s.base, "/thumbnail/"+id+"?v=1"); code != 404 {
			t.Errorf("ben: thumbnail of anna's upload %s: %d, want 404", id, code)
		}
	}

	// 2. Again: everything is on the server already (check), nothing sent.
	out, code = uploadCLI(t, cliEnv, "--server", s.base, "--key", annaKey, good)
	if code != 0 || !strings.Contains(out, "0 uploaded, 4 skipped, 0 refused, 0 failed; 0 bytes sent") {
		t.Fatalf("second run: exit %d\n%s", code, out)
	}

	// 3. Cut mid-PATCH: the client asks the offset and sends the rest.
	resumed := t.TempDir()
	if err := os.WriteFile(filepath.Join(resumed, "big.jpg"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	cp := &cutProxy{}
	proxy := httptest.NewServer(cp.handler(s.base))
	defer proxy.Close()
	out, code = uploadCLI(t, cliEnv, "--server", proxy.URL, "--key", annaKey, resumed)
	t.Logf("resumed upload:\n%s", out)
	if code != 0 || !strings.Contains(out, "1 uploaded") || !cp.cut.Load() {
		t.Fatalf("resumed upload: exit %d, cut %v", code, cp.cut.Load())
	}
	if after := cp.after.Load(); after <= 0 || after >= int64(len(big)) {
		t.Errorf("after the cut %d bytes were sent of %d: want fewer than the file (a resume, not a restart)", after, len(big))
	}
	found := false
	for rel, sum := range filesUnder(t, uploads) {
		if sum == sha256Bytes(big) && strings.HasPrefix(rel, "anna/") {
			found = true
		}
	}
	if !found {
		t.Errorf("the resumed upload is not under uploads/anna byte-identical")
	}

	// 4. Limits and doors.
	keyed := func(k string) *http.Client { return &http.Client{Transport: withKey{k, http.DefaultTransport}} }
	if resp, body := tusCreate(t, keyed(annaKey), s.base, "more.jpg", 1<<20); resp.StatusCode != http.StatusInsufficientStorage || !strings.Contains(body, "quota") {
		t.Errorf("over the quota: %d %s, want 507", resp.StatusCode, body)
	}
	if resp, body := tusCreate(t, keyed(annaKey), s.base, "huge.jpg", maxBytes+1); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("over the size limit: %d %s, want 413", resp.StatusCode, body)
	}
	if resp, body := tusCreate(t, keyed(readKey), s.base, "a.jpg", 10); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a read key: %d %s, want 403", resp.StatusCode, body)
	}
	if resp, body := tusCreate(t, keyed(annaKey), s.base, "a.txt", 10); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("a .txt: %d %s, want 415", resp.StatusCode, body)
	}
	if resp, body := tusCreate(t, anna, s.base, "a.jpg", 10, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a cross-site browser POST with anna's cookie: %d %s, want 403", resp.StatusCode, body)
	}
	if resp, body := tusCreate(t, &http.Client{}, s.base, "a.jpg", 10); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no key, no session: %d %s, want 401", resp.StatusCode, body)
	}
	resp, body := tusCreate(t, anna, s.base, "mine.jpg", 10, "Sec-Fetch-Site", "same-origin", "Origin", s.base)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("a same-origin POST with anna's session: %d %s", resp.StatusCode, body)
	}
	loc, _ := url.Parse(s.base)
	loc, _ = loc.Parse(resp.Header.Get("Location"))
	for _, c := range []struct {
		who  string
		c    *http.Client
		want int
	}{{"ben", keyed(benKey), 404}, {"anna", keyed(annaKey), 200}} {
		req, _ := http.NewRequest(http.MethodHead, loc.String(), nil)
		req.Header.Set("Tus-Resumable", "1.0.0")
		resp, err := c.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s: HEAD of anna's upload in progress: %d, want %d", c.who, resp.StatusCode, c.want)
		}
	}
	req, _ := http.NewRequest(http.MethodDelete, loc.String(), nil)
	req.Header.Set("Tus-Resumable", "1.0.0")
	if resp, err := keyed(annaKey).Do(req); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Errorf("anna ends her upload in progress: %v %v", resp, err)
	}

	// 5. Emptying the trash deletes uploaded files, never a folder's.
	var upID, upRel string
	for rel, sum := range filesUnder(t, uploads) {
		if want[sum] == "photo0"+filepath.Ext(picks[0].path) {
			b, _ := hex.DecodeString(sum)
			upID, upRel = photoIDOf(b), rel
		}
	}
	b, _ := hex.DecodeString(libPhotos[0].sum)
	libID := photoIDOf(b)
	libFile := filepath.Join(lib, libPhotos[0].path)
	if upID == "" {
		t.Fatal("photo0 not found under uploads")
	}
	waitFor(t, "the folder library indexed", time.Minute, func() bool {
		code, _, _ := fetch(t, anna, s.base, "/api/photos/"+libID)
		return code == 200
	})
	if code, b := albumReq(t, keyed(annaKey), "PATCH", s.base+"/api/photos", `{"ids":["`+upID+`","`+libID+`"],"trashed":true}`); code != 200 {
		t.Fatalf("trash: %d %s", code, b)
	}
	if r, body := post(t, anna, s.base+"/trash", url.Values{"empty": {"true"}}, nil); r.StatusCode >= 400 {
		t.Fatalf("empty the trash: %d %s", r.StatusCode, body)
	}
	waitFor(t, "the uploaded file deleted", time.Minute, func() bool {
		_, err := os.Stat(filepath.Join(uploads, upRel))
		return errors.Is(err, os.ErrNotExist)
	})
	waitFor(t, "the uploaded photo gone", time.Minute, func() bool {
		code, _, _ := fetch(t, anna, s.base, "/api/photos/"+upID)
		return code == 404
	})
	if lb, err := os.ReadFile(libFile); err != nil || sha256Bytes(lb) != libPhotos[0].sum {
		t.Errorf("the folder library's file after emptying the trash: %v (it must never be touched)", err)
	}
	if left := filesUnder(t, uploads); len(left) != len(want) { // four good and the resumed one, less the deleted one
		t.Errorf("files under uploads after the purge: %v", sortedKeys(left))
	}
}
