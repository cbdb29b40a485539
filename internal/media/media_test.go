package media

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"
)

// fixtures locates testdata/fixtures (or $SHOEBOX_FIXTURES). Missing fixtures
// are a broken checkout, not a reason to skip.
func fixtures(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("SHOEBOX_FIXTURES")
	if dir == "" {
		dir = filepath.Join("..", "..", "testdata", "fixtures")
	}
	if _, err := os.Stat(filepath.Join(dir, "orientation", "landscape_1.jpg")); err != nil {
		tb.Fatalf("test fixtures missing at %s (%v): run make test / scripts/setup.sh", dir, err)
	}
	return dir
}

func fx(tb testing.TB, rel string) string {
	tb.Helper()
	return filepath.Join(fixtures(tb), rel)
}

func process(tb testing.TB, rel string) *Result {
	tb.Helper()
	r, err := Process(context.Background(), fx(tb, rel), Options{})
	if err != nil {
		tb.Fatalf("Process(%s): %v", rel, err)
	}
	return r
}

func decodeWebP(tb testing.TB, b []byte) image.Image {
	tb.Helper()
	img, err := webp.Decode(bytes.NewReader(b))
	if err != nil {
		tb.Fatalf("thumb is not a valid WebP: %v", err)
	}
	return img
}

// meanAbsDiff compares two same-sized images channel by channel (0..255).
func meanAbsDiff(tb testing.TB, a, b image.Image) float64 {
	tb.Helper()
	if a.Bounds().Size() != b.Bounds().Size() {
		tb.Fatalf("size mismatch %v vs %v", a.Bounds().Size(), b.Bounds().Size())
	}
	var sum, n float64
	ab, bb := a.Bounds(), b.Bounds()
	for y := 0; y < ab.Dy(); y++ {
		for x := 0; x < ab.Dx(); x++ {
			r1, g1, b1, _ := a.At(ab.Min.X+x, ab.Min.Y+y).RGBA()
			r2, g2, b2, _ := b.At(bb.Min.X+x, bb.Min.Y+y).RGBA()
			for _, d := range [3]int{int(r1>>8) - int(r2>>8), int(g1>>8) - int(g2>>8), int(b1>>8) - int(b2>>8)} {
				sum += float64(max(d, -d))
				n++
			}
		}
	}
	return sum / n
}

// mirror flips an image left-right: what a wrong orientation would produce.
func mirror(img image.Image) image.Image {
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			out.Set(b.Dx()-1-x, y, img.At(b.Min.X+x, b.Min.Y+y))
		}
	}
	return out
}

func TestInitVersionFormats(t *testing.T) {
	for range 3 {
		if err := Init(); err != nil {
			t.Fatal(err)
		}
	}
	v := Version()
	if !strings.HasPrefix(v, "8.") {
		t.Fatalf("Version() = %q, want 8.x", v)
	}
	f := Formats()
	t.Logf("libvips %s loads %v", v, f)
	for _, want := range []string{"jpeg", "png", "gif", "webp"} {
		if !strings.Contains(strings.Join(f, ","), want) {
			t.Errorf("Formats() = %v lacks %s", f, want)
		}
	}
}

