// Package videotest makes real encoded videos for tests, with ffmpeg's
// test sources: one per codec and container Shoebox indexes, and hostile
// files that must be refused. They take about two seconds to make on two
// cores, so each test process makes them once into its own folder.
package videotest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Clip is one made video and what it holds, as made (not as probed): the
// truth the tests compare with.
type Clip struct {
	Name       string
	Container  string // as media.Video names it
	VideoCodec string
	AudioCodec string
	Width      int // as displayed
	Height     int
	Duration   float64 // seconds
	Playable   bool    // by a browser, as it is
}

// Clips are the sound videos Write makes.
var Clips = []Clip{
	{"h264.mp4", "mp4", "h264", "aac", 160, 120, 2, true},
	{"hevc.mp4", "mp4", "hevc", "aac", 160, 120, 2, false},
	{"vp9.webm", "webm", "vp9", "opus", 160, 120, 2, false},
	{"av1.mkv", "matroska", "av1", "opus", 160, 120, 2, false},
	{"mpeg4.avi", "avi", "mpeg4", "mp3", 160, 120, 2, false},
	// Stored 160x120, turned a quarter for display: left half red, right
	// half blue as stored; see Rotated.
	{"rotated.mov", "mov", "h264", "aac", 120, 160, 2, true},
	{"clip.3gp", "3gp", "h263", "aac", 176, 144, 2, false},
	{"clip.m4v", "m4v", "h264", "aac", 160, 120, 2, true},
	// Ten hours of 16x16 at one frame a second: tiny, and no costlier to
	// index than a short clip.
	{"long.mp4", "mp4", "h264", "", 16, 16, 36000, true},
}

// Rotated is what rotated.mov's container says: the display matrix turns
// it 90° counterclockwise (ffprobe's "rotation": 90; ffmpeg 5.1 writes
// that for -metadata:s:v rotate=90), so shown upright its stored left half
// (red) is at the bottom and its right half (blue) at the top; and where
// and when it was made, as an iPhone writes them.
var Rotated = struct {
	RotationCW    int
	Lat, Lon, Alt float64
	TakenAt       string // the local time, with its zone
}{270, 48.8584, 2.2945, 35, "2021-06-05T14:03:02+02:00"}

// Hostile are the files that must be refused, with a word of the reason.
var Hostile = map[string]string{
	"empty.mp4":     "empty file",
	"text.mp4":      "not a readable video",
	"truncated.mp4": "not a readable video",
	"playlist.mp4":  "playlists",
	"concat.mkv":    "playlists",
	"streams.mkv":   "streams",
}

// Write makes every clip of Clips and every file of Hostile in dir.
func Write(t testing.TB, dir string) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Fatalf("ffmpeg is not installed (scripts/setup.sh installs it): %v", err)
	}
	src := func(size string) []string {
		return []string{"-f", "lavfi", "-i", "testsrc2=size=" + size + ":rate=10", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", "2"}
	}
	std := src("160x120")
	cat := func(a ...[]string) []string {
		var out []string
		for _, x := range a {
			out = append(out, x...)
		}
		return out
	}
	h264 := []string{"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"}
	aac := []string{"-c:a", "aac"}
	many := []string{"-f", "lavfi", "-i", "sine=sample_rate=8000", "-t", "0.2"}
	for i := 0; i < 200; i++ {
		many = append(many, "-map", "0:a")
	}
	lr := []string{"-f", "lavfi", "-i", "color=red:size=80x120:rate=10[l];color=blue:size=80x120:rate=10[r];[l][r]hstack",
		"-f", "lavfi", "-i", "sine=sample_rate=44100", "-t", "2"}
	runs := []struct {
		name string
		args []string
	}{
		{"h264.mp4", cat(std, h264, aac)},
		{"hevc.mp4", cat(std, []string{"-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-pix_fmt", "yuv420p", "-tag:v", "hvc1"}, aac)},
		{"vp9.webm", cat(std, []string{"-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-c:a", "libopus"})},
		{"av1.mkv", cat(std, []string{"-c:v", "libsvtav1", "-preset", "12", "-svtav1-params", "lp=1", "-c:a", "libopus"})},
		{"mpeg4.avi", cat(std, []string{"-c:v", "mpeg4", "-c:a", "libmp3lame"})},
		{".lr.mp4", cat(lr, h264, aac)},
		{"rotated.mov", []string{"-i", filepath.Join(dir, ".lr.mp4"), "-map_metadata", "-1", "-c", "copy", "-metadata:s:v:0", "rotate=90",
			"-metadata", "location=+48.8584+002.2945+035.000/", "-metadata", "com.apple.quicktime.creationdate=2021-06-05T14:03:02+0200",
			"-movflags", "use_metadata_tags"}},
		{"clip.3gp", cat(src("176x144"), []string{"-c:v", "h263", "-ar", "8000", "-ac", "1"}, aac)},
		{"clip.m4v", cat(std, h264, aac)},
		{"long.mp4", []string{"-f", "lavfi", "-i", "color=size=16x16:rate=1", "-t", "36000", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"}},
		{"streams.mkv", cat(many, []string{"-c:a", "aac"})},
	}
	for _, r := range runs {
		args := append([]string{"-hide_banner", "-nostdin", "-v", "error", "-y"}, r.args...)
		cmd := exec.Command("ffmpeg", append(args, filepath.Join(dir, r.name))...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make %s: %v\n%s", r.name, err, out)
		}
	}
	os.Remove(filepath.Join(dir, ".lr.mp4"))
	h, err := os.ReadFile(filepath.Join(dir, "h264.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"empty.mp4": "",
		"text.mp4":  "this is not a video\n",
		// The muxer writes the index (moov) last: cut, it has none.
		"truncated.mp4": string(h[:len(h)/2]),
		"playlist.mp4":  "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\n/etc/passwd\n#EXTINF:10,\nfile:/etc/passwd\n#EXT-X-ENDLIST\n",
		"concat.mkv":    "ffconcat version 1.0\nfile /etc/passwd\nfile h264.mp4\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
