package media

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// outProbe is ffprobe's view of a transcoded file, read independently of
// the code under test.
type outProbe struct {
	Streams []struct {
		CodecType string            `json:"codec_type"`
		CodecName string            `json:"codec_name"`
		PixFmt    string            `json:"pix_fmt"`
		Width     int               `json:"width"`
		Height    int               `json:"height"`
		Tags      map[string]string `json:"tags"`
		SideData  []map[string]any  `json:"side_data_list"`
	} `json:"streams"`
	Format struct {
		FormatName string            `json:"format_name"`
		Tags       map[string]string `json:"tags"`
	} `json:"format"`
}

func probeOut(t *testing.T, path string) outProbe {
	t.Helper()
	b, err := exec.Command("ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var p outProbe
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// topAtoms lists an MP4's top-level boxes in order.
func topAtoms(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for off := 0; off+8 <= len(b); {
		size := int(binary.BigEndian.Uint32(b[off:]))
		out = append(out, string(b[off+4:off+8]))
		if size == 1 && off+16 <= len(b) {
			size = int(binary.BigEndian.Uint64(b[off+8:]))
		}
		if size < 8 {
			break
		}
		off += size
	}
	return out
}

func transcodeFile(t *testing.T, src, dst string, duration float64, opt TranscodeOptions) error {
	t.Helper()
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return Transcode(context.Background(), f, duration, dst, opt)
}

// Every codec browsers do not play becomes H.264 (yuv420p) with AAC in an
// MP4 whose index comes first, upright, within 1080p, and without any
// metadata: no place, no date, no encoder.
func TestTranscodeClips(t *testing.T) {
	dir := clips(t)
	big := filepath.Join(t.TempDir(), "big.avi")
	tall := filepath.Join(t.TempDir(), "tall.mkv")
	for _, mk := range [][]string{
		{"-f", "lavfi", "-i", "testsrc2=size=2560x1440:rate=5", "-t", "0.6", "-c:v", "mpeg4", big},
		{"-f", "lavfi", "-i", "testsrc2=size=1440x2560:rate=5", "-t", "0.6", "-c:v", "mpeg4", "-metadata", "title=secret", tall},
	} {
		if out, err := exec.Command("ffmpeg", append([]string{"-v", "error", "-y"}, mk...)...).CombinedOutput(); err != nil {
			t.Fatalf("make: %v %s", err, out)
		}
	}
	for _, c := range []struct {
		src           string
		width, height int
		audio         bool
	}{
		{filepath.Join(dir, "vp9.webm"), 160, 120, true},
		{filepath.Join(dir, "hevc.mp4"), 160, 120, true},
		{filepath.Join(dir, "av1.mkv"), 160, 120, true},
		{filepath.Join(dir, "mpeg4.avi"), 160, 120, true},
		{filepath.Join(dir, "clip.3gp"), 176, 144, true},
		// Stored 160x120 with a display matrix: converted upright, and
		// its place and date left behind.
		{filepath.Join(dir, "rotated.mov"), 120, 160, true},
		{big, 1920, 1080, false},
		{tall, 1080, 1920, false},
	} {
		t.Run(filepath.Base(c.src), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.mp4")
			if err := transcodeFile(t, c.src, out, 2, TranscodeOptions{}); err != nil {
				t.Fatal(err)
			}
			p := probeOut(t, out)
			var video, audio int
			for _, s := range p.Streams {
				switch s.CodecType {
				case "video":
					video++
					if s.CodecName != "h264" || s.PixFmt != "yuv420p" || s.Width != c.width || s.Height != c.height {
						t.Errorf("video stream %s %s %dx%d, want h264 yuv420p %dx%d", s.CodecName, s.PixFmt, s.Width, s.Height, c.width, c.height)
					}
					if len(s.SideData) > 0 {
						t.Errorf("video stream keeps side data (a rotation?): %v", s.SideData)
					}
					for k := range s.Tags {
						// The encoder's name (ours, not the camera's) may stay.
						if k != "language" && k != "handler_name" && k != "vendor_id" && !(k == "encoder" && s.Tags[k] == "Lavc libx264") {
							t.Errorf("video stream tag %s=%q kept", k, s.Tags[k])
						}
					}
				case "audio":
					audio++
					if s.CodecName != "aac" {
						t.Errorf("audio %s, want aac", s.CodecName)
					}
				}
			}
			if video != 1 || (audio == 1) != c.audio || audio > 1 {
				t.Errorf("%d video and %d audio streams", video, audio)
			}
			if !strings.Contains(p.Format.FormatName, "mp4") {
				t.Errorf("format %s", p.Format.FormatName)
			}
			for k, v := range p.Format.Tags {
				switch k {
				case "major_brand", "minor_version", "compatible_brands":
				default:
					t.Errorf("metadata kept: %s=%q", k, v)
				}
			}
			atoms := strings.Join(topAtoms(t, out), " ")
			if m, d := strings.Index(atoms, "moov"), strings.Index(atoms, "mdat"); m < 0 || d < 0 || m > d {
				t.Errorf("atoms %q: want moov before mdat (faststart)", atoms)
			}
			leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".tmp-*"))
			if len(leftovers) > 0 {
				t.Errorf("temporary files left: %v", leftovers)
			}
		})
	}
}