// Every EXIF orientation must come out upright: same dimensions as
// orientation 1 and (near) the same pixels, and clearly not its mirror image.
func TestOrientation(t *testing.T) {
	for _, set := range []struct {
		name          string
		width, height int
		n0, n1        int
	}{
		{"landscape", 1600, 1200, 1, 8},
		{"portrait", 1200, 1600, 1, 8},
		{"tiny", 50, 70, 0, 8}, // tiny_0 has no EXIF at all
	} {
		t.Run(set.name, func(t *testing.T) {
			ref := process(t, fmt.Sprintf("orientation/%s_1.jpg", set.name))
			refImg := decodeWebP(t, ref.Thumb)
			wrong := meanAbsDiff(t, refImg, mirror(refImg))
			for i := set.n0; i <= set.n1; i++ {
				r := process(t, fmt.Sprintf("orientation/%s_%d.jpg", set.name, i))
				if r.Width != set.width || r.Height != set.height {
					t.Errorf("%s_%d: %dx%d, want upright %dx%d", set.name, i, r.Width, r.Height, set.width, set.height)
				}
				if want := max(i, 1); r.Meta.Orientation != want {
					t.Errorf("%s_%d: Meta.Orientation = %d, want %d", set.name, i, r.Meta.Orientation, want)
				}
				if r.ThumbWidth != ref.ThumbWidth || r.ThumbHeight != ref.ThumbHeight ||
					r.PreviewWidth != ref.PreviewWidth || r.PreviewHeight != ref.PreviewHeight {
					t.Errorf("%s_%d: thumb %dx%d preview %dx%d, want %dx%d / %dx%d", set.name, i,
						r.ThumbWidth, r.ThumbHeight, r.PreviewWidth, r.PreviewHeight,
						ref.ThumbWidth, ref.ThumbHeight, ref.PreviewWidth, ref.PreviewHeight)
					continue
				}
				d := meanAbsDiff(t, refImg, decodeWebP(t, r.Thumb))
				if d > 6 || d > wrong/3 {
					t.Errorf("%s_%d: thumb differs from orientation 1 by %.2f (a mirrored thumb differs by %.2f)", set.name, i, d, wrong)
				}
			}
		})
	}
}

func TestSizesAndEncodings(t *testing.T) {
	r := process(t, "exif/canon_5d3_3840x2560.jpg")
	if r.Width != 3840 || r.Height != 2560 || r.Format != "jpeg" {
		t.Fatalf("got %dx%d %s", r.Width, r.Height, r.Format)
	}
	if r.PreviewWidth != 1440 || r.PreviewHeight != 960 {
		t.Errorf("preview %dx%d, want 1440x960", r.PreviewWidth, r.PreviewHeight)
	}
	if r.ThumbWidth != 250 || r.ThumbHeight != 167 {
		t.Errorf("thumb %dx%d, want 250x167", r.ThumbWidth, r.ThumbHeight)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(r.Preview))
	if err != nil || cfg.Width != r.PreviewWidth || cfg.Height != r.PreviewHeight {
		t.Errorf("preview JPEG config %+v, %v", cfg, err)
	}
	if bytes.Contains(r.Preview, []byte("Exif\x00\x00")) {
		t.Error("preview still carries EXIF; metadata must be stripped")
	}
	if img := decodeWebP(t, r.Thumb); img.Bounds().Dx() != r.ThumbWidth || img.Bounds().Dy() != r.ThumbHeight {
		t.Errorf("thumb decodes to %v", img.Bounds())
	}

	// Smaller than both boxes: never upscaled.
	r = process(t, "gps/iphone4s_gps_orient6.jpg") // 205x102 stored, orientation 6
	if r.Width != 102 || r.Height != 205 || r.PreviewWidth != 102 || r.PreviewHeight != 205 ||
		r.ThumbWidth != 102 || r.ThumbHeight != 205 {
		t.Errorf("small rotated image: %dx%d preview %dx%d thumb %dx%d, want 102x205 everywhere",
			r.Width, r.Height, r.PreviewWidth, r.PreviewHeight, r.ThumbWidth, r.ThumbHeight)
	}

	// Custom boxes are honoured.
	r, err = Process(context.Background(), fx(t, "orientation/portrait_6.jpg"), Options{ThumbSize: 64, PreviewSize: 400})
	if err != nil || r.ThumbWidth != 48 || r.ThumbHeight != 64 || r.PreviewWidth != 300 || r.PreviewHeight != 400 {
		t.Errorf("custom boxes: %+v %v", r, err)
	}
}

