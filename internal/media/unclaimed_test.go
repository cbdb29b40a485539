package media

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// tinyTIFF is an uncompressed 8-bit greyscale TIFF of w x h, its one strip
// mid-grey.
func tinyTIFF(w, h uint16) []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("II*\x00")
	binary.Write(&b, le, uint32(8))
	type entry struct {
		tag, typ uint16
		val      uint32
	}
	const short, long = 3, 4
	pixels := uint32(w) * uint32(h)
	entries := []entry{
		{256, short, uint32(w)}, {257, short, uint32(h)}, {258, short, 8}, {259, short, 1},
		{262, short, 1}, {273, long, 0}, {277, short, 1}, {278, short, max(uint32(h), 1)}, {279, long, pixels},
	}
	ifdEnd := 8 + 2 + len(entries)*12 + 4
	binary.Write(&b, le, uint16(len(entries)))
	for _, e := range entries {
		if e.tag == 273 {
			e.val = uint32(ifdEnd)
		}
		binary.Write(&b, le, e.tag)
		binary.Write(&b, le, e.typ)
		binary.Write(&b, le, uint32(1))
		if e.typ == short {
			binary.Write(&b, le, uint16(e.val))
			binary.Write(&b, le, uint16(0))
		} else {
			binary.Write(&b, le, e.val)
		}
	}
	binary.Write(&b, le, uint32(0)) // no next directory
	b.Write(bytes.Repeat([]byte{0x80}, int(pixels)))
	return b.Bytes()
}

// A TIFF with a zero side is refused as such: libvips' TIFF sniffer cannot
// open it, so ImageMagick's loader (blocked) claimed it and the reason read
// "not a photo format (libvips VipsForeignLoadMagickFile)".
func TestZeroSizedTIFFRefusedForItsSize(t *testing.T) {
	dir := t.TempDir()
	// The same writer with no zero side makes a photo, so the refusals
	// below are about the size, not a broken file.
	sound := filepath.Join(dir, "2x3.tiff")
	writeFile(t, sound, tinyTIFF(2, 3))
	if r, err := Process(context.Background(), sound, Options{}); err != nil || r.Width != 2 || r.Height != 3 || r.Format != "tiff" {
		t.Fatalf("2x3 TIFF: %+v %v", r, err)
	}
	for _, wh := range [][2]uint16{{0, 0}, {0, 1}, {1, 0}, {0, 500}} {
		p := filepath.Join(dir, "zero.tiff")
		writeFile(t, p, tinyTIFF(wh[0], wh[1]))
		_, err := Process(context.Background(), p, Options{})
		if !errors.Is(err, ErrDecode) || !strings.Contains(err.Error(), "zero width or height") || strings.Contains(err.Error(), "Magick") {
			t.Errorf("%dx%d TIFF: want ErrDecode for zero width or height, got %v", wh[0], wh[1], err)
		}
	}
}

// Bytes with no image signature are refused as not a photo format, saying
// which signatures were looked for rather than naming the loader that
// guessed at them (largeexif.png in the corpus is a lone eXIf chunk).
func TestNoSignatureRefusedAsUnsupported(t *testing.T) {
	p := filepath.Join(t.TempDir(), "largeexif.png")
	body := append(make([]byte, 8), "\x00\x00\x00\x10eXIfMM\x00*\x00\x00\x00\x08\x00\x00"...)
	writeFile(t, p, append(body, make([]byte, 4096)...))
	_, err := Process(context.Background(), p, Options{})
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "no JPEG, PNG, GIF, WebP, HEIF or TIFF signature") {
		t.Fatalf("want ErrUnsupported naming the missing signature, got %v", err)
	}
}
