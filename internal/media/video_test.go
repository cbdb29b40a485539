package media

import (
	"bytes"
	"context"
	"errors"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"shoebox/internal/media/videotest"
)

var (
	clipsOnce sync.Once
	clipsDir  string
)

// clips makes the test videos once per test process.
func clips(t *testing.T) string {
	t.Helper()
	clipsOnce.Do(func() {
		dir, err := os.MkdirTemp("", "shoebox-clips-")
		if err != nil {
			t.Fatal(err)
		}
		videotest.Write(t, dir)
		clipsDir = dir
	})
	if clipsDir == "" {
		t.Fatal("test videos were not made")
	}
	return clipsDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if clipsDir != "" {
		os.RemoveAll(clipsDir)
	}
	os.Exit(code)
}

// Every codec and container: the probe says what was encoded, and the
// poster goes through the photo path (thumbnail, preview, ThumbHash) at the
// video's displayed shape.
func TestProcessVideoClips(t *testing.T) {
	dir := clips(t)
	for _, c := range videotest.Clips {
		t.Run(c.Name, func(t *testing.T) {
			r, err := ProcessVideo(context.Background(), filepath.Join(dir, c.Name), Options{})
			if err != nil {
				t.Fatal(err)
			}
			v := r.Video
			if v == nil {
				t.Fatal("no Video in the result")
			}
			if v.Container != c.Container || v.VideoCodec != c.VideoCodec || v.AudioCodec != c.AudioCodec {
				t.Errorf("container/codecs = %s/%s/%s, want %s/%s/%s", v.Container, v.VideoCodec, v.AudioCodec, c.Container, c.VideoCodec, c.AudioCodec)
			}
			if v.Width != c.Width || v.Height != c.Height || r.Width != c.Width || r.Height != c.Height {
				t.Errorf("size = %dx%d (result %dx%d), want %dx%d", v.Width, v.Height, r.Width, r.Height, c.Width, c.Height)
			}
			// Containers round the end to their time base and audio
			// frames: a 2 s clip lasts 2 s to within a frame or two.
			if math.Abs(v.Duration-c.Duration) > 0.15 {
				t.Errorf("duration = %v, want %v", v.Duration, c.Duration)
			}
			if v.Playable() != c.Playable {
				t.Errorf("playable = %v, want %v", v.Playable(), c.Playable)
			}
			if r.Format != c.Container {
				t.Errorf("format = %q, want the container %q", r.Format, c.Container)
			}
			if len(r.Thumb) == 0 || len(r.ThumbHash) == 0 || !strings.HasPrefix(r.Placeholder, "data:image/png;base64,") {
				t.Errorf("thumbnail %d bytes, thumbhash %d bytes, placeholder %.30q", len(r.Thumb), len(r.ThumbHash), r.Placeholder)
			}
			img, err := jpeg.Decode(bytes.NewReader(r.Preview))
			if err != nil {
				t.Fatalf("preview: %v", err)
			}
			// Never upscaled: the preview is the frame as displayed.
			if b := img.Bounds(); b.Dx() != c.Width || b.Dy() != c.Height || r.PreviewWidth != c.Width {
				t.Errorf("preview %dx%d (says %dx%d), want %dx%d", b.Dx(), b.Dy(), r.PreviewWidth, r.PreviewHeight, c.Width, c.Height)
			}
			if want := c.Width >= c.Height; (r.ThumbWidth >= r.ThumbHeight) != want {
				t.Errorf("thumbnail %dx%d has the wrong shape for %dx%d", r.ThumbWidth, r.ThumbHeight, c.Width, c.Height)
			}
		})
	}
}