// checkResult asserts the invariants every successful Process must meet.
func checkResult(t *testing.T, name string, r *Result, opt Options) {
	t.Helper()
	opt = opt.withDefaults()
	if r.Width <= 0 || r.Height <= 0 {
		t.Errorf("%s: size %dx%d", name, r.Width, r.Height)
	}
	if r.ThumbWidth > opt.ThumbSize || r.ThumbHeight > opt.ThumbSize || r.ThumbWidth < 1 || r.ThumbHeight < 1 {
		t.Errorf("%s: thumb %dx%d outside the %d box", name, r.ThumbWidth, r.ThumbHeight, opt.ThumbSize)
	}
	if r.PreviewWidth > opt.PreviewSize || r.PreviewHeight > opt.PreviewSize {
		t.Errorf("%s: preview %dx%d outside the %d box", name, r.PreviewWidth, r.PreviewHeight, opt.PreviewSize)
	}
	if r.PreviewWidth > r.Width || r.PreviewHeight > r.Height {
		t.Errorf("%s: preview %dx%d larger than original %dx%d", name, r.PreviewWidth, r.PreviewHeight, r.Width, r.Height)
	}
	// Aspect ratio of preview matches the upright original (within rounding).
	if d := float64(r.PreviewWidth)*float64(r.Height) - float64(r.PreviewHeight)*float64(r.Width); d*d > float64(r.Width*r.Width+r.Height*r.Height) {
		t.Errorf("%s: preview %dx%d has not the aspect of %dx%d", name, r.PreviewWidth, r.PreviewHeight, r.Width, r.Height)
	}
	if _, err := jpeg.DecodeConfig(bytes.NewReader(r.Preview)); err != nil {
		t.Errorf("%s: preview is not JPEG: %v", name, err)
	}
	decodeWebP(t, r.Thumb)
	if len(r.ThumbHash) < 5 || !strings.HasPrefix(r.Placeholder, "data:image/png;base64,") {
		t.Errorf("%s: thumbhash %x placeholder %.40q", name, r.ThumbHash, r.Placeholder)
	}
}

