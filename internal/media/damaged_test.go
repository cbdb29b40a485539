package media

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(tb testing.TB, path string, b []byte) {
	tb.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		tb.Fatal(err)
	}
}

// jpegSegments returns the offsets of a JPEG's SOF segment and of the first
// byte of its entropy-coded data (after the SOS header).
func jpegSegments(tb testing.TB, b []byte) (sof, scan int) {
	tb.Helper()
	sof = -1
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xFF {
			tb.Fatalf("not a marker at %d", i)
		}
		m, l := b[i+1], int(binary.BigEndian.Uint16(b[i+2:]))
		if m >= 0xC0 && m <= 0xC2 {
			sof = i
		}
		if m == 0xDA {
			return sof, i + 2 + l
		}
		i += 2 + l
	}
	tb.Fatal("no SOS")
	return
}

// corruptScan overwrites a run of bytes in the middle of a real JPEG's
// entropy-coded data with one bits (0xFF, stuffed as FF 00 so the file's
// structure stays intact), as a failing disk or a bad transfer can. Random
// flips often decode silently as other valid codes; sixteen ones in a row
// are reserved in every Huffman table, so libjpeg must notice this damage.
func corruptScan(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	_, scan := jpegSegments(tb, b)
	mid := scan + (len(b)-scan)/2
	for b[mid-1] == 0xFF || b[mid] == 0xFF {
		mid++
	}
	for i := mid; i < mid+64; i += 2 {
		b[i], b[i+1] = 0xFF, 0x00
	}
	return b
}

// patchSOF makes a real JPEG claim other dimensions.
func patchSOF(tb testing.TB, b []byte, w, h int) []byte {
	tb.Helper()
	b = bytes.Clone(b)
	sof, _ := jpegSegments(tb, b)
	binary.BigEndian.PutUint16(b[sof+5:], uint16(h))
	binary.BigEndian.PutUint16(b[sof+7:], uint16(w))
	return b
}

// A real photo cut off halfway and one with flipped bits in its scan data
// are decoded at their full size, with the missing part grey, and marked
// damaged with libjpeg's warning; the untouched photo is not.
func TestDamagedJPEG(t *testing.T) {
	src := fx(t, "orientation/landscape_1.jpg") // 1600x1200, baseline
	whole, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	truncated := filepath.Join(dir, "truncated.jpg")
	writeFile(t, truncated, whole[:len(whole)/2])
	flipped := filepath.Join(dir, "flipped.jpg")
	writeFile(t, flipped, corruptScan(t, src))

	sound := process(t, "orientation/landscape_1.jpg")
	if sound.Damage != "" {
		t.Errorf("sound photo marked damaged: %q", sound.Damage)
	}
	for file, want := range map[string]string{
		truncated: "Premature end of JPEG file",
		flipped:   "Corrupt JPEG data: bad Huffman code",
	} {
		r, err := Process(context.Background(), file, Options{})
		if err != nil {
			t.Fatalf("%s: damaged JPEG refused: %v", filepath.Base(file), err)
		}
		checkResult(t, file, r, Options{})
		if !strings.Contains(r.Damage, want) {
			t.Errorf("%s: Damage = %q, want %q", filepath.Base(file), r.Damage, want)
		}
		if r.Width != 1600 || r.Height != 1200 || r.PreviewWidth != 1440 {
			t.Errorf("%s: %dx%d, preview %dx%d", filepath.Base(file), r.Width, r.Height, r.PreviewWidth, r.PreviewHeight)
		}
		if r.Meta.Orientation != sound.Meta.Orientation {
			t.Errorf("%s: metadata lost: %+v", filepath.Base(file), r.Meta)
		}
		t.Logf("%s: %q", filepath.Base(file), r.Damage)
	}

	// Where data is missing libjpeg leaves mid-grey: the preview of the
	// truncated file is the photo on top and flat grey at the bottom.
	r, _ := Process(context.Background(), truncated, Options{})
	img, err := jpeg.Decode(bytes.NewReader(r.Preview))
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	for _, x := range []int{10, b.Dx() / 2, b.Dx() - 10} {
		cr, cg, cb, _ := img.At(x, b.Dy()-5).RGBA()
		if d := func(v uint32) int { return int(v>>8) - 128 }; abs(d(cr)) > 6 || abs(d(cg)) > 6 || abs(d(cb)) > 6 {
			t.Errorf("missing area at x=%d is %d,%d,%d, want grey", x, cr>>8, cg>>8, cb>>8)
		}
	}
	orig, _ := jpeg.Decode(bytes.NewReader(sound.Preview))
	top := image.Rect(0, 0, b.Dx(), b.Dy()/8)
	if d := meanAbsDiff(t, crop(img, top), crop(orig, top)); d > 3 {
		t.Errorf("the decoded top differs from the sound photo's by %.1f", d)
	}
}

