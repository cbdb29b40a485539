package system

import (
	"encoding/json"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// liveID is the content identifier in the real iPhone 11 Pro still's Apple
// maker note, as exiftool reads it (MediaGroupUUID). The iPhone 15 Pro
// fixture, a real Live Photo still, is cut short: libheif does not decode it.
const liveID = "31C53F98-6E4A-4B09-8134-AA3B99A3E9E0"

// ffmpegClip writes a 1.5 s H.264/AAC QuickTime movie (browsers play it as
// it is), with Apple's content identifier when id is not "".
func ffmpegClip(t *testing.T, dst, id string) {
	t.Helper()
	args := []string{"-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=15", "-f", "lavfi", "-i", "sine=frequency=440",
		"-t", "1.5", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"}
	if id != "" {
		args = append(args, "-metadata", "com.apple.quicktime.content.identifier="+id, "-movflags", "use_metadata_tags")
	}
	if out, err := exec.Command("ffmpeg", append(args, dst)...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %s: %v %s", dst, err, out)
	}
}

// TestLivePhotos indexes a library holding an iPhone Live Photo (the real
// HEIC still and a movie carrying its content identifier) and an unrelated
// clip with the built binary: the pair is one item, marked with its
// motion, which /video plays; the clip is listed as a video; a share link
// of the still plays its movie for the visitor, and another link does not.
func TestLivePhotos(t *testing.T) {
	lib := t.TempDir()
	copyFile(t, filepath.Join(repoRoot, "testdata/fixtures/formats/iphone11pro_gps_orient6.heic"), filepath.Join(lib, "IMG_0001.HEIC"))
	ffmpegClip(t, filepath.Join(lib, "IMG_0001.MOV"), liveID)
	ffmpegClip(t, filepath.Join(lib, "clip.mov"), "")
	before := snapshot(t, lib)
	_, dbURL := startCluster(t, nil)
	addUser(t, dbURL, "anna", annaPassword, true)
	s := startServe(t, serveOpts{dbURL: dbURL, library: lib})
	anna := signedIn(t, s, "anna", annaPassword)

	type entry struct {
		ID           string `json:"id"`
		Path         string `json:"path"`
		Type         string `json:"type"`
		LiveVideoURL string `json:"live_video_url"`
	}
	var list struct{ Photos []entry }
	byPath := map[string]entry{}
	var last []byte
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last list: %s", last)
		}
	})
	waitFor(t, "the Live Photo paired", 90*time.Second, func() bool {
		code, _, b := fetch(t, anna, s.base, "/api/photos?limit=50")
		last = b
		if code != 200 || json.Unmarshal(b, &list) != nil {
			return false
		}
		byPath = map[string]entry{}
		for _, p := range list.Photos {
			byPath[p.Path] = p
		}
		return byPath["IMG_0001.HEIC"].LiveVideoURL != "" && byPath["clip.mov"].ID != ""
	})
	if len(list.Photos) != 2 {
		t.Fatalf("want the still and the clip only: %+v", list.Photos)
	}
	still, clip := byPath["IMG_0001.HEIC"], byPath["clip.mov"]
	if still.Type != "photo" || clip.Type != "video" || clip.LiveVideoURL != "" {
		t.Errorf("still %+v, clip %+v", still, clip)
	}
	movie, ok := strings.CutPrefix(still.LiveVideoURL, "/video/")
	if !ok || movie == clip.ID || movie == still.ID {
		t.Fatalf("live_video_url %q", still.LiveVideoURL)
	}
	if code, _, b := fetch(t, anna, s.base, "/api/photos/"+movie); code != 200 || !strings.Contains(string(b), `"path":"IMG_0001.MOV"`) {
		t.Errorf("the movie itself: %d %s", code, b)
	}
	if code, _, b := fetch(t, anna, s.base, "/api/search?q=is:video"); code != 200 || strings.Contains(string(b), movie) || !strings.Contains(string(b), clip.ID) {
		t.Errorf("is:video: %d %s", code, b)
	}
	if _, _, page := fetch(t, anna, s.base, "/photo/"+still.ID); !strings.Contains(string(page), `src="/video/`+movie+`" muted playsinline`) {
		t.Errorf("the still's page does not play its motion")
	}
	rangeGet := func(c *http.Client, id string) (int, string) {
		req, _ := http.NewRequest("GET", s.base+"/video/"+id, nil)
		req.Header.Set("Range", "bytes=0-99")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Content-Type")
	}
	if code, ct := rangeGet(anna, movie); code != 206 || ct != "video/quicktime" && ct != "video/mp4" {
		t.Errorf("/video of the movie: %d %s, want 206", code, ct)
	}

	// Share links: the still's plays its movie (a link showing metadata
	// plays originals); a link of the clip alone does not.
	_, link := createShare(t, anna, s.base, `{"ids":["`+still.ID+`"],"show_metadata":true}`)
	v := visitor(t)
	if code, _, page := fetch(t, v, s.base, link); code != 200 || !strings.Contains(string(page), `title="Live Photo">LIVE</span>`) {
		t.Fatalf("the link: %d, want the still with a LIVE badge", code)
	}
	if code, _, page := fetch(t, v, s.base, link+"/p/"+still.ID); code != 200 || !strings.Contains(string(page), `src="/video/`+movie+`"`) {
		t.Errorf("the shared still's page: %d, no motion", code)
	}
	if code, _ := rangeGet(v, movie); code != 206 {
		t.Errorf("the shared still's movie: %d, want 206", code)
	}
	_, other := createShare(t, anna, s.base, `{"ids":["`+clip.ID+`"],"show_metadata":true}`)
	v2 := visitor(t)
	fetch(t, v2, s.base, other)
	if code, _ := rangeGet(v2, movie); code != 404 {
		t.Errorf("the movie on a link without its still: %d, want 404", code)
	}

	if d := diffSnapshots(before, snapshot(t, lib)); len(d) > 0 {
		t.Errorf("the library changed: %v", d)
	}
}
