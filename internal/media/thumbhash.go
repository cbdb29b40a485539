package media

// ThumbHash (https://evanw.github.io/thumbhash/), written out here because no
// maintained Go module with both encoder and decoder is on the module proxy.
// The hash is ~25 bytes: a DCT of the image in an LPQA colour space with a few
// low-frequency terms per channel. The bit layout follows the reference
// implementation so hashes interoperate with the JS decoder.

import (
	"bytes"
	"encoding/base64"
	"errors"
	"image"
	"image/png"
	"math"
)

// thumbHashEncode hashes an RGBA (not premultiplied) image of at most 100x100.
func thumbHashEncode(w, h int, rgba []byte) []byte {
	if w <= 0 || h <= 0 || w > 100 || h > 100 || len(rgba) < w*h*4 {
		return nil
	}
	n := w * h
	// Average colour, weighted by alpha: transparent pixels are composited
	// onto it so they do not drag the hash towards black.
	var avgR, avgG, avgB, avgA float64
	for i := 0; i < n; i++ {
		a := float64(rgba[4*i+3]) / 255
		avgR += a / 255 * float64(rgba[4*i])
		avgG += a / 255 * float64(rgba[4*i+1])
		avgB += a / 255 * float64(rgba[4*i+2])
		avgA += a
	}
	if avgA > 0 {
		avgR, avgG, avgB = avgR/avgA, avgG/avgA, avgB/avgA
	}
	hasAlpha := avgA < float64(n)
	lLimit := 7 // fewer luminance terms when alpha needs the bits
	if hasAlpha {
		lLimit = 5
	}
	maxWH := float64(max(w, h))
	lx := max(1, int(math.Round(float64(lLimit*w)/maxWH)))
	ly := max(1, int(math.Round(float64(lLimit*h)/maxWH)))

	l, p, q, al := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for i := 0; i < n; i++ {
		a := float64(rgba[4*i+3]) / 255
		r := avgR*(1-a) + a/255*float64(rgba[4*i])
		g := avgG*(1-a) + a/255*float64(rgba[4*i+1])
		b := avgB*(1-a) + a/255*float64(rgba[4*i+2])
		l[i] = (r + g + b) / 3
		p[i] = (r+g)/2 - b
		q[i] = r - g
		al[i] = a
	}

	encode := func(ch []float64, nx, ny int) (dc float64, ac []float64, scale float64) {
		fx := make([]float64, w)
		for cy := 0; cy < ny; cy++ {
			for cx := 0; cx*ny < nx*(ny-cy); cx++ {
				for x := range fx {
					fx[x] = math.Cos(math.Pi / float64(w) * float64(cx) * (float64(x) + 0.5))
				}
				f := 0.0
				for y := 0; y < h; y++ {
					fy := math.Cos(math.Pi / float64(h) * float64(cy) * (float64(y) + 0.5))
					for x := 0; x < w; x++ {
						f += ch[x+y*w] * fx[x] * fy
					}
				}
				f /= float64(n)
				if cx > 0 || cy > 0 {
					ac = append(ac, f)
					scale = math.Max(scale, math.Abs(f))
				} else {
					dc = f
				}
			}
		}
		if scale > 0 {
			for i := range ac {
				ac[i] = 0.5 + 0.5/scale*ac[i]
			}
		}
		return dc, ac, scale
	}
	lDC, lAC, lScale := encode(l, max(lx, 3), max(ly, 3))
	pDC, pAC, pScale := encode(p, 3, 3)
	qDC, qAC, qScale := encode(q, 3, 3)
	aDC, aAC, aScale := 1.0, []float64(nil), 1.0
	if hasAlpha {
		aDC, aAC, aScale = encode(al, 5, 5)
	}

	isLandscape := w > h
	header24 := quant(63*lDC, 63) | quant(31.5+31.5*pDC, 63)<<6 | quant(31.5+31.5*qDC, 63)<<12 |
		quant(31*lScale, 31)<<18
	if hasAlpha {
		header24 |= 1 << 23
	}
	header16 := quant(63*pScale, 63)<<3 | quant(63*qScale, 63)<<9
	if isLandscape {
		header16 |= uint32(ly) | 1<<15
	} else {
		header16 |= uint32(lx)
	}
	hash := []byte{byte(header24), byte(header24 >> 8), byte(header24 >> 16), byte(header16), byte(header16 >> 8)}
	if hasAlpha {
		hash = append(hash, byte(quant(15*aDC, 15)|quant(15*aScale, 15)<<4))
	}
	odd := false
	for _, ac := range [][]float64{lAC, pAC, qAC, aAC} {
		for _, f := range ac {
			u := byte(quant(15*f, 15))
			if odd {
				hash[len(hash)-1] |= u << 4
			} else {
				hash = append(hash, u)
			}
			odd = !odd
		}
	}
	return hash
}

// quant rounds v into [0, hi] for packing into a bit field.
func quant(v float64, hi uint32) uint32 {
	r := math.Round(v)
	if r <= 0 || math.IsNaN(r) {
		return 0
	}
	return min(uint32(r), hi)
}