func TestFormats(t *testing.T) {
	have := strings.Join(Formats(), ",")
	for _, c := range []struct {
		file, format  string
		width, height int
	}{
		{"formats/sunrise.jpg", "jpeg", 1024, 640},
		{"formats/sunrise_exif_gps.png", "png", 1024, 640},
		{"formats/flowers_noexif.png", "png", 600, 400},
		{"formats/sunrise_exif_gps.webp", "webp", 1024, 640},
		{"formats/sunrise_lossy_noexif.webp", "webp", 1024, 640},
		{"formats/sunrise_lossless_noexif.webp", "webp", 1024, 640},
		{"formats/yellow_rose_lossless.webp", "webp", 400, 301}, // has alpha
		{"formats/yellow_rose_lossy.webp", "webp", 400, 301},
		{"formats/test.gif", "gif", 703, 681}, // has alpha
		{"formats/1x1.gif", "gif", 1, 1},
		{"formats/sunrise_exif_gps.avif", "avif", 1024, 640},
		// iPhone HEIC is stored 4032x3024 with an irot box; libheif applies it.
		{"formats/iphone11pro_gps_orient6.heic", "heif", 3024, 4032},
	} {
		t.Run(filepath.Base(c.file), func(t *testing.T) {
			r, err := Process(context.Background(), fx(t, c.file), Options{})
			if loader := map[string]string{"avif": "avif", "heif": "heif"}[c.format]; loader != "" && !strings.Contains(have, loader) {
				if !errors.Is(err, ErrUnsupported) {
					t.Fatalf("this libvips has no %s loader, want ErrUnsupported, got %v", c.format, err)
				}
				t.Logf("%s: no %s loader in this libvips: %v", c.file, c.format, err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Format != c.format || r.Width != c.width || r.Height != c.height {
				t.Errorf("got %s %dx%d, want %s %dx%d", r.Format, r.Width, r.Height, c.format, c.width, c.height)
			}
			checkResult(t, c.file, r, Options{})
		})
	}
}

// Pixel layouts the fixtures lack: TIFF, 16-bit RGBA and 8-bit grey PNG go
// through the non-8-bit, alpha-flatten and grey paths.
func TestGeneratedImages(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, enc func(io.Writer) error) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := enc(f); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rgba64 := image.NewNRGBA64(image.Rect(0, 0, 640, 480))
	grey := image.NewGray(image.Rect(0, 0, 300, 500))
	rgb := image.NewRGBA(image.Rect(0, 0, 2000, 1000))
	for y := range 1000 {
		for x := range 2000 {
			rgb.Set(x, y, color.RGBA{uint8(x), uint8(y), 128, 255})
			if x < 640 && y < 480 {
				a := uint16(0xFFFF) // transparent left half
				if x < 320 {
					a = 0
				}
				rgba64.Set(x, y, color.NRGBA64{uint16(x * 100), 0, 0xFFFF, a})
			}
			if x < 300 && y < 500 {
				grey.Set(x, y, color.Gray{uint8(y / 2)})
			}
		}
	}
	for _, c := range []struct {
		path, format  string
		width, height int
	}{
		{write("deep.png", func(w io.Writer) error { return png.Encode(w, rgba64) }), "png", 640, 480},
		{write("grey.png", func(w io.Writer) error { return png.Encode(w, grey) }), "png", 300, 500},
		{write("rgb.tif", func(w io.Writer) error { return tiff.Encode(w, rgb, &tiff.Options{Compression: tiff.Deflate}) }), "tiff", 2000, 1000},
	} {
		r, err := Process(context.Background(), c.path, Options{})
		if err != nil {
			t.Errorf("%s: %v", c.path, err)
			continue
		}
		if r.Format != c.format || r.Width != c.width || r.Height != c.height {
			t.Errorf("%s: %s %dx%d", c.path, r.Format, r.Width, r.Height)
		}
		checkResult(t, c.path, r, Options{})
		if c.format == "png" && c.width == 640 {
			// JPEG preview: the transparent half is flattened onto white.
			img, err := jpeg.Decode(bytes.NewReader(r.Preview))
			if err != nil {
				t.Fatal(err)
			}
			if r, g, b, _ := img.At(10, 10).RGBA(); r>>8 < 240 || g>>8 < 240 || b>>8 < 240 {
				t.Errorf("transparent area previews as %d,%d,%d, want white", r>>8, g>>8, b>>8)
			}
		}
	}
}

// The iPhone 15 Pro HEIC fixture ends 8 bytes short of its last item: libheif
// must report that as an error, while its EXIF stays readable.
func TestTruncatedHEIC(t *testing.T) {
	_, err := Process(context.Background(), fx(t, "formats/iphone15pro_gps.heic"), Options{})
	// A newer libheif may decode it anyway; then it must be a real photo.
	if err == nil {
		t.Log("this libheif decodes the short iPhone 15 Pro file")
	} else if !errors.Is(err, ErrDecode) && !errors.Is(err, ErrUnsupported) {
		t.Errorf("want ErrDecode/ErrUnsupported, got %v", err)
	}
	t.Logf("iphone15pro_gps.heic: %v", err)
	m, _ := ReadMeta(fx(t, "formats/iphone15pro_gps.heic"))
	if m.Model != "iPhone 15 Pro" || m.Lat == nil {
		t.Errorf("EXIF of the truncated HEIC: %+v", m)
	}
}

func TestEveryFixtureKeepsInvariants(t *testing.T) {
	root := fixtures(t)
	for _, dir := range []string{"orientation", "exif", "gps", "noexif", "formats"} {
		files, _ := filepath.Glob(filepath.Join(root, dir, "*"))
		for _, f := range files {
			r, err := Process(context.Background(), f, Options{})
			if err != nil {
				if strings.Contains(f, "iphone15pro") { // see TestTruncatedHEIC
					continue
				}
				t.Errorf("%s: %v", f, err)
				continue
			}
			checkResult(t, f, r, Options{})
		}
	}
}

// The damaged fixtures: truncated or corrupt scan data is decoded and marked
// damaged; files with no image data and no usable EXIF thumbnail (the two
// hostile-EXIF ones are cut off before their frame), and empty files, are
// refused with the reason.
func TestCorruptFiles(t *testing.T) {
	for _, c := range []struct {
		file          string
		damage        string // in Result.Damage; "" for a sound photo
		refused       bool
		width, height int
	}{
		{"corrupt/bimg_corrupt_truncated.jpg", "Corrupt JPEG data: bad Huffman code", false, 1680, 1050},
		{"corrupt/truncated_60k.jpg", "Premature end of JPEG file", false, 1600, 1200},
		{"corrupt/empty.jpg", "", true, 0, 0},
		{"corrupt/huge_tag_exif.jpg", "", true, 0, 0},
		{"corrupt/max_uint32_exif.jpg", "", true, 0, 0},
		{"corrupt/infinite_loop_exif.jpg", "", false, 0, 0}, // pixels fine, only the EXIF is hostile
	} {
		t.Run(filepath.Base(c.file), func(t *testing.T) {
			r, err := Process(context.Background(), fx(t, c.file), Options{})
			if !c.refused {
				if err != nil {
					t.Fatalf("what decodes must become a photo: %v", err)
				}
				checkResult(t, c.file, r, Options{})
				if c.damage == "" && r.Damage != "" || !strings.Contains(r.Damage, c.damage) {
					t.Errorf("Damage = %q, want %q", r.Damage, c.damage)
				}
				if c.width != 0 && (r.Width != c.width || r.Height != c.height) {
					t.Errorf("%dx%d, want %dx%d", r.Width, r.Height, c.width, c.height)
				}
				return
			}
			if err == nil {
				t.Fatalf("want an error, got %dx%d", r.Width, r.Height)
			}
			if !errors.Is(err, ErrDecode) {
				t.Errorf("want ErrDecode, got %v", err)
			}
			if msg := err.Error(); !strings.Contains(msg, c.file[len("corrupt/"):]) || len(msg) < len(c.file)+20 {
				t.Errorf("error should name the file and give a reason: %q", msg)
			}
			t.Logf("%v", err)
		})
	}
	_, err := Process(context.Background(), fx(t, "corrupt/empty.jpg"), Options{})
	if err == nil || !strings.Contains(err.Error(), "empty file") {
		t.Errorf("empty file: %v", err)
	}
}

// Junk after the last scan makes libjpeg warn, but the photo is intact and
// must not be refused; damaged scan data (bimg_corrupt_truncated) is.
func TestBenignJPEGWarning(t *testing.T) {
	b, err := os.ReadFile(fx(t, "orientation/landscape_3.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.LastIndex(b, []byte{0xFF, 0xD9})
	junk := append(append(append([]byte{}, b[:i]...), 0x00, 0x00), b[i:]...)
	p := filepath.Join(t.TempDir(), "junk.jpg")
	if err := os.WriteFile(p, junk, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Process(context.Background(), p, Options{})
	if err != nil {
		t.Fatalf("extraneous bytes before EOI must not fail the photo: %v", err)
	}
	if r.Width != 1600 || r.Height != 1200 {
		t.Errorf("got %dx%d", r.Width, r.Height)
	}
	if r.Damage != "" {
		t.Errorf("a harmless warning marks the photo damaged: %q", r.Damage)
	}
}

func TestNotAnImage(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{
		"notes.txt":  "just text, not a photo\n",
		"fake.jpg":   "not a jpeg either",
		"table.csv":  "1,2,3\n4,5,6\n", // libvips can load CSV; we must not
		"vector.svg": `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>`,
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Process(context.Background(), p, Options{}); !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s: want ErrUnsupported, got %v", name, err)
		}
	}
	if _, err := Process(context.Background(), filepath.Join(dir, "missing.jpg"), Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Process(context.Background(), dir, Options{}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("directory: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Process(ctx, fx(t, "orientation/tiny_1.jpg"), Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ctx: %v", err)
	}
}

// writeBlackPNG streams a valid, complete w x h greyscale PNG of zeros
// without holding the image in memory; zlib shrinks it to a few hundred KB.
func writeBlackPNG(tb testing.TB, path string, w, h int) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	out := bufio.NewWriter(f)
	chunk := func(typ string, data []byte) {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(data)))
		out.Write(n[:])
		crc := crc32.NewIEEE()
		io.WriteString(crc, typ)
		crc.Write(data)
		out.WriteString(typ)
		out.Write(data)
		binary.BigEndian.PutUint32(n[:], crc.Sum32())
		out.Write(n[:])
	}
	out.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 8, 0 // 8-bit greyscale
	chunk("IHDR", ihdr)
	var idat bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&idat, zlib.BestSpeed)
	row := make([]byte, w+1) // filter byte + pixels, all zero
	for range h {
		zw.Write(row)
	}
	zw.Close()
	chunk("IDAT", idat.Bytes())
	chunk("IEND", nil)
	if err := out.Flush(); err != nil {
		tb.Fatal(err)
	}
}

