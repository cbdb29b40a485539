package system

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Names of the hostile library's files.
const (
	markupName  = "<script>alert(1)</script>.jpg" // a folder "<script>alert(1)<" holding "script>.jpg"
	quoteName   = `"quote'&amp;.jpg`
	newlineName = "new\nline.jpg"
	unicodeName = "café ☕ 東京.jpg"
	markupFail  = "<img src=x onerror=alert(2)>.jpg" // text: fails, so it is listed on /stats
)

// TestHostileLibrary indexes and serves a library of everything that goes
// wrong in real photo folders (empty, text, 576-megapixel files, a pixel
// bomb, garbage EXIF, symlink loops, names with markup, quotes, a newline,
// non-ASCII), then throws hostile query strings at the server. Truncated and
// corrupt photos become photos marked damaged; index must finish and say
// why each other bad file failed; every page must escape the names; no
// request may get a 500; memory stays bounded; and the library is not
// changed by a single byte.
func TestHostileLibrary(t *testing.T) {
	for _, tool := range []string{"vips", "/usr/bin/time"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: install it (apt-get install libvips-tools time)", tool)
		}
	}
	fixtures := filepath.Join(repoRoot, "testdata", "fixtures", "corrupt")
	exifFixtures, _ := filepath.Glob(filepath.Join(fixtures, "*exif*.jpg"))
	if len(exifFixtures) == 0 {
		t.Fatalf("no %s/*exif*.jpg: run scripts/fetch-fixtures.sh (or make setup-test)", fixtures)
	}

	// --- the library -----------------------------------------------------
	lib := t.TempDir()
	photos := corpusPhotos(t, 64)
	var big *corpusPhoto // a real JPEG over 150 kB, to truncate
	for i := len(photos) - 1; i >= 0; i-- {
		if photos[i].size > 150<<10 && strings.HasSuffix(strings.ToLower(photos[i].path), ".jpg") {
			big = &photos[i]
			break
		}
	}
	if big == nil {
		t.Fatal("no JPEG over 150 kB among the corpus picks to truncate")
	}
	good := map[string]string{} // rel path -> sha256 of the real photos
	for i, p := range photos[:4] {
		rel := "good_" + strconv.Itoa(i) + filepath.Ext(p.path)
		copyFile(t, p.path, filepath.Join(lib, rel))
		good[rel] = p.sum
	}
	for i, rel := range []string{markupName, quoteName, newlineName, unicodeName} {
		copyFile(t, photos[4+i].path, filepath.Join(lib, rel))
		good[rel] = photos[4+i].sum
	}
	write := func(rel string, b []byte) {
		if err := os.WriteFile(filepath.Join(lib, rel), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("empty.jpg", nil)
	write("notes.jpg", []byte("shopping list:\n- milk\n- a new camera\n"))
	write(markupFail, []byte("<html>not a photo</html>\n"))
	whole, err := os.ReadFile(big.path)
	if err != nil {
		t.Fatal(err)
	}
	sos := jpegSegment(t, whole, 0xDA, 0xDA)
	write("truncated.jpg", whole[:sos+(len(whole)-sos)/2])
	write("corrupt.jpg", onesInScan(t, whole))
	phone, err := os.ReadFile(filepath.Join(repoRoot, "testdata", "fixtures", "gps", "iphone4s_gps_orient6.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	write("exif_only.jpg", phone[:jpegSOF(t, phone)]) // cut off before its image: shown by its EXIF thumbnail
	// 2 kB claiming 196 megapixels: a pixel bomb, under the pixel limit.
	bomb := bytes.Clone(whole[:jpegSOF(t, whole)+2048])
	sof := jpegSOF(t, bomb)
	bomb[sof+5], bomb[sof+6], bomb[sof+7], bomb[sof+8] = 14000>>8, 14000&0xFF, 14000>>8, 14000&0xFF
	write("bomb.jpg", bomb)
	damaged := []string{"truncated.jpg", "corrupt.jpg", "exif_only.jpg"}
	for _, f := range exifFixtures {
		copyFile(t, f, filepath.Join(lib, "exif", filepath.Base(f)))
	}
	if out, err := exec.Command("vips", "black", filepath.Join(lib, "big.jpg"), "24000", "24000").CombinedOutput(); err != nil {
		t.Fatalf("vips black big.jpg 24000 24000: %v: %s", err, out)
	}
	if err := os.Symlink(".", filepath.Join(lib, "loop")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("self.jpg", filepath.Join(lib, "self.jpg")); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, lib)
	t.Logf("library: %d entries", len(before))

	// --- shoebox index, under /usr/bin/time -v for its peak memory ---------
	_, dbURL := startCluster(t, nil)
	dataDir := t.TempDir()
	env := shoeboxEnv("DATABASE_URL=" + dbURL)
	idx := startProc(t, "shoebox index (hostile)", env, "/usr/bin/time", "-v", shoeboxBin, "index", "--library", lib, "--data", dataDir)
	if err := idx.wait(t, 4*time.Minute); err != nil {
		t.Fatalf("shoebox index on the hostile library failed: %v\nstdout:\n%s\nstderr:\n%s", err, idx.stdout.String(), tail(idx.stderr.String(), 4000))
	}
	out := idx.stdout.String()
	m := regexp.MustCompile(`(?m)^indexed (\d+), unchanged (\d+), failed (\d+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no summary line `indexed N, unchanged N, failed N`:\n%s", out)
	}
	nFailed, _ := strconv.Atoi(m[3])
	failures := map[string]string{} // path as printed -> reason
	for _, line := range strings.Split(out, "\n") {
		rest, ok := strings.CutPrefix(line, "  failed: ")
		if !ok {
			continue
		}
		name, reason, _ := strings.Cut(rest, ": ")
		if uq, err := strconv.Unquote(name); err == nil {
			name = uq
		}
		failures[name] = reason
	}
	t.Logf("index: %q", m[0])
	for _, name := range sortedKeys(failures) {
		t.Logf("  failed %q: %s", name, failures[name])
	}
	if len(failures) != nFailed {
		t.Errorf("summary says failed %d but %d failures are listed:\n%s", nFailed, len(failures), out)
	}
	for name, re := range map[string]string{
		"empty.jpg": `(?i)empty`,
		"notes.jpg": `.`,
		markupFail:  `.`,
		"big.jpg":   `(?i)too large|pixels`,
		"bomb.jpg":  `pixel bomb`,
		"self.jpg":  `.`,
	} {
		reason, ok := failures[name]
		switch {
		case !ok:
			t.Errorf("%q is not listed among the failures", name)
		case strings.TrimSpace(reason) == "":
			t.Errorf("%q failed without a reason", name)
		case !regexp.MustCompile(re).MatchString(reason):
			t.Errorf("%q failed with reason %q, want it to match %s", name, reason, re)
		}
	}
	for _, name := range append(sortedKeys(good), damaged...) {
		if r, ok := failures[name]; ok {
			t.Errorf("photo %q failed: %s", name, r)
		}
	}
	indexRSS := int64(-1)
	if mm := regexp.MustCompile(`Maximum resident set size \(kbytes\): (\d+)`).FindStringSubmatch(idx.stderr.String()); mm != nil {
		indexRSS, _ = strconv.ParseInt(mm[1], 10, 64)
	} else {
		t.Errorf("no maximum RSS in /usr/bin/time -v output:\n%s", tail(idx.stderr.String(), 2000))
	}

	// --- serve it ------------------------------------------------------------
	s := startServe(t, serveOpts{dbURL: dbURL, library: lib, dataDir: dataDir})
	st := s.waitIndexed(t, 2*time.Minute)
	if st.Queue.Failed != nFailed {
		t.Errorf("/api/stats queue.failed = %d, index said %d", st.Queue.Failed, nFailed)
	}
	list := s.photos(t)
	byPath := map[string]string{} // rel path -> id
	for _, p := range list.Photos {
		byPath[p.Path] = p.ID
	}
	for name := range good {
		if byPath[name] == "" {
			t.Errorf("real photo %q is not in /api/photos", name)
		}
	}
	t.Logf("served: %d photos ready, %d files, %d could not be indexed", st.Photos, st.Files, st.Queue.Failed)

	// The damaged photos are listed, marked, found by is:damaged, counted,
	// and their pages say so.
	var marked []string
	for _, p := range list.Photos {
		if p.Damaged {
			marked = append(marked, p.Path)
			t.Logf("damaged %q: %s", p.Path, p.Damage)
			if p.Damage == "" || p.Width == 0 {
				t.Errorf("damaged %q: %dx%d, damage %q", p.Path, p.Width, p.Height, p.Damage)
			}
		}
	}
	sort.Strings(marked)
	if want := sortedStrings(damaged); !slices.Equal(marked, want) {
		t.Errorf("photos marked damaged: %q, want %q", marked, want)
	}
	if st.Damaged != len(damaged) {
		t.Errorf("/api/stats damaged = %d, want %d", st.Damaged, len(damaged))
	}
	_, found := s.mustGet(t, "/api/search?q=is:damaged", 200)
	for _, name := range damaged {
		if !bytes.Contains(found, []byte(`"id":"`+byPath[name]+`"`)) {
			t.Errorf("is:damaged does not find %q", name)
		}
		if _, page := s.mustGet(t, "/photo/"+byPath[name], 200); !bytes.Contains(page, []byte(`id="damage"`)) {
			t.Errorf("the page of %q has no damage note", name)
		}
	}

	// Every page escapes the names: no raw markup anywhere.
	pages := []string{"/", "/stats", "/search?q=script", "/search?q=quote", "/search?q=onerror",
		"/search?q=" + url.QueryEscape("<script>alert(1)</script>"), "/search?q=" + url.QueryEscape(`"><img src=x onerror=alert(3)>`)}
	for _, p := range list.Photos {
		pages = append(pages, "/photo/"+p.ID)
	}
	// The names (and a reflected query) must never come back as markup; the
	// pages' only scripts are Shoebox's own static files (dropped before
	// the check, so any other <script> is caught).
	rawMarkup := regexp.MustCompile(`(?i)<script|<img src=x onerror=alert\(\d\)>|"quote'`)
	ownScript := regexp.MustCompile(`<script src="/static/[0-9a-f]+/[a-z]+\.js" defer></script>`)
	for _, p := range pages {
		h, b := s.mustGet(t, p, 200)
		b = ownScript.ReplaceAll(b, nil)
		if !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
			t.Errorf("GET %s: Content-Type %q", p, h.Get("Content-Type"))
		}
		if loc := rawMarkup.FindIndex(b); loc != nil {
			t.Errorf("GET %s: unescaped markup %q", p, b[max(0, loc[0]-40):min(len(b), loc[1]+40)])
		}
	}
	_, home := s.mustGet(t, "/", 200)
	if !bytes.Contains(home, []byte("&lt;script&gt;alert(1)&lt;/script&gt;.jpg")) {
		t.Errorf("gallery does not show the escaped name of %q", markupName)
	}
	_, statsPage := s.mustGet(t, "/stats", 200)
	if !bytes.Contains(statsPage, []byte("&lt;img src=x onerror=alert(2)&gt;.jpg")) {
		t.Errorf("/stats does not list %q (escaped) among the failures", markupFail)
	}
	for _, p := range []string{"/api/photos?limit=500", "/api/search?q=script", "/api/stats?failures"} {
		h, b := s.mustGet(t, p, 200)
		if !strings.HasPrefix(h.Get("Content-Type"), "application/json") || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: Content-Type %q, X-Content-Type-Options %q", p, h.Get("Content-Type"), h.Get("X-Content-Type-Options"))
		}
		if bytes.Contains(b, []byte("<script")) || bytes.Contains(b, []byte("<img")) {
			t.Errorf("GET %s: raw markup in JSON", p)
		}
	}
	for q, want := range map[string]string{"script": markupName, "café": unicodeName, "東京": unicodeName, "quote": quoteName} {
		_, b := s.mustGet(t, "/search?q="+url.QueryEscape(q), 200)
		imgs := imgTags(b)
		if len(imgs) != 1 || !strings.Contains(string(b), "/thumbnail/"+byPath[want]) {
			t.Errorf("/search?q=%s: %d results, want exactly %q", q, len(imgs), want)
		}
	}
	// The originals come back byte for byte, whatever their names.
	for name, sum := range good {
		id := byPath[name]
		if id == "" {
			continue
		}
		h, b := s.mustGet(t, "/original/"+id, 200)
		if got := sha256Bytes(b); got != sum {
			t.Errorf("/original/%s (%q): content differs from the file", id, name)
		}
		if cd := h.Get("Content-Disposition"); strings.ContainsAny(cd, "\n\r\"<") {
			t.Errorf("/original/%s: unsafe Content-Disposition %q", id, cd)
		}
		_, th := s.mustGet(t, "/thumbnail/"+id+"?v=1", 200)
		if !isWebP(th) {
			t.Errorf("/thumbnail/%s (%q) is not WebP", id, name)
		}
	}

	// Hostile query strings: 200 or 400, never a 500, the server stays up.
	cursor := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	long := strings.Repeat("a", 10<<10)
	queries := []string{
		"/search?q=%00", "/search?q=a%00b", "/search?q=%27;DROP%20TABLE%20photos;--", "/search?q=" + long,
		"/search?q=%ff%fe", "/search?q=%25", "/search?q=_", "/search?q=%5C", "/search?q=" + strings.Repeat("a+", 50),
		"/?cursor=garbage", "/?cursor=" + cursor("1 x"), "/?cursor=" + cursor("99999999999999999999 x"),
		"/?cursor=" + cursor("-9223372036854775808 abc"), "/?cursor=" + cursor("9223372036854775807 abc"),
		"/?cursor=" + cursor("0 \x00"), "/?limit=-1", "/?limit=abc", "/?limit=0", "/?limit=99999999999999999999",
		"/api/photos?limit=-1", "/api/photos?limit=abc", "/api/photos?cursor=garbage",
		"/api/photos?cursor=" + cursor("-9223372036854775808 abc"),
		"/api/search?q=%00", "/api/search?q=%27;DROP%20TABLE%20photos;--", "/api/search?q=" + long, "/api/search?q=%ff",
		"/search?q=x&cursor=garbage&limit=abc",
	}
	paths := []string{
		"/photo/%00", "/photo/" + strings.Repeat("a", 20), "/photo/..%2f..%2fetc%2fpasswd", "/photo/" + long,
		"/thumbnail/..%2f..%2fetc%2fpasswd", "/thumbnail/" + strings.Repeat("A", 20), "/preview/%00",
		"/original/..%2f..%2fetc%2fpasswd", "/api/photos/%27%20OR%201=1--", "/static/x/..%2f..%2fgo.mod",
		"/../../etc/passwd", "/nope",
	}
	for _, q := range queries {
		code, _, b, err := s.get(q)
		if err != nil {
			t.Errorf("GET %.80s: %v", q, err)
			continue
		}
		if code != 200 && code != 400 {
			t.Errorf("GET %.80s: status %d, want 200 or 400: %s", q, code, tail(string(b), 200))
		}
	}
	for _, p := range paths {
		code, _, _, err := s.get(p)
		if err != nil {
			t.Errorf("GET %.80s: %v", p, err)
		} else if code >= 500 {
			t.Errorf("GET %.80s: status %d", p, code)
		}
	}
	s.mustGet(t, "/healthz", 200)
	s.mustGet(t, "/", 200)
	if after := s.stats(t); after.Photos != st.Photos {
		t.Errorf("photos %d after the hostile queries, %d before", after.Photos, st.Photos)
	}
	if !s.running() {
		t.Fatalf("shoebox serve died: %v", s.err)
	}

	// Memory: a bound, not a speed.
	rss, err1 := procStatusKB(s.pid(), "VmRSS")
	hwm, err2 := procStatusKB(s.pid(), "VmHWM")
	if err1 != nil || err2 != nil {
		t.Fatalf("read serve memory: %v %v", err1, err2)
	}
	t.Logf("memory: index peak RSS %d MB; serve RSS %d MB (peak %d MB)", indexRSS>>10, rss>>10, hwm>>10)
	const limitKB = 500 << 10
	if indexRSS > limitKB {
		t.Errorf("shoebox index peaked at %d MB RSS, over 500 MB", indexRSS>>10)
	}
	if hwm > limitKB {
		t.Errorf("shoebox serve peaked at %d MB RSS, over 500 MB", hwm>>10)
	}

	// The library is read-only to Shoebox.
	s.stop(15 * time.Second)
	if d := diffSnapshots(before, snapshot(t, lib)); len(d) > 0 {
		t.Errorf("the library changed:\n  %s", strings.Join(d, "\n  "))
	}
	if entries, _ := os.ReadDir(lib); len(entries) == 0 {
		t.Errorf("library is empty")
	}
}

func sortedStrings(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

// jpegSegment is the offset of a JPEG's first segment with a marker in
// [lo, hi]: 0xC0..0xC2 for its frame header, 0xDA for its scan.
func jpegSegment(t *testing.T, b []byte, lo, hi byte) int {
	t.Helper()
	for i := 2; i+4 <= len(b) && b[i] == 0xFF; i += 2 + int(binary.BigEndian.Uint16(b[i+2:])) {
		if b[i+1] >= lo && b[i+1] <= hi {
			return i
		}
	}
	t.Fatalf("no JPEG segment 0x%X..0x%X", lo, hi)
	return 0
}

func jpegSOF(t *testing.T, b []byte) int { return jpegSegment(t, b, 0xC0, 0xC2) }

// onesInScan returns a copy of a JPEG with a run of its entropy-coded data
// turned to one bits (stuffed FF 00 pairs): damage libjpeg must notice.
func onesInScan(t *testing.T, b []byte) []byte {
	t.Helper()
	b = bytes.Clone(b)
	sos := jpegSegment(t, b, 0xDA, 0xDA)
	mid := sos + (len(b)-sos)/2
	for b[mid-1] == 0xFF || b[mid] == 0xFF {
		mid++
	}
	for i := mid; i < mid+64; i += 2 {
		b[i], b[i+1] = 0xFF, 0x00
	}
	return b
}

func sortedKeys(m map[string]string) []string {
	k := make([]string, 0, len(m))
	for x := range m {
		k = append(k, x)
	}
	sort.Strings(k)
	return k
}

func sha256Bytes(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
