package ai

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/draw"
)

var (
	openAIMean = [3]float32{0.48145466, 0.4578275, 0.40821073}
	openAIStd  = [3]float32{0.26862954, 0.26130258, 0.27577711}
)

func preprocessTestConfig(size int, mode string) *ModelConfig {
	return &ModelConfig{Name: "test", EmbedDim: 8, ImageSize: size, ContextLength: 77,
		Mean: openAIMean, Std: openAIStd, Interpolation: InterpolationBicubic, ResizeMode: mode}
}

// norm8 is the expected output for an 8-bit channel value.
func norm8(c int, v uint8) float32 { return (float32(v)/255 - openAIMean[c]) / openAIStd[c] }

func solidRGBA(w, h int, c color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return img
}

// bands paints columns [0,a) red, [a,b) black and [b,w) white; with
// vertical, rows instead.
func bands(w, h, a, b int, vertical bool) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			p := x
			if vertical {
				p = y
			}
			c := color.RGBA{255, 255, 255, 255}
			if p < a {
				c = color.RGBA{255, 0, 0, 255}
			} else if p < b {
				c = color.RGBA{0, 0, 0, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

// pixelAt returns the output's three channel values at (x, y).
func pixelAt(out []float32, S, x, y int) [3]float32 {
	return [3]float32{out[y*S+x], out[S*S+y*S+x], out[2*S*S+y*S+x]}
}

func wantRGB(r, g, b uint8) [3]float32 { return [3]float32{norm8(0, r), norm8(1, g), norm8(2, b)} }

func near(a, b [3]float32, tol float64) bool {
	for c := range 3 {
		if math.Abs(float64(a[c]-b[c])) > tol {
			return false
		}
	}
	return true
}

func TestPreprocessSolidRed(t *testing.T) {
	cfg := preprocessTestConfig(224, ResizeModeShortest)
	out := Preprocess(solidRGBA(640, 480, color.RGBA{255, 0, 0, 255}), cfg)
	if len(out) != 3*224*224 {
		t.Fatalf("len = %d, want %d", len(out), 3*224*224)
	}
	want := [3]float32{(1 - openAIMean[0]) / openAIStd[0], (0 - openAIMean[1]) / openAIStd[1], (0 - openAIMean[2]) / openAIStd[2]}
	plane := 224 * 224
	for c := range 3 {
		for i, v := range out[c*plane : (c+1)*plane] {
			if math.Abs(float64(v-want[c])) > 1e-5 {
				t.Fatalf("channel %d, pixel %d: %v, want %v", c, i, v, want[c])
			}
		}
	}
}

// 300×200 with S=100: scaled to 150×100, columns 25..124 kept. The red band
// (source x < 75) must end near output column 12, not 37 as a left crop
// would give, and the white half (x >= 150) start near column 50.
func TestPreprocessCentreCropLandscape(t *testing.T) {
	const S = 100
	out := Preprocess(bands(300, 200, 75, 150, false), preprocessTestConfig(S, ResizeModeShortest))
	if len(out) != 3*S*S {
		t.Fatalf("len %d", len(out))
	}
	for y := 0; y < S; y += 7 {
		for x := range S {
			var want [3]float32
			switch {
			case x <= 9:
				want = wantRGB(255, 0, 0)
			case x >= 14 && x <= 47:
				want = wantRGB(0, 0, 0)
			case x >= 52:
				want = wantRGB(255, 255, 255)
			default:
				continue // filter footprint straddles an edge
			}
			if got := pixelAt(out, S, x, y); !near(got, want, 1e-5) {
				t.Fatalf("(%d,%d) = %v, want %v", x, y, got, want)
			}
		}
	}
	// The blend columns really are blends (the bands are where we think).
	if got := pixelAt(out, S, 12, 50); near(got, wantRGB(255, 0, 0), 0.05) || near(got, wantRGB(0, 0, 0), 0.05) {
		t.Errorf("column 12 is not a red/black blend: %v", got)
	}
}

func TestPreprocessCentreCropPortrait(t *testing.T) {
	const S = 100
	out := Preprocess(bands(200, 300, 75, 150, true), preprocessTestConfig(S, ResizeModeShortest))
	for x := 0; x < S; x += 7 {
		for y := range S {
			var want [3]float32
			switch {
			case y <= 9:
				want = wantRGB(255, 0, 0)
			case y >= 14 && y <= 47:
				want = wantRGB(0, 0, 0)
			case y >= 52:
				want = wantRGB(255, 255, 255)
			default:
				continue
			}
			if got := pixelAt(out, S, x, y); !near(got, want, 1e-5) {
				t.Fatalf("(%d,%d) = %v, want %v", x, y, got, want)
			}
		}
	}
}

// An image smaller than S is scaled up: 50×40 -> 280×224, columns 28..251.
func TestPreprocessUpscale(t *testing.T) {
	const S = 224
	cfg := preprocessTestConfig(S, ResizeModeShortest)
	out := Preprocess(solidRGBA(50, 40, color.RGBA{10, 200, 30, 255}), cfg)
	if len(out) != 3*S*S {
		t.Fatalf("len %d", len(out))
	}
	for y := 0; y < S; y += 5 {
		for x := 0; x < S; x += 3 {
			if got := pixelAt(out, S, x, y); !near(got, wantRGB(10, 200, 30), 1e-5) {
				t.Fatalf("(%d,%d) = %v", x, y, got)
			}
		}
	}

	// Left half blue, right half yellow: the edge (source x = 25) lands at
	// resized x = 140, output column 112.
	img := solidRGBA(50, 40, color.RGBA{0, 0, 255, 255})
	for y := range 40 {
		for x := 25; x < 50; x++ {
			img.SetRGBA(x, y, color.RGBA{255, 255, 0, 255})
		}
	}
	out = Preprocess(img, cfg)
	for y := 0; y < S; y += 11 {
		for x := range S {
			got := pixelAt(out, S, x, y)
			if x < 100 && !near(got, wantRGB(0, 0, 255), 1e-5) || x > 124 && !near(got, wantRGB(255, 255, 0), 1e-5) {
				t.Fatalf("(%d,%d) = %v", x, y, got)
			}
		}
	}
	mid := pixelAt(out, S, 111, 100)
	if mid[0] <= norm8(0, 0) || mid[0] >= norm8(0, 255) {
		t.Errorf("column 111 is not a blend: %v", mid)
	}
}

func TestPreprocessSquash(t *testing.T) {
	const S = 100
	out := Preprocess(bands(300, 200, 75, 150, false), preprocessTestConfig(S, ResizeModeSquash))
	// x scaled by 3: red < 25, black 25..49, white >= 50 (footprint ±2).
	for y := 0; y < S; y += 9 {
		for x := range S {
			var want [3]float32
			switch {
			case x <= 22:
				want = wantRGB(255, 0, 0)
			case x >= 27 && x <= 47:
				want = wantRGB(0, 0, 0)
			case x >= 52:
				want = wantRGB(255, 255, 255)
			default:
				continue
			}
			if got := pixelAt(out, S, x, y); !near(got, want, 1e-5) {
				t.Fatalf("(%d,%d) = %v, want %v", x, y, got, want)
			}
		}
	}
}

func TestPreprocessLongest(t *testing.T) {
	const S = 100
	out := Preprocess(solidRGBA(300, 150, color.RGBA{255, 255, 255, 255}), preprocessTestConfig(S, ResizeModeLongest))
	// 100×50 content at rows 25..74, black padding above and below.
	for y := range S {
		want := wantRGB(0, 0, 0)
		if y >= 25 && y < 75 {
			want = wantRGB(255, 255, 255)
		}
		for x := 0; x < S; x += 13 {
			if got := pixelAt(out, S, x, y); !near(got, want, 1e-5) {
				t.Fatalf("(%d,%d) = %v, want %v", x, y, got, want)
			}
		}
	}
}

// Pillow's arithmetic, worked by hand for a 4 -> 2 bicubic downscale of the
// row [0 255 0 255]: weights f((x - c + 0.5)/2) normalised to
// [.4587 .4587 .1198 -.0372], 22-bit fixed point, rounded: 107 and 148.
func TestPreprocessPillowArithmetic(t *testing.T) {
	row := []uint8{0, 0, 0, 255, 0, 0, 0, 0, 0, 255, 0, 0}
	rows := func(y, x0, x1 int, dst []uint8) { copy(dst, row[3*x0:3*x1]) }
	got := resampleRGB(rows, 4, 1, 2, 1, 0, 2, 0, 1, bicubicFilter)
	if got[0] != 107 || got[3] != 148 {
		t.Errorf("got %v, want R = 107, 148", got)
	}
	c := precomputeCoeffs(4, 2, 0, 2, bicubicFilter)
	if want := []int32{1923834, 1923834, 502623, -155987}; c.min[0] != 0 || c.count[0] != 4 || !equalInt32(c.k[:4], want) {
		t.Errorf("coefficients %v (min %d count %d), want %v", c.k[:4], c.min[0], c.count[0], want)
	}
}

func equalInt32(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// naiveResize is Pillow's algorithm without resampleRGB's shortcuts: the
// whole image, both passes, every output pixel.
func naiveResize(src []uint8, W, H, outW, outH int, f resampleFilter) []uint8 {
	cur, cw := src, W
	if outW != W {
		hc := precomputeCoeffs(W, outW, 0, outW, f)
		tmp := make([]uint8, 3*outW*H)
		for y := range H {
			for x := range outW {
				for ch := range 3 {
					s := int32(1) << (precisionBits - 1)
					for i := range hc.count[x] {
						s += int32(cur[3*(y*cw+hc.min[x]+i)+ch]) * hc.k[x*hc.ksize+i]
					}
					tmp[3*(y*outW+x)+ch] = clip8(s)
				}
			}
		}
		cur, cw = tmp, outW
	}
	if outH != H {
		vc := precomputeCoeffs(H, outH, 0, outH, f)
		tmp := make([]uint8, 3*cw*outH)
		for y := range outH {
			for x := range cw {
				for ch := range 3 {
					s := int32(1) << (precisionBits - 1)
					for i := range vc.count[y] {
						s += int32(cur[3*((vc.min[y]+i)*cw+x)+ch]) * vc.k[y*vc.ksize+i]
					}
					tmp[3*(y*cw+x)+ch] = clip8(s)
				}
			}
		}
		cur = tmp
	}
	return cur
}

// resampleRGB reads only what the crop needs; it must equal a full resize
// followed by the crop, for up- and downscaling and any crop window.
func TestPreprocessResampleRegionMatchesFull(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 60 {
		W, H := 1+rng.IntN(60), 1+rng.IntN(60)
		outW, outH := 1+rng.IntN(70), 1+rng.IntN(70)
		src := make([]uint8, 3*W*H)
		for i := range src {
			src[i] = uint8(rng.IntN(256))
		}
		f := bicubicFilter
		if iter%3 == 2 {
			f = bilinearFilter
		}
		full := naiveResize(src, W, H, outW, outH, f)
		x0, y0 := rng.IntN(outW), rng.IntN(outH)
		x1, y1 := x0+1+rng.IntN(outW-x0), y0+1+rng.IntN(outH-y0)
		rows := func(y, a, b int, dst []uint8) { copy(dst, src[3*(y*W+a):3*(y*W+b)]) }
		got := resampleRGB(rows, W, H, outW, outH, x0, x1, y0, y1, f)
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				for ch := range 3 {
					if g, w := got[3*((y-y0)*(x1-x0)+(x-x0))+ch], full[3*(y*outW+x)+ch]; g != w {
						t.Fatalf("%dx%d -> %dx%d crop [%d,%d)x[%d,%d): (%d,%d,%d) = %d, want %d",
							W, H, outW, outH, x0, x1, y0, y1, x, y, ch, g, w)
					}
				}
			}
		}
	}
}

// smoothImage is a photo-like test image: gradients plus a few soft blobs.
func smoothImage(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			fx, fy := float64(x)/float64(w), float64(y)/float64(h)
			r := 127 + 120*math.Sin(6*fx+2*fy)
			g := 127 + 120*math.Cos(4*fy-3*fx)
			b := 127 + 120*math.Sin(9*fx*fy)
			img.SetRGBA(x, y, color.RGBA{uint8(r), uint8(g), uint8(b), 255})
		}
	}
	return img
}