func TestTooLarge(t *testing.T) {
	p := filepath.Join(t.TempDir(), "huge.png")
	writeBlackPNG(t, p, 24000, 24000)
	start := time.Now()
	_, err := Process(context.Background(), p, Options{})
	took := time.Since(start)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("want ErrTooLarge, got %v", err)
	}
	if !strings.Contains(err.Error(), "24000x24000") {
		t.Errorf("message should state the dimensions: %q", err)
	}
	// Decoding 576 MP would take seconds; refusing from the header is instant.
	if took > 500*time.Millisecond {
		t.Errorf("refusal took %v; pixels were probably decoded", took)
	}
	t.Logf("%v (in %v)", err, took)

	// The same file is fine under a higher limit, proving the PNG is real
	// (and that a large image streams through in bounded memory). Always
	// run: without it the refusal above could come from a broken file.
	r, err := Process(context.Background(), p, Options{MaxPixels: 600_000_000})
	if err != nil || r.Width != 24000 || r.PreviewWidth != 1440 || r.ThumbWidth != 250 {
		t.Fatalf("raised limit: %+v %v", r, err)
	}
}

func rssKB(tb testing.TB) int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		tb.Skipf("no /proc: %v", err)
	}
	var size, rss int64
	fmt.Sscan(string(b), &size, &rss)
	return rss * int64(os.Getpagesize()) / 1024
}

