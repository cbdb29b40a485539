package gen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// JPEG is the i-th small real photo file of seed: w×h pixels (a gradient
// and a few blocks of colour, distinct for every i), with EXIF Make, Model
// and DateTimeOriginal (a date that moves forward with i).
func JPEG(seed uint64, i, w, h int) ([]byte, time.Time, error) {
	r := rand.New(rand.NewPCG(seed^0x1a1a, uint64(i)))
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	c0 := [3]float64{r.Float64() * 255, r.Float64() * 255, r.Float64() * 255}
	c1 := [3]float64{r.Float64() * 255, r.Float64() * 255, r.Float64() * 255}
	type block struct {
		x0, y0, x1, y1 int
		y, cb, cr      uint8
	}
	var blocks []block
	for k := 0; k < 3+r.IntN(5); k++ {
		x0, y0 := r.IntN(w), r.IntN(h)
		blocks = append(blocks, block{x0, y0, x0 + 8 + r.IntN(w/2), y0 + 8 + r.IntN(h/2), uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256))})
	}
	for y := 0; y < h; y++ {
		t := float64(y) / float64(h)
		rr, gg, bb := c0[0]*(1-t)+c1[0]*t, c0[1]*(1-t)+c1[1]*t, c0[2]*(1-t)+c1[2]*t
		yy, cb, cr := color.RGBToYCbCr(uint8(rr), uint8(gg), uint8(bb))
		for x := 0; x < w; x++ {
			img.Y[img.YOffset(x, y)] = yy + uint8((x*7+i)%16)
			ci := img.COffset(x, y)
			img.Cb[ci], img.Cr[ci] = cb, cr
		}
	}
	for _, b := range blocks {
		for y := b.y0; y < min(b.y1, h); y++ {
			for x := b.x0; x < min(b.x1, w); x++ {
				img.Y[img.YOffset(x, y)] = b.y
				ci := img.COffset(x, y)
				img.Cb[ci], img.Cr[ci] = b.cb, b.cr
			}
		}
	}
	var body bytes.Buffer
	if err := jpeg.Encode(&body, img, &jpeg.Options{Quality: 80}); err != nil {
		return nil, time.Time{}, err
	}
	taken := time.Date(2015, 1, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(i)*47*time.Minute + time.Duration(r.IntN(600))*time.Second)
	cam := cameras[i%noCamera]
	app1 := exifSegment(cam.make, cam.model, taken)
	b := body.Bytes()
	out := make([]byte, 0, len(b)+len(app1))
	out = append(out, b[:2]...) // SOI
	out = append(out, app1...)
	out = append(out, b[2:]...)
	return out, taken, nil
}

// exifSegment is an APP1 Exif segment: IFD0 with Make, Model and a pointer
// to an Exif IFD holding DateTimeOriginal (big-endian TIFF).
func exifSegment(make_, model string, taken time.Time) []byte {
	ascii := func(s string) []byte { return append([]byte(s), 0) }
	mk, md := ascii(make_), ascii(model)
	dt := ascii(taken.Format("2006:01:02 15:04:05"))
	be := binary.BigEndian
	var t bytes.Buffer
	t.WriteString("MM\x00\x2a")
	binary.Write(&t, be, uint32(8))
	// IFD0: 3 entries (Make, Model, ExifIFD pointer) at 8.
	ifd0 := 8
	ifd0Len := 2 + 3*12 + 4
	data := ifd0 + ifd0Len
	mkOff, mdOff := data, data+len(mk)
	exifIFD := mdOff + len(md)
	exifLen := 2 + 1*12 + 4
	dtOff := exifIFD + exifLen
	entry := func(tag, typ uint16, count, value uint32) {
		binary.Write(&t, be, tag)
		binary.Write(&t, be, typ)
		binary.Write(&t, be, count)
		binary.Write(&t, be, value)
	}
	binary.Write(&t, be, uint16(3))
	entry(0x010f, 2, uint32(len(mk)), uint32(mkOff))
	entry(0x0110, 2, uint32(len(md)), uint32(mdOff))
	entry(0x8769, 4, 1, uint32(exifIFD))
	binary.Write(&t, be, uint32(0))
	t.Write(mk)
	t.Write(md)
	binary.Write(&t, be, uint16(1))
	entry(0x9003, 2, uint32(len(dt)), uint32(dtOff))
	binary.Write(&t, be, uint32(0))
	t.Write(dt)
	payload := append([]byte("Exif\x00\x00"), t.Bytes()...)
	seg := []byte{0xff, 0xe1, 0, 0}
	be.PutUint16(seg[2:], uint16(len(payload)+2))
	return append(seg, payload...)
}

// WriteJPEGs writes n distinct small JPEGs (JPEG(seed, i, w, h)) under dir,
// 1000 to a folder (dir/00000/IMG_000000.jpg...), on all cores. dir must
// not exist yet or be empty: it is ours.
func WriteJPEGs(ctx context.Context, dir string, seed uint64, n, w, h int) error {
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return fmt.Errorf("%s is not empty", dir)
	}
	for f := 0; f*1000 < n; f++ {
		if err := os.MkdirAll(filepath.Join(dir, fmt.Sprintf("%05d", f)), 0o755); err != nil {
			return err
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, runtime.GOMAXPROCS(0))
	for k := 0; k < runtime.GOMAXPROCS(0); k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				sub := filepath.Join(dir, fmt.Sprintf("%05d", i/1000))
				body, taken, err := JPEG(seed, i, w, h)
				if err != nil {
					errs <- err
					return
				}
				p := filepath.Join(sub, fmt.Sprintf("IMG_%06d.jpg", i))
				if err := writeFile(p, body); err != nil {
					errs <- err
					return
				}
				os.Chtimes(p, taken, taken)
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return ctx.Err()
}

func writeFile(p string, body []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	w.Write(body)
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