// golang.org/x/image/draw's CatmullRom is the same cubic; it must agree with
// the Pillow port to within a couple of levels on a photo-like image.
func TestPreprocessCloseToXImageDraw(t *testing.T) {
	const S = 224
	src := smoothImage(1440, 1080)
	out := Preprocess(src, preprocessTestConfig(S, ResizeModeShortest))

	// Same geometry by hand: 1440×1080 -> 298×224, columns 37..260.
	resized := image.NewRGBA(image.Rect(0, 0, 298, 224))
	draw.CatmullRom.Scale(resized, resized.Bounds(), src, src.Bounds(), draw.Src, nil)
	var maxDiff, sum float64
	for y := range S {
		for x := range S {
			c := resized.RGBAAt(x+37, y)
			got := pixelAt(out, S, x, y)
			for ch, v := range [3]uint8{c.R, c.G, c.B} {
				d := math.Abs(float64(got[ch]-norm8(ch, v))) * float64(openAIStd[ch]) * 255 // in levels
				maxDiff = max(maxDiff, d)
				sum += d
			}
		}
	}
	mean := sum / (3 * S * S)
	t.Logf("vs x/image/draw CatmullRom: max %.2f levels, mean %.3f", maxDiff, mean)
	if maxDiff > 3 || mean > 0.6 {
		t.Errorf("differs from CatmullRom by max %.2f, mean %.3f levels", maxDiff, mean)
	}
}