var errShortHash = errors.New("thumbhash: too short")

// thumbHashDecode renders a hash back to RGBA, 32px on its long side.
func thumbHashDecode(hash []byte) (w, h int, rgba []byte, err error) {
	if len(hash) < 5 {
		return 0, 0, nil, errShortHash
	}
	header24 := uint32(hash[0]) | uint32(hash[1])<<8 | uint32(hash[2])<<16
	header16 := uint32(hash[3]) | uint32(hash[4])<<8
	lDC := float64(header24&63) / 63
	pDC := float64((header24>>6)&63)/31.5 - 1
	qDC := float64((header24>>12)&63)/31.5 - 1
	lScale := float64((header24>>18)&31) / 31
	hasAlpha := header24>>23 != 0
	pScale := float64((header16>>3)&63) / 63
	qScale := float64((header16>>9)&63) / 63
	isLandscape := header16>>15 != 0
	lMax := 7
	if hasAlpha {
		lMax = 5
	}
	lMin := int(header16 & 7)
	lx, ly := lMin, lMax
	if isLandscape {
		lx, ly = lMax, lMin
	}
	if lx == 0 || ly == 0 {
		return 0, 0, nil, errors.New("thumbhash: bad header")
	}
	ratio := float64(lx) / float64(ly)
	lx, ly = max(lx, 3), max(ly, 3)

	pos := 5
	aDC, aScale := 1.0, 1.0
	if hasAlpha {
		if len(hash) < 6 {
			return 0, 0, nil, errShortHash
		}
		aDC, aScale = float64(hash[5]&15)/15, float64(hash[5]>>4)/15
		pos = 6
	}

	// Factors are packed as nibbles, low nibble first.
	nib := 0
	decode := func(nx, ny int, scale float64) ([]float64, error) {
		var ac []float64
		for cy := 0; cy < ny; cy++ {
			cx := 0
			if cy == 0 {
				cx = 1
			}
			for ; cx*ny < nx*(ny-cy); cx++ {
				i := pos + nib/2
				if i >= len(hash) {
					return nil, errShortHash
				}
				bits := hash[i] >> (4 * (nib & 1)) & 15
				nib++
				ac = append(ac, (float64(bits)/7.5-1)*scale)
			}
		}
		return ac, nil
	}
	// Saturation is boosted 1.25x to make up for quantisation, as upstream does.
	lAC, err1 := decode(lx, ly, lScale)
	pAC, err2 := decode(3, 3, pScale*1.25)
	qAC, err3 := decode(3, 3, qScale*1.25)
	var aAC []float64
	var err4 error
	if hasAlpha {
		aAC, err4 = decode(5, 5, aScale)
	}
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return 0, 0, nil, errShortHash
	}

	if ratio > 1 {
		w, h = 32, max(1, int(math.Round(32/ratio)))
	} else {
		w, h = max(1, int(math.Round(32*ratio))), 32
	}
	rgba = make([]byte, 0, w*h*4)
	n := max(lx, ly, 5)
	fx, fy := make([]float64, n), make([]float64, n)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			l, p, q, a := lDC, pDC, qDC, aDC
			for c := range n {
				fx[c] = math.Cos(math.Pi / float64(w) * (float64(x) + 0.5) * float64(c))
				fy[c] = math.Cos(math.Pi / float64(h) * (float64(y) + 0.5) * float64(c))
			}
			j := 0
			for cy := 0; cy < ly; cy++ {
				cx := 0
				if cy == 0 {
					cx = 1
				}
				for ; cx*ly < lx*(ly-cy); cx++ {
					l += lAC[j] * fx[cx] * fy[cy] * 2
					j++
				}
			}
			j = 0
			for cy := 0; cy < 3; cy++ {
				cx := 0
				if cy == 0 {
					cx = 1
				}
				for ; cx < 3-cy; cx++ {
					f := fx[cx] * fy[cy] * 2
					p += pAC[j] * f
					q += qAC[j] * f
					j++
				}
			}
			if hasAlpha {
				j = 0
				for cy := 0; cy < 5; cy++ {
					cx := 0
					if cy == 0 {
						cx = 1
					}
					for ; cx < 5-cy; cx++ {
						a += aAC[j] * fx[cx] * fy[cy] * 2
						j++
					}
				}
			}
			b := l - 2.0/3*p
			r := (3*l - b + q) / 2
			g := r - q
			rgba = append(rgba, unit8(r), unit8(g), unit8(b), unit8(a))
		}
	}
	return w, h, rgba, nil
}

func unit8(v float64) byte { return byte(math.Max(0, math.Min(1, v)) * 255) }

// PlaceholderFromThumbHash renders a ThumbHash as a small PNG data URL that
// HTML can show (<img src=...>) while the real thumbnail loads.
func PlaceholderFromThumbHash(hash []byte) (string, error) {
	w, h, rgba, err := thumbHashDecode(hash)
	if err != nil {
		return "", err
	}
	img := &image.NRGBA{Pix: rgba, Stride: 4 * w, Rect: image.Rect(0, 0, w, h)}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, img); err != nil {
		return "", err
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}
