package media

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"math"
	"strings"
	"testing"
)

// synth makes a w x h RGBA image from a pixel function.
func synth(w, h int, f func(x, y int) (r, g, b, a byte)) []byte {
	pix := make([]byte, 0, w*h*4)
	for y := range h {
		for x := range w {
			r, g, b, a := f(x, y)
			pix = append(pix, r, g, b, a)
		}
	}
	return pix
}

func TestThumbHashRoundTrip(t *testing.T) {
	// A flat colour survives within quantisation error everywhere.
	hash := thumbHashEncode(60, 40, synth(60, 40, func(int, int) (byte, byte, byte, byte) { return 200, 80, 40, 255 }))
	w, h, rgba, err := thumbHashDecode(hash)
	if err != nil {
		t.Fatal(err)
	}
	// ThumbHash stores the aspect only as lx:ly luminance terms (7:5 here).
	if w != 32 || h != 23 {
		t.Errorf("decoded %dx%d, want 32x23", w, h)
	}
	for i := 0; i < len(rgba); i += 4 {
		if d := max(absDiff(rgba[i], 200), absDiff(rgba[i+1], 80), absDiff(rgba[i+2], 40)); d > 12 || rgba[i+3] != 255 {
			t.Fatalf("pixel %d = %v, want ~(200,80,40,255)", i/4, rgba[i:i+4])
		}
	}
	if len(hash) > 30 {
		t.Errorf("hash is %d bytes", len(hash))
	}

	// A left-to-right black-to-white ramp keeps its direction; portrait keeps its shape.
	hash = thumbHashEncode(50, 100, synth(50, 100, func(x, _ int) (byte, byte, byte, byte) {
		v := byte(x * 255 / 49)
		return v, v, v, 255
	}))
	w, h, rgba, _ = thumbHashDecode(hash)
	if w != 18 || h != 32 { // 4:7
		t.Errorf("portrait decoded %dx%d, want 18x32", w, h)
	}
	left, right := rgba[(h/2*w)*4], rgba[(h/2*w+w-1)*4]
	if left > 60 || right < 195 {
		t.Errorf("ramp lost: left %d right %d", left, right)
	}

	// Transparency is encoded: a transparent border around an opaque centre.
	hash = thumbHashEncode(40, 40, synth(40, 40, func(x, y int) (byte, byte, byte, byte) {
		if x > 10 && x < 30 && y > 10 && y < 30 {
			return 0, 0, 255, 255
		}
		return 0, 0, 0, 0
	}))
	if hash[2]&0x80 == 0 {
		t.Fatal("alpha flag not set")
	}
	_, _, rgba, _ = thumbHashDecode(hash)
	if corner, centre := rgba[3], rgba[(16*32+16)*4+3]; corner > 100 || centre < 150 {
		t.Errorf("alpha lost: corner %d centre %d", corner, centre)
	}
}

func absDiff(a, b byte) int { return int(math.Abs(float64(a) - float64(b))) }

func TestThumbHashRejectsBadInput(t *testing.T) {
	if thumbHashEncode(101, 10, make([]byte, 101*10*4)) != nil || thumbHashEncode(10, 10, make([]byte, 10)) != nil {
		t.Error("encode accepted invalid input")
	}
	for _, h := range [][]byte{nil, {1, 2, 3}, {0, 0, 0, 7, 0}, {0, 0, 0x80, 7, 0}} {
		if _, _, _, err := thumbHashDecode(h); err == nil {
			t.Errorf("decode(%x) accepted", h)
		}
	}
	// Every prefix of a real hash either decodes or errors; never panics.
	hash := thumbHashEncode(30, 20, synth(30, 20, func(x, y int) (byte, byte, byte, byte) { return byte(x * 8), byte(y * 12), 99, byte(x * y) }))
	for i := range hash {
		thumbHashDecode(hash[:i])
	}
}

func TestPlaceholderIsPNG(t *testing.T) {
	r := process(t, "formats/sunrise.jpg")
	const prefix = "data:image/png;base64,"
	if !strings.HasPrefix(r.Placeholder, prefix) {
		t.Fatalf("placeholder %.40q", r.Placeholder)
	}
	b, err := base64.StdEncoding.DecodeString(r.Placeholder[len(prefix):])
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("placeholder is not a PNG: %v", err)
	}
	// 1024x640 photo: placeholder keeps the landscape shape, about 32 px.
	if s := img.Bounds().Size(); s.X != 32 || s.Y < 16 || s.Y > 24 {
		t.Errorf("placeholder %v", s)
	}
	if len(r.Placeholder) > 2000 {
		t.Errorf("placeholder is %d bytes; meant for inline HTML", len(r.Placeholder))
	}
	// The placeholder's average colour matches the thumbnail's.
	thumb := decodeWebP(t, r.Thumb)
	avg := func(get func(x, y int) (uint32, uint32, uint32, uint32), w, h int) (a [3]float64) {
		for y := range h {
			for x := range w {
				r, g, b, _ := get(x, y)
				a[0], a[1], a[2] = a[0]+float64(r>>8), a[1]+float64(g>>8), a[2]+float64(b>>8)
			}
		}
		for i := range a {
			a[i] /= float64(w * h)
		}
		return a
	}
	pa := avg(func(x, y int) (uint32, uint32, uint32, uint32) { return img.At(x, y).RGBA() }, img.Bounds().Dx(), img.Bounds().Dy())
	ta := avg(func(x, y int) (uint32, uint32, uint32, uint32) { return thumb.At(x, y).RGBA() }, thumb.Bounds().Dx(), thumb.Bounds().Dy())
	for i := range 3 {
		if math.Abs(pa[i]-ta[i]) > 20 {
			t.Errorf("placeholder average %v vs thumbnail %v", pa, ta)
			break
		}
	}
}