// Many more concurrent calls than cores, sound and damaged files mixed:
// every result is still right, and each damaged file carries its own
// decoder warning, never another file's (libvips' error log is shared).
func TestConcurrent(t *testing.T) {
	dir := t.TempDir()
	truncPNG := filepath.Join(dir, "trunc.png")
	b, err := os.ReadFile(fx(t, "formats/flowers_noexif.png"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, truncPNG, b[:len(b)*6/10])
	flipped := filepath.Join(dir, "flipped.jpg")
	writeFile(t, flipped, corruptScan(t, fx(t, "orientation/landscape_6.jpg")))
	damage := map[string]string{ // file -> its own warning
		fx(t, "corrupt/truncated_60k.jpg"):          "Premature end of JPEG file",
		fx(t, "corrupt/bimg_corrupt_truncated.jpg"): "bad Huffman code",
		truncPNG: "not enough data",
		flipped:  "bad Huffman code",
	}
	files := []string{
		fx(t, "orientation/landscape_6.jpg"), fx(t, "orientation/portrait_8.jpg"), fx(t, "gps/nikon_d2h_gps.jpg"),
		fx(t, "formats/sunrise_exif_gps.webp"), fx(t, "formats/yellow_rose_lossless.webp"), fx(t, "formats/test.gif"),
	}
	for f := range damage {
		files = append(files, f)
	}
	var wg sync.WaitGroup
	for i := range 48 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := files[i%len(files)]
			r, err := Process(context.Background(), f, Options{})
			switch {
			case err != nil:
				t.Errorf("%s: %v", f, err)
			case damage[f] == "" && r.Damage != "":
				t.Errorf("%s: sound file marked damaged: %q", f, r.Damage)
			case !strings.Contains(r.Damage, damage[f]) || mixedUp(r.Damage, damage[f]):
				t.Errorf("%s: Damage = %q, want its own %q only", f, r.Damage, damage[f])
			case strings.Contains(f, "orientation/") && (r.Width != 1600 || r.Height != 1200) && (r.Width != 1200 || r.Height != 1600):
				t.Errorf("%s: %dx%d", f, r.Width, r.Height)
			case strings.HasSuffix(f, "nikon_d2h_gps.jpg") && (r.Meta.Lat == nil || r.Meta.Model != "NIKON D2H"):
				t.Errorf("%s: meta %+v", f, r.Meta)
			}
		}()
	}
	wg.Wait()
}