func abs(x int) int { return max(x, -x) }

func crop(img image.Image, r image.Rectangle) image.Image {
	return img.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(r)
}

// A truncated PNG says only, through libvips' log, that data ran out: the
// photo is decoded and marked with that.
func TestDamagedPNG(t *testing.T) {
	b, err := os.ReadFile(fx(t, "formats/flowers_noexif.png"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "trunc.png")
	writeFile(t, p, b[:len(b)*6/10])
	r, err := Process(context.Background(), p, Options{})
	if err != nil {
		t.Fatalf("truncated PNG refused: %v", err)
	}
	if r.Damage == "" || r.Width != 600 || r.Height != 400 {
		t.Errorf("%dx%d, Damage %q", r.Width, r.Height, r.Damage)
	}
	t.Logf("%q", r.Damage)
}

// A JPEG cut off before its image data (EXIF kept, frame gone) has nothing
// libjpeg can decode; it is shown by the camera's EXIF thumbnail, upright,
// with its metadata, and marked damaged. Cut inside the EXIF, with no
// thumbnail left, it is refused with the decoder's reason.
func TestEXIFThumbnailFallback(t *testing.T) {
	src := fx(t, "gps/iphone4s_gps_orient6.jpg") // orientation 6, thumbnail in IFD1
	whole, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	sof, _ := jpegSegments(t, whole)
	dir := t.TempDir()
	p := filepath.Join(dir, "no_frame.jpg")
	writeFile(t, p, whole[:sof])

	thumb := exifThumbnail(p)
	if thumb == nil {
		t.Fatal("no EXIF thumbnail found")
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(thumb))
	if err != nil {
		t.Fatalf("EXIF thumbnail is not a JPEG: %v", err)
	}
	r, err := Process(context.Background(), p, Options{})
	if err != nil {
		t.Fatalf("refused: %v", err)
	}
	checkResult(t, p, r, Options{})
	// Orientation 6: the stored landscape thumbnail is shown turned upright.
	if r.Width != cfg.Height || r.Height != cfg.Width || r.Width > r.Height {
		t.Errorf("%dx%d, want the %dx%d thumbnail turned upright", r.Width, r.Height, cfg.Width, cfg.Height)
	}
	if !strings.Contains(r.Damage, "Premature end of JPEG file") || !strings.Contains(r.Damage, "EXIF thumbnail") {
		t.Errorf("Damage = %q", r.Damage)
	}
	if r.Meta.Model != "iPhone 4S" || r.Meta.Lat == nil || r.Meta.TakenAt.IsZero() {
		t.Errorf("metadata lost: %+v", r.Meta)
	}
	t.Logf("%dx%d %q", r.Width, r.Height, r.Damage)

	cut := filepath.Join(dir, "cut_in_exif.jpg")
	writeFile(t, cut, whole[:600])
	if _, err := Process(context.Background(), cut, Options{}); !errors.Is(err, ErrDecode) || !strings.Contains(err.Error(), "Premature end") {
		t.Errorf("no image data and no thumbnail: want ErrDecode with the reason, got %v", err)
	}
}

// What is still refused, from the header, before any pixel is decoded:
// zero and absurd dimensions, images over the pixel limit, and JPEGs far too
// small for the pixels they claim (a truncated "huge" image: the lenient
// decode must not become a way to make libjpeg allocate and grind through
// hundreds of megapixels of nothing).
func TestRefusedBeforeDecoding(t *testing.T) {
	whole, err := os.ReadFile(fx(t, "orientation/landscape_1.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	_, scan := jpegSegments(t, whole)
	dir := t.TempDir()
	bomb := filepath.Join(dir, "bomb.jpg") // 2 kB claiming 196 megapixels
	writeFile(t, bomb, patchSOF(t, whole[:scan+1000], 14000, 14000))
	wide := filepath.Join(dir, "wide.png")
	writeBlackPNG(t, wide, 70000, 2)
	zero := filepath.Join(dir, "zero.png")
	writeBlackPNG(t, zero, 0, 10)
	for file, want := range map[string]struct {
		err error
		msg string
	}{
		bomb: {ErrTooLarge, "pixel bomb"},
		wide: {ErrTooLarge, "a side over 65535"},
		zero: {ErrDecode, "zero"},
	} {
		start := time.Now()
		_, err := Process(context.Background(), file, Options{})
		if !errors.Is(err, want.err) || !strings.Contains(err.Error(), want.msg) {
			t.Errorf("%s: want %v with %q, got %v", filepath.Base(file), want.err, want.msg, err)
		}
		t.Logf("%s: %v (in %v)", filepath.Base(file), err, time.Since(start))
	}

	// The same kind of file with data enough for its size is a damaged
	// photo like any other: decoded (shrunk on load), bounded by the pixel
	// limit, and marked.
	big := filepath.Join(dir, "big_truncated.jpg")
	writeFile(t, big, patchSOF(t, whole, 6400, 4800))
	start := time.Now()
	r, err := Process(context.Background(), big, Options{})
	if err != nil {
		t.Fatalf("truncated 31 MP JPEG: %v", err)
	}
	if r.Width != 6400 || r.Height != 4800 || r.Damage == "" || r.PreviewWidth != 1440 {
		t.Errorf("%dx%d preview %d, Damage %q", r.Width, r.Height, r.PreviewWidth, r.Damage)
	}
	t.Logf("big_truncated.jpg: %q in %v", r.Damage, time.Since(start))
	if _, err := Process(context.Background(), big, Options{MaxPixels: 30_000_000}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("damaged and over the limit: want ErrTooLarge, got %v", err)
	}
}

// BenchmarkDamaged compares the two ways to learn that a JPEG is damaged:
// what Process does (a strict decode that stops at the first warning, then
// an exclusive lenient one) against a lenient decode alone, which is the
// floor for any scheme that must produce the pixels.
func BenchmarkDamaged(b *testing.B) {
	whole, err := os.ReadFile(fx(b, "orientation/landscape_1.jpg"))
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	files := map[string]string{
		"truncated": filepath.Join(dir, "truncated.jpg"),
		"flipped":   filepath.Join(dir, "flipped.jpg"),
	}
	writeFile(b, files["truncated"], whole[:len(whole)/2])
	writeFile(b, files["flipped"], corruptScan(b, fx(b, "orientation/landscape_1.jpg")))
	if err := Init(); err != nil {
		b.Fatal(err)
	}
	for name, f := range files {
		h, err := readHeader(source{path: f})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name+"/process", func(b *testing.B) {
			for b.Loop() {
				if _, err := Process(context.Background(), f, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/lenient_only", func(b *testing.B) {
			for b.Loop() {
				if err := renderLenient(source{path: f}, h, 1440, 250, hashBox); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