type opaqueImage struct{ image.Image } // hides the concrete type: the generic path

func TestPreprocessPixelFormats(t *testing.T) {
	cfg := preprocessTestConfig(64, ResizeModeShortest)
	src := smoothImage(160, 120)
	want := Preprocess(src, cfg)

	nrgba := image.NewNRGBA(src.Bounds())
	draw.Draw(nrgba, nrgba.Bounds(), src, image.Point{}, draw.Src)
	// A larger canvas whose sub-image is src: bounds not at the origin.
	big := image.NewRGBA(image.Rect(-7, -5, 200, 150))
	draw.Draw(big, image.Rect(3, 4, 163, 124), src, image.Point{}, draw.Src)
	sub := big.SubImage(image.Rect(3, 4, 163, 124))

	for name, img := range map[string]image.Image{
		"NRGBA": nrgba, "generic": opaqueImage{src}, "sub-image": sub,
	} {
		if got := Preprocess(img, cfg); !equalFloats(got, want) {
			t.Errorf("%s differs from RGBA", name)
		}
	}

	// Grey: Gray and its RGBA expansion agree.
	gray := image.NewGray(src.Bounds())
	draw.Draw(gray, gray.Bounds(), src, image.Point{}, draw.Src)
	grayRGBA := image.NewRGBA(src.Bounds())
	draw.Draw(grayRGBA, grayRGBA.Bounds(), gray, image.Point{}, draw.Src)
	if !equalFloats(Preprocess(gray, cfg), Preprocess(grayRGBA, cfg)) {
		t.Error("Gray differs from its RGBA expansion")
	}

	// YCbCr (what JPEG decoding gives), 4:2:0 and 4:4:4.
	for _, q := range []int{75, 100} {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, src, &jpeg.Options{Quality: q}); err != nil {
			t.Fatal(err)
		}
		dec, err := jpeg.Decode(&buf)
		if err != nil {
			t.Fatal(err)
		}
		ycc, ok := dec.(*image.YCbCr)
		if !ok {
			t.Fatalf("jpeg decoded to %T", dec)
		}
		asRGBA := image.NewRGBA(ycc.Bounds())
		draw.Draw(asRGBA, asRGBA.Bounds(), ycc, ycc.Bounds().Min, draw.Src)
		if !equalFloats(Preprocess(ycc, cfg), Preprocess(asRGBA, cfg)) {
			t.Errorf("YCbCr %v differs from its RGBA conversion", ycc.SubsampleRatio)
		}
	}

	// Alpha is dropped, not composited (PIL's convert("RGB")).
	semi := image.NewNRGBA(image.Rect(0, 0, 40, 30))
	for i := 0; i < len(semi.Pix); i += 4 {
		semi.Pix[i], semi.Pix[i+1], semi.Pix[i+2], semi.Pix[i+3] = 200, 100, 50, 128
	}
	out := Preprocess(semi, cfg)
	if got := pixelAt(out, 64, 10, 10); !near(got, wantRGB(200, 100, 50), 1e-5) {
		t.Errorf("semi-transparent NRGBA: %v, want %v", got, wantRGB(200, 100, 50))
	}
	premul := image.NewRGBA(semi.Bounds())
	draw.Draw(premul, premul.Bounds(), semi, image.Point{}, draw.Src)
	if got := pixelAt(Preprocess(premul, cfg), 64, 10, 10); !near(got, wantRGB(200, 100, 50), 0.02) {
		t.Errorf("semi-transparent RGBA: %v, want ≈ %v", got, wantRGB(200, 100, 50))
	}
}