// A file ffmpeg cannot read is refused with its reason; nothing is left.
func TestTranscodeRefusesNonVideo(t *testing.T) {
	dir := clips(t)
	for name, want := range map[string]error{"text.mp4": ErrUnsupported, "playlist.mp4": ErrUnsupported, "truncated.mp4": ErrUnsupported} {
		out := filepath.Join(t.TempDir(), "out.mp4")
		err := transcodeFile(t, filepath.Join(dir, name), out, 2, TranscodeOptions{})
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", name, err, want)
		}
		if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 0 {
			t.Errorf("%s: left %d files", name, len(entries))
		}
	}
}

// ffmpegChildren lists the ffmpeg processes whose parent is this test.
func ffmpegChildren(t *testing.T) []int {
	t.Helper()
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var pids []int
	for _, s := range stats {
		b, err := os.ReadFile(s)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		line := string(b)
		open, end := strings.IndexByte(line, '('), strings.LastIndexByte(line, ')')
		if open < 0 || end < open {
			continue
		}
		fields := strings.Fields(line[end+1:])
		if len(fields) < 2 || line[open+1:end] != "ffmpeg" || fields[0] == "Z" {
			continue
		}
		if ppid, _ := strconv.Atoi(fields[1]); ppid == os.Getpid() {
			pid, _ := strconv.Atoi(strings.TrimSpace(line[:open]))
			pids = append(pids, pid)
		}
	}
	return pids
}

// A video that takes longer than its limit is killed: a clear error, no
// ffmpeg left, no file, no temporary file.
func TestTranscodeTimeLimit(t *testing.T) {
	long := filepath.Join(clips(t), "long.mp4") // ten hours of 16x16
	out := filepath.Join(t.TempDir(), "out.mp4")
	opt := TranscodeOptions{TimeFactor: 1e-9, MinTime: 300 * time.Millisecond}
	err := transcodeFile(t, long, out, 36000, opt)
	if !errors.Is(err, ErrDecode) || !strings.Contains(err.Error(), "time limit") {
		t.Fatalf("err %v, want a time limit", err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 0 {
		t.Errorf("left %d files", len(entries))
	}
	if pids := ffmpegChildren(t); len(pids) > 0 {
		t.Errorf("ffmpeg still running: %v", pids)
	}
}

// Shutdown (ctx cancelled) kills ffmpeg mid-way: ctx's error, so the job
// is retried, no process and no file left.
func TestTranscodeCancel(t *testing.T) {
	long := filepath.Join(clips(t), "long.mp4")
	out := filepath.Join(t.TempDir(), "out.mp4")
	f, err := os.Open(long)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Transcode(ctx, f, 36000, out, TranscodeOptions{}) }()
	deadline := time.Now().Add(30 * time.Second)
	for len(ffmpegChildren(t)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("ffmpeg never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if pids := ffmpegChildren(t); len(pids) > 0 {
		t.Errorf("ffmpeg still running: %v", pids)
	}
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 0 {
		t.Errorf("left %d files", len(entries))
	}
}
