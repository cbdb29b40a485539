package system

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"shoebox/internal/media/videotest"
)

// ffmpegsWriting lists the ffmpeg processes (anyone's child) whose command
// line names dir: the conversions of a server using that data folder.
func ffmpegsWriting(dir string) []string {
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var out []string
	for _, c := range cmdlines {
		b, err := os.ReadFile(c)
		if err != nil || !strings.HasSuffix(strings.SplitN(string(b), "\x00", 2)[0], "ffmpeg") || !strings.Contains(string(b), dir) {
			continue
		}
		if st, err := os.ReadFile(filepath.Join(filepath.Dir(c), "stat")); err == nil {
			if f := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+1:])); len(f) > 0 && f[0] == "Z" {
				continue
			}
		}
		out = append(out, filepath.Base(filepath.Dir(c)))
	}
	return out
}

// TestTranscodeServe runs the built binary: a VP9 WebM is indexed, 503
// "being converted" or already converted, then plays as H.264 MP4 with
// Range (206 video/mp4); SIGTERM while a long video converts leaves no
// ffmpeg behind and no half-written file, and the next start converts it.
func TestTranscodeServe(t *testing.T) {
	lib := t.TempDir()
	clips := t.TempDir()
	videotest.Write(t, clips)
	copyFile(t, filepath.Join(clips, "vp9.webm"), filepath.Join(lib, "vp9.webm"))
	before := snapshot(t, lib)
	dataDir := t.TempDir()
	s := startServe(t, serveOpts{library: lib, dataDir: dataDir})

	var id string
	waitFor(t, "the webm listed", 2*time.Minute, func() bool {
		var list struct {
			Photos []struct{ ID, Path string } `json:"photos"`
		}
		_, _, b, err := s.get("/api/photos")
		if err != nil || json.Unmarshal(b, &list) != nil || len(list.Photos) != 1 {
			return false
		}
		id = list.Photos[0].ID
		return true
	})
	waitFor(t, "the webm converted", 2*time.Minute, func() bool {
		code, h, b, err := s.get("/video/" + id)
		if err == nil && code == http.StatusServiceUnavailable && (h.Get("Retry-After") == "" || !strings.Contains(string(b), "being converted")) {
			t.Fatalf("503 without Retry-After or reason: %v %s", h, b)
		}
		if err == nil && code != 200 && code != http.StatusServiceUnavailable {
			t.Fatalf("/video while converting: %d %s", code, b)
		}
		return err == nil && code == 200
	})
	req, _ := http.NewRequest("GET", s.base+"/video/"+id, nil)
	req.Header.Set("Range", "bytes=0-1023")
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || resp.Header.Get("Content-Type") != "video/mp4" || len(b) != 1024 || string(b[4:8]) != "ftyp" {
		t.Fatalf("/video: %d %s %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(b))
	}
	s.proc.stop(30 * time.Second)

	// A long video: seconds of ffmpeg, stopped mid-way.
	long := filepath.Join(lib, "long.avi")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=size=16x16:rate=1", "-t", "72000", "-c:v", "mpeg4", long).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	before["long.avi"] = ""
	s = startServe(t, serveOpts{library: lib, dataDir: dataDir})
	waitFor(t, "the long video converting", 2*time.Minute, func() bool { return len(ffmpegsWriting(dataDir)) > 0 })
	s.proc.stop(30 * time.Second)
	if s.proc.running() {
		t.Fatal("serve did not stop on SIGTERM")
	}
	if left := ffmpegsWriting(dataDir); len(left) > 0 {
		t.Errorf("ffmpeg left running after SIGTERM: pids %v", left)
	}
	tmps, _ := filepath.Glob(filepath.Join(dataDir, "media", "*", ".tmp-*.mp4"))
	if len(tmps) > 0 {
		t.Errorf("half-written conversions left: %v", tmps)
	}

	// The next start converts it.
	s = startServe(t, serveOpts{library: lib, dataDir: dataDir})
	var longID string
	waitFor(t, "the long video listed", 2*time.Minute, func() bool {
		var list struct {
			Photos []struct{ ID, Path string } `json:"photos"`
		}
		_, _, b, err := s.get("/api/photos")
		if err != nil || json.Unmarshal(b, &list) != nil {
			return false
		}
		for _, p := range list.Photos {
			if p.Path == "long.avi" {
				longID = p.ID
			}
		}
		return longID != ""
	})
	waitFor(t, "the long video converted after the restart", 3*time.Minute, func() bool {
		code, _, _, err := s.get("/video/" + longID)
		return err == nil && code == 200
	})
	after := snapshot(t, lib)
	for name := range before {
		if _, ok := after[name]; !ok {
			t.Errorf("library lost %s", name)
		}
	}
	if len(after) != len(before) {
		t.Errorf("library files %d, want %d (nothing written into it)", len(after), len(before))
	}
}