func equalFloats(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A 16×12 lossless WebP of RGB (200, 100, 50), written by libvips.
const solidWebP = "UklGRvIAAABXRUJQVlA4WAoAAAAIAAAADwAACwAAVlA4TBEAAAAvD8ACAAdQsiJXpv+BiOh/AABFWElGugAAAEV4aWYAAElJKgAIAAAABgASAQMAAQAAAAEAAAAaAQUAAQAAAFYAAAAbAQUAAQAAAF4AAAAoAQMAAQAAAAIAAAATAgMAAQAAAAEAAABphwQAAQAAAGYAAAAAAAAAOGMAAOgDAAA4YwAA6AMAAAYAAJAHAAQAAAAwMjEwAZEHAAQAAAABAgMAAKAHAAQAAAAwMTAwAaADAAEAAAD//wAAAqAEAAEAAAAQAAAAA6AEAAEAAAAMAAAAAAAAAA=="

func TestPreprocessFile(t *testing.T) {
	cfg := preprocessTestConfig(32, ResizeModeShortest)
	dir := t.TempDir()
	src := smoothImage(90, 70)

	pngPath := filepath.Join(dir, "a.png")
	var buf bytes.Buffer
	png.Encode(&buf, src)
	os.WriteFile(pngPath, buf.Bytes(), 0o644)
	got, err := PreprocessFile(pngPath, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !equalFloats(got, Preprocess(src, cfg)) {
		t.Error("PNG: PreprocessFile differs from Preprocess")
	}

	jpgPath := filepath.Join(dir, "a.jpg")
	buf.Reset()
	jpeg.Encode(&buf, src, nil)
	os.WriteFile(jpgPath, buf.Bytes(), 0o644)
	dec, _ := jpeg.Decode(bytes.NewReader(buf.Bytes()))
	if got, err := PreprocessFile(jpgPath, cfg); err != nil || !equalFloats(got, Preprocess(dec, cfg)) {
		t.Errorf("JPEG: err %v or output differs", err)
	}

	webpPath := filepath.Join(dir, "a.webp")
	data, _ := base64.StdEncoding.DecodeString(solidWebP)
	os.WriteFile(webpPath, data, 0o644)
	got, err = PreprocessFile(webpPath, cfg)
	if err != nil {
		t.Fatalf("WebP: %v", err)
	}
	for y := range 32 {
		for x := range 32 {
			if p := pixelAt(got, 32, x, y); !near(p, wantRGB(200, 100, 50), 1e-5) {
				t.Fatalf("WebP (%d,%d) = %v", x, y, p)
			}
		}
	}

	if _, err := PreprocessFile(filepath.Join(dir, "missing.jpg"), cfg); err == nil {
		t.Error("missing file: no error")
	}
	junk := filepath.Join(dir, "junk.jpg")
	os.WriteFile(junk, []byte("not an image"), 0o644)
	if _, err := PreprocessFile(junk, cfg); err == nil || !strings.Contains(err.Error(), "junk.jpg") {
		t.Errorf("junk file: %v", err)
	}
	if _, err := PreprocessFile(pngPath, &ModelConfig{}); err == nil {
		t.Error("zero config: no error")
	}
}

func TestPreprocessInto(t *testing.T) {
	cfg := preprocessTestConfig(48, ResizeModeShortest)
	src := smoothImage(100, 60)
	batch := make([]float32, 2*3*48*48)
	if err := PreprocessInto(batch[3*48*48:], src, cfg); err != nil {
		t.Fatal(err)
	}
	if !equalFloats(batch[3*48*48:], Preprocess(src, cfg)) {
		t.Error("PreprocessInto differs from Preprocess")
	}
	if err := PreprocessInto(batch, src, cfg); err == nil {
		t.Error("wrong length: no error")
	}
}

func TestPreprocessDegenerate(t *testing.T) {
	cfg := preprocessTestConfig(16, ResizeModeShortest)
	// Extreme aspect ratios and an empty image do not panic.
	for _, r := range []image.Rectangle{image.Rect(0, 0, 1, 1), image.Rect(0, 0, 1, 5000), image.Rect(0, 0, 3000, 2), image.Rect(0, 0, 0, 0)} {
		out := Preprocess(image.NewRGBA(r), cfg)
		if len(out) != 3*16*16 {
			t.Errorf("%v: len %d", r, len(out))
		}
	}
	for _, mode := range []string{ResizeModeLongest, ResizeModeSquash} {
		Preprocess(image.NewRGBA(image.Rect(0, 0, 1, 5000)), preprocessTestConfig(16, mode))
	}

	defer func() {
		if recover() == nil {
			t.Error("Preprocess with a zero config did not panic")
		}
	}()
	Preprocess(image.NewRGBA(image.Rect(0, 0, 4, 4)), &ModelConfig{})
}

func BenchmarkPreprocess1440JPEG(b *testing.B) {
	var buf bytes.Buffer
	jpeg.Encode(&buf, smoothImage(1440, 1080), &jpeg.Options{Quality: 85})
	img, _ := jpeg.Decode(&buf)
	cfg := preprocessTestConfig(224, ResizeModeShortest)
	for b.Loop() {
		Preprocess(img, cfg)
	}
}

// The YCbCr row reader's inlined conversion equals color.YCbCrToRGB for
// every (Y, Cb, Cr).
func TestPreprocessYCbCrConversionExhaustive(t *testing.T) {
	img := image.NewYCbCr(image.Rect(0, 0, 256, 256), image.YCbCrSubsampleRatio444)
	rows := ycbcrRows(img)
	row := make([]uint8, 3*256)
	for cr := range 256 {
		for y := range 256 {
			for x := range 256 {
				img.Y[y*img.YStride+x] = uint8(x)
				img.Cb[y*img.CStride+x] = uint8(y)
				img.Cr[y*img.CStride+x] = uint8(cr)
			}
		}
		for y := range 256 {
			rows(y, 0, 256, row)
			for x := range 256 {
				r, g, b := color.YCbCrToRGB(uint8(x), uint8(y), uint8(cr))
				if row[3*x] != r || row[3*x+1] != g || row[3*x+2] != b {
					t.Fatalf("Y %d Cb %d Cr %d: %v, want %d %d %d", x, y, cr, row[3*x:3*x+3], r, g, b)
				}
			}
		}
	}
}