// mixedUp reports whether a damage note holds the other kinds of damage
// TestConcurrent's files have.
func mixedUp(damage, own string) bool {
	for _, w := range []string{"Premature end of JPEG file", "bad Huffman code", "not enough data"} {
		if w != own && strings.Contains(damage, w) {
			return true
		}
	}
	return false
}

// A worker per core, hundreds of files (good, damaged and refused): libvips
// ends with nothing allocated or open and RSS stops growing once warm.
// (RSS does scale with the number of calls in flight at once: glibc gives
// each busy thread its own malloc arena.)
func TestMemoryBounded(t *testing.T) {
	files := []string{
		"gps/nikon_d2h_gps.jpg", "orientation/tiny_6.jpg", "formats/yellow_rose_lossy.webp",
		"formats/flowers_noexif.png", "formats/1x1.gif", "corrupt/truncated_60k.jpg",
		"corrupt/huge_tag_exif.jpg", "gps/iphone4s_gps_orient6.jpg",
	}
	workers := max(2, runtime.NumCPU())
	run := func(n int) {
		jobs := make(chan string)
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for f := range jobs {
					Process(context.Background(), f, Options{})
				}
			}()
		}
		for i := range n {
			jobs <- fx(t, files[i%len(files)])
		}
		close(jobs)
		wg.Wait()
	}
	if testing.Short() {
		t.Skip("takes seconds")
	}
	run(300) // until malloc arenas and per-thread caches reach their plateau
	debug.FreeOSMemory()
	before := rssKB(t)
	run(300)
	debug.FreeOSMemory()
	after := rssKB(t)
	// After a failed decode a libvips worker thread may still be releasing
	// its buffers for a moment after Process has returned.
	mem, allocs, open := vipsStats()
	for deadline := time.Now().Add(2 * time.Second); (allocs != 0 || open != 0) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		mem, allocs, open = vipsStats()
	}
	t.Logf("RSS %d -> %d KB over 300 more calls on %d workers; libvips holds %d bytes in %d allocs, %d files",
		before, after, workers, mem, allocs, open)
	if open != 0 || allocs != 0 {
		t.Errorf("libvips still holds %d allocations / %d open files after all calls returned", allocs, open)
	}
	if after-before > 16*1024 {
		t.Errorf("RSS grew %d KB over 300 calls", after-before)
	}
}

func BenchmarkProcess(b *testing.B) {
	root := fixtures(b)
	var files []string
	for _, dir := range []string{"orientation", "exif", "gps", "noexif"} {
		m, _ := filepath.Glob(filepath.Join(root, dir, "*.jpg"))
		files = append(files, m...)
	}
	for _, f := range files {
		if strings.Contains(f, "tiny_") || (strings.Contains(f, "_") && strings.Contains(f, "orientation/") && !strings.HasSuffix(f, "_1.jpg") && !strings.HasSuffix(f, "_6.jpg")) {
			continue // a couple of orientations are enough
		}
		b.Run(strings.TrimSuffix(filepath.Base(f), ".jpg"), func(b *testing.B) {
			for b.Loop() {
				if _, err := Process(context.Background(), f, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Only profiles that are not sRGB pay for an ICC transform.
func TestICCDetection(t *testing.T) {
	if err := Init(); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]bool{
		"formats/sunrise.jpg":                     false, // "sRGB IEC61966-2.1" (v2 desc)
		"exif/minimal_exif_no_camera_no_date.jpg": false, // sRGB in a v4 mluc tag
		"orientation/landscape_1.jpg":             false, // Facebook's 524-byte "c2"
		"gps/nikon_d2h_gps.jpg":                   false, // no profile
		"formats/iphone11pro_gps_orient6.heic":    true,  // Display P3
	} {
		h, err := readHeader(source{path: fx(t, file)})
		if err != nil || h.toSRGB != want {
			t.Errorf("%s: toSRGB = %v, want %v (%v)", file, h.toSRGB, want, err)
		}
	}
	for _, b := range [][]byte{nil, make([]byte, 131), append(make([]byte, 128), 0xFF, 0xFF, 0xFF, 0xFF)} {
		if isSRGBProfile(b) {
			t.Errorf("garbage profile %x taken for sRGB", b)
		}
	}
}