// A QuickTime movie turned by its display matrix: the probe gives the
// rotation, the poster is upright, and the date and place an iPhone
// writes are read.
func TestProcessVideoRotatedQuickTime(t *testing.T) {
	r, err := ProcessVideo(context.Background(), filepath.Join(clips(t), "rotated.mov"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := videotest.Rotated
	if r.Video.Rotation != want.RotationCW {
		t.Errorf("rotation = %d, want %d", r.Video.Rotation, want.RotationCW)
	}
	img, err := jpeg.Decode(bytes.NewReader(r.Preview))
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	if b.Dx() != 120 || b.Dy() != 160 {
		t.Fatalf("preview %dx%d, want 120x160 (upright)", b.Dx(), b.Dy())
	}
	top := img.At(60, 10)
	bottom := img.At(60, 150)
	tr, _, tb, _ := top.RGBA()
	br, _, bb, _ := bottom.RGBA()
	if !(tb > 0xc000 && tr < 0x4000 && br > 0xc000 && bb < 0x4000) {
		t.Errorf("top pixel %v, bottom %v: want blue over red (the stored right half on top)", top, bottom)
	}
	m := r.Meta
	if m.Lat == nil || m.Lon == nil || m.Alt == nil || *m.Lat != want.Lat || *m.Lon != want.Lon || *m.Alt != want.Alt {
		t.Errorf("place = %v %v %v, want %v %v %v", m.Lat, m.Lon, m.Alt, want.Lat, want.Lon, want.Alt)
	}
	if got := m.TakenAt.Format(time.RFC3339); got != want.TakenAt || m.TakenAtOffset == nil || *m.TakenAtOffset != 120 || m.TakenAtSource != "quicktime" {
		t.Errorf("taken %s (offset %v, source %q), want %s +120 quicktime", got, m.TakenAtOffset, m.TakenAtSource, want.TakenAt)
	}
}

// Hostile files are refused with their reason, and nothing in their folder
// changes (ffprobe and ffmpeg write only to their pipes).
func TestProcessVideoHostile(t *testing.T) {
	dir := clips(t)
	before := listing(t, dir)
	for name, why := range videotest.Hostile {
		t.Run(name, func(t *testing.T) {
			_, err := ProcessVideo(context.Background(), filepath.Join(dir, name), Options{})
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrDecode) {
				t.Errorf("error %v is neither ErrUnsupported nor ErrDecode", err)
			}
			if !strings.Contains(err.Error(), why) {
				t.Errorf("error %q does not say %q", err, why)
			}
			if strings.Contains(err.Error(), "root:") {
				t.Errorf("error %q quotes /etc/passwd", err)
			}
		})
	}
	if after := listing(t, dir); after != before {
		t.Errorf("the folder changed:\n%s\nthen\n%s", before, after)
	}
}

func listing(t *testing.T, dir string) string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range es {
		fi, _ := e.Info()
		b.WriteString(e.Name() + " " + fi.ModTime().String() + "\n")
	}
	return b.String()
}

// A run past its time limit is killed and the video refused with why.
func TestProcessVideoTimeout(t *testing.T) {
	_, err := ProcessVideo(context.Background(), filepath.Join(clips(t), "hevc.mp4"), Options{VideoTimeout: time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "timed out after 1ms, killed") {
		t.Fatalf("err = %v, want a timeout", err)
	}
}

// A video whose frames are over the pixel limit is refused before any
// frame is decoded.
func TestProcessVideoTooManyPixels(t *testing.T) {
	_, err := ProcessVideo(context.Background(), filepath.Join(clips(t), "h264.mp4"), Options{MaxPixels: 160*120 - 1})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

func TestParseISO6709(t *testing.T) {
	for _, c := range []struct {
		in            string
		lat, lon, alt float64
		hasAlt, ok    bool
	}{
		{"+48.8584+002.2945/", 48.8584, 2.2945, 0, false, true},
		{"-33.8568+151.2153+012.500/", -33.8568, 151.2153, 12.5, true, true},
		{"+4851.504+00217.670/", 48 + 51.504/60, 2 + 17.670/60, 0, false, true},
		{"+485130.2-0021740.2/", 48 + 51.0/60 + 30.2/3600, -(2 + 17.0/60 + 40.2/3600), 0, false, true},
		{"+95.0+002.0/", 0, 0, 0, false, false},
		{"nowhere", 0, 0, 0, false, false},
		{"", 0, 0, 0, false, false},
	} {
		lat, lon, alt, ok := parseISO6709(c.in)
		if ok != c.ok || math.Abs(lat-c.lat) > 1e-9 || math.Abs(lon-c.lon) > 1e-9 || (alt != nil) != c.hasAlt || (alt != nil && *alt != c.alt) {
			t.Errorf("%q: %v %v %v %v, want %v %v %v %v", c.in, lat, lon, alt, ok, c.lat, c.lon, c.alt, c.ok)
		}
	}
}
