package system

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"shoebox/internal/media/videotest"
)

// TestVideoLibrary indexes a library of real videos in every codec and
// container Shoebox reads, plus hostile ones, with the built binary: the
// index report lists each hostile file with its reason and no sound one;
// the API types and times them; thumbnails and previews are served;
// /video plays the H.264 one with Range requests (also with PostgreSQL
// stopped: no SQL) and the VP9 one converted; another user gets 404; and the
// library is not changed by a byte.
func TestVideoLibrary(t *testing.T) {
	lib := t.TempDir()
	videotest.Write(t, lib)
	before := snapshot(t, lib)
	cluster, dbURL := startCluster(t, nil)
	addUser(t, dbURL, "anna", annaPassword, true)
	addUser(t, dbURL, "ben", benPassword, false)
	dataDir := t.TempDir()

	idx := startProc(t, "shoebox index (videos)", shoeboxEnv("DATABASE_URL="+dbURL), shoeboxBin, "index", "--library", lib, "--data", dataDir)
	if err := idx.wait(t, 3*time.Minute); err != nil {
		t.Fatalf("shoebox index: %v\n%s\n%s", err, idx.stdout.String(), tail(idx.stderr.String(), 4000))
	}
	out := idx.stdout.String()
	t.Logf("index:\n%s", out)
	failures := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, "  failed: "); ok {
			name, reason, _ := strings.Cut(rest, ": ")
			failures[name] = reason
		}
	}
	for name, why := range videotest.Hostile {
		if r, ok := failures[name]; !ok || !strings.Contains(r, why) {
			t.Errorf("%s: failure %q (listed %v), want a reason saying %q", name, r, ok, why)
		}
		if strings.Contains(failures[name], "root:") {
			t.Errorf("%s: the reason quotes /etc/passwd: %s", name, failures[name])
		}
	}
	for _, c := range videotest.Clips {
		if r, ok := failures[c.Name]; ok {
			t.Errorf("%s failed: %s", c.Name, r)
		}
	}
	if m := regexp.MustCompile(`(?m)^indexed (\d+), unchanged \d+, failed (\d+)$`).FindStringSubmatch(out); m == nil ||
		m[1] != itoa(len(videotest.Clips)) || m[2] != itoa(len(videotest.Hostile)) {
		t.Errorf("summary %q, want indexed %d, failed %d", m, len(videotest.Clips), len(videotest.Hostile))
	}

	s := startServe(t, serveOpts{dbURL: dbURL, library: lib, dataDir: dataDir})
	anna := signedIn(t, s, "anna", annaPassword)
	ben := signedIn(t, s, "ben", benPassword)
	var list struct {
		Photos []struct {
			ID       string   `json:"id"`
			Path     string   `json:"path"`
			Type     string   `json:"type"`
			Duration *float64 `json:"duration"`
		} `json:"photos"`
	}
	var byName map[string]string
	waitFor(t, "every clip listed", 2*time.Minute, func() bool {
		code, _, b := fetch(t, anna, s.base, "/api/photos?limit=500")
		if code != 200 || json.Unmarshal(b, &list) != nil {
			return false
		}
		byName = map[string]string{}
		for _, p := range list.Photos {
			byName[p.Path] = p.ID
		}
		return len(byName) == len(videotest.Clips)
	})
	for _, p := range list.Photos {
		var want *videotest.Clip
		for i := range videotest.Clips {
			if videotest.Clips[i].Name == p.Path {
				want = &videotest.Clips[i]
			}
		}
		if want == nil {
			t.Errorf("%s listed: not a sound clip", p.Path)
			continue
		}
		if p.Type != "video" || p.Duration == nil || math.Abs(*p.Duration-want.Duration) > 0.15 {
			t.Errorf("%s: type %q, duration %v; want video, %v", p.Path, p.Type, p.Duration, want.Duration)
		}
		for _, path := range []string{"/thumbnail/" + p.ID + "?v=1", "/preview/" + p.ID + "?v=1"} {
			if code, _, b := fetch(t, anna, s.base, path); code != 200 || len(b) == 0 {
				t.Errorf("%s %s: %d, %d bytes", p.Path, path, code, len(b))
			}
		}
	}
	h264, vp9 := byName["h264.mp4"], byName["vp9.webm"]
	orig, err := os.ReadFile(filepath.Join(lib, "h264.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	plays := func(c *http.Client, when string) {
		t.Helper()
		req, _ := http.NewRequest("GET", s.base+"/video/"+h264, nil)
		req.Header.Set("Range", "bytes=0-1023")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s: /video: %v", when, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusPartialContent || string(b) != string(orig[:1024]) || resp.Header.Get("Content-Type") != "video/mp4" {
			t.Errorf("%s: /video with a Range: %d %s, %d bytes", when, resp.StatusCode, resp.Header.Get("Content-Type"), len(b))
		}
	}
	plays(anna, "signed in")
	// `shoebox index` waits for the queue, conversions included: the VP9
	// clip plays as its H.264 MP4.
	if code, h, b := fetch(t, anna, s.base, "/video/"+vp9); code != 200 || h.Get("Content-Type") != "video/mp4" || len(b) < 8 || string(b[4:8]) != "ftyp" {
		t.Errorf("/video of the VP9 clip: %d %s, want 200 video/mp4 (converted)", code, h.Get("Content-Type"))
	}
	if code, _, _ := fetch(t, anna, s.base, "/api/search?q=is:video"); code != 200 {
		t.Errorf("is:video: %d", code)
	}
	for _, p := range []string{"/video/" + h264, "/thumbnail/" + h264 + "?v=1", "/api/photos/" + h264} {
		if code, _, _ := fetch(t, ben, s.base, p); code != 404 {
			t.Errorf("ben: %s: %d, want 404", p, code)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := cluster.Stop(ctx); err != nil {
		t.Fatalf("stop PostgreSQL: %v", err)
	}
	plays(anna, "PostgreSQL stopped")

	if after := snapshot(t, lib); !sameSnapshot(before, after) {
		t.Errorf("the library changed")
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func sameSnapshot(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
