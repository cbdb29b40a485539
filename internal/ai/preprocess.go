package ai

import (
	"bufio"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // decoders for PreprocessFile
	_ "image/png"
	"math"
	"os"

	_ "golang.org/x/image/webp"
)

// CLIP image preprocessing, as open_clip's image_transform (eval) does it:
//
//	Resize(S, BICUBIC)      shortest side -> S, long side int(S*long/short)
//	CenterCrop(S)           offsets int(round((len-S)/2)), Python rounding
//	convert("RGB")          alpha dropped, not composited
//	ToTensor()              uint8 / 255 as float32
//	Normalize(mean, std)    (x - mean) / std per channel, CHW
//
// torchvision resizes PIL images with PIL itself, so the resampler below is a
// port of Pillow's ImagingResample (libImaging/Resample.c): a separable
// convolution, horizontal pass first, the kernel stretched by the scale
// factor when downscaling (that is Pillow's antialiasing), weights
// normalised per output pixel and turned into 22-bit fixed point, and each
// pass rounded and clamped to 8 bits. The bicubic kernel is Keys' cubic with
// a = -0.5, as in Pillow. It follows Pillow's arithmetic step by step (a
// hand-worked case is in the tests); no Pillow was at hand to compare whole
// images against.
//
// golang.org/x/image/draw's CatmullRom is the same a = -0.5 cubic and also
// widens its kernel when downscaling, but it keeps 16-bit intermediates and
// rounds differently; on a photo-like 1440×1080 -> 224 resize it is within
// one level of this port (mean 0.26 levels, see
// TestPreprocessCloseToXImageDraw). The port is used so that embeddings
// follow the Python pipeline as closely as possible; it also reads only the
// source rows and columns the centre crop needs.
//
// What still differs from Python: Go's JPEG decoder upsamples chroma by pixel
// replication where libjpeg (behind PIL) interpolates ("fancy upsampling"),
// and its IDCT rounding differs, so decoded pixels can be a few levels apart
// before resizing starts. After a ~5x downscale this is noise far below
// anything that changes a search result.

// Preprocess turns img into the visual model's input: 3×S×S float32 values in
// CHW order (all of R, then G, then B), S = cfg.ImageSize. cfg is meant to
// come from LoadModelConfig; one with no image size, a non-positive std or an
// unknown interpolation or resize mode is a programming error and panics
// (PreprocessInto and PreprocessFile return an error instead). An image with
// no pixels gives the fill value (black, normalised) everywhere.
func Preprocess(img image.Image, cfg *ModelConfig) []float32 {
	if err := checkPreprocessConfig(cfg); err != nil {
		panic("ai.Preprocess: " + err.Error())
	}
	out := make([]float32, 3*cfg.ImageSize*cfg.ImageSize)
	preprocessInto(out, img, cfg)
	return out
}

// PreprocessInto is Preprocess writing into dst, which must hold exactly
// 3*S*S values (for example one item of a batch tensor).
func PreprocessInto(dst []float32, img image.Image, cfg *ModelConfig) error {
	if err := checkPreprocessConfig(cfg); err != nil {
		return err
	}
	if want := 3 * cfg.ImageSize * cfg.ImageSize; len(dst) != want {
		return fmt.Errorf("ai: PreprocessInto: dst holds %d values, want %d", len(dst), want)
	}
	preprocessInto(dst, img, cfg)
	return nil
}

// PreprocessFile decodes a JPEG, PNG or WebP file and preprocesses it. No
// EXIF rotation is applied: it is meant for Shoebox's own previews, which are
// written upright.
func PreprocessFile(path string, cfg *ModelConfig) ([]float32, error) {
	if err := checkPreprocessConfig(cfg); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("ai: %w", err)
	}
	defer f.Close()
	img, _, err := image.Decode(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("ai: decoding %s: %w", path, err)
	}
	out := make([]float32, 3*cfg.ImageSize*cfg.ImageSize)
	preprocessInto(out, img, cfg)
	return out, nil
}

func checkPreprocessConfig(cfg *ModelConfig) error {
	if cfg == nil {
		return fmt.Errorf("ai: nil ModelConfig")
	}
	if cfg.ImageSize <= 0 {
		return fmt.Errorf("ai: model %s: image size %d", cfg.Name, cfg.ImageSize)
	}
	for i, s := range cfg.Std {
		if !(s > 0) {
			return fmt.Errorf("ai: model %s: std[%d] is %v", cfg.Name, i, s)
		}
	}
	switch cfg.Interpolation {
	case InterpolationBicubic, InterpolationBilinear, "":
	default:
		return fmt.Errorf("ai: model %s: interpolation %q is not supported", cfg.Name, cfg.Interpolation)
	}
	switch cfg.ResizeMode {
	case ResizeModeShortest, ResizeModeSquash, ResizeModeLongest, "":
	default:
		return fmt.Errorf("ai: model %s: resize_mode %q is not supported", cfg.Name, cfg.ResizeMode)
	}
	return nil
}

// pyRound is Python 3's round(): halves go to the even neighbour.
func pyRound(x float64) int { return int(math.RoundToEven(x)) }

func preprocessInto(out []float32, img image.Image, cfg *ModelConfig) {
	S := cfg.ImageSize
	b := img.Bounds()
	W, H := b.Dx(), b.Dy()

	// Per-channel lookup: ToTensor then Normalize, in float32 like torch.
	var lut [3][256]float32
	for c := 0; c < 3; c++ {
		for v := 0; v < 256; v++ {
			lut[c][v] = (float32(v)/255 - cfg.Mean[c]) / cfg.Std[c]
		}
	}
	plane := S * S

	// Resized size (outW × outH) per resize mode.
	var outW, outH int
	switch {
	case W <= 0 || H <= 0:
		outW, outH = 0, 0
	case cfg.ResizeMode == ResizeModeSquash:
		outW, outH = S, S
	case cfg.ResizeMode == ResizeModeLongest:
		// open_clip ResizeKeepRatio(longest=1): ratio = max(h/S, w/S),
		// size = round(dim / ratio).
		ratio := math.Max(float64(H)/float64(S), float64(W)/float64(S))
		outW, outH = max(1, pyRound(float64(W)/ratio)), max(1, pyRound(float64(H)/ratio))
	default: // shortest: torchvision's _compute_resized_output_size
		if W <= H {
			outW, outH = S, int(float64(S*H)/float64(W))
		} else {
			outW, outH = int(float64(S*W)/float64(H)), S
		}
	}

	// Centre crop or pad each axis to S (torchvision center_crop, which
	// pads first when the image is smaller): the resized pixels
	// [x0, x0+n) land at output column offX onwards.
	place := func(n int) (from, count, off int) {
		if n >= S {
			return pyRound(float64(n-S) / 2), S, 0
		}
		return 0, n, (S - n) / 2
	}
	x0, nx, offX := place(outW)
	y0, ny, offY := place(outH)

	if nx < S || ny < S { // some padding: fill everything, then overwrite
		for c := 0; c < 3; c++ {
			fill := lut[c][0]
			p := out[c*plane : (c+1)*plane]
			for i := range p {
				p[i] = fill
			}
		}
	}
	if nx <= 0 || ny <= 0 {
		return
	}

	filter := bicubicFilter
	if cfg.Interpolation == InterpolationBilinear {
		filter = bilinearFilter
	}
	rgb := resampleRGB(newRowReader(img), W, H, outW, outH, x0, x0+nx, y0, y0+ny, filter)

	for y := 0; y < ny; y++ {
		src := rgb[y*nx*3 : (y+1)*nx*3]
		o := (y+offY)*S + offX
		r := out[o : o+nx]
		g := out[plane+o : plane+o+nx]
		bl := out[2*plane+o : 2*plane+o+nx]
		for x := range nx {
			r[x] = lut[0][src[3*x]]
			g[x] = lut[1][src[3*x+1]]
			bl[x] = lut[2][src[3*x+2]]
		}
	}
}

// ---------------------------------------------------------------------------
// Pillow's resampler

type resampleFilter struct {
	fn      func(x float64) float64
	support float64
}

var bicubicFilter = resampleFilter{func(x float64) float64 {
	const a = -0.5
	if x < 0 {
		x = -x
	}
	if x < 1 {
		return ((a+2)*x-(a+3))*x*x + 1
	}
	if x < 2 {
		return (((x-5)*x+8)*x - 4) * a
	}
	return 0
}, 2}

var bilinearFilter = resampleFilter{func(x float64) float64 {
	if x < 0 {
		x = -x
	}
	if x < 1 {
		return 1 - x
	}
	return 0
}, 1}

// precisionBits is Pillow's PRECISION_BITS for 8-bit images (32 - 8 - 2).
const precisionBits = 32 - 8 - 2

// coeffs are one axis's fixed-point weights for the output positions
// [from, to): output from+i reads count[i] input pixels starting at min[i],
// weighted by k[i*ksize:].
type coeffs struct {
	ksize      int
	min, count []int
	k          []int32
}

// precomputeCoeffs is Pillow's precompute_coeffs for the whole input
// (box 0..inSize) followed by normalize_coeffs_8bpc, restricted to the output
// positions [from, to) (each is computed independently, so this equals
// computing them all and keeping a slice).
func precomputeCoeffs(inSize, outSize, from, to int, f resampleFilter) coeffs {
	scale := float64(inSize) / float64(outSize)
	filterscale := max(scale, 1.0)
	support := f.support * filterscale
	ksize := int(math.Ceil(support))*2 + 1
	n := to - from
	c := coeffs{ksize: ksize, min: make([]int, n), count: make([]int, n), k: make([]int32, n*ksize)}
	w := make([]float64, ksize)
	ss := 1.0 / filterscale
	for i := range n {
		xx := from + i
		center := (float64(xx) + 0.5) * scale
		xmin := int(center - support + 0.5) // C cast: truncation
		if xmin < 0 {
			xmin = 0
		}
		xmax := int(center + support + 0.5)
		if xmax > inSize {
			xmax = inSize
		}
		xmax -= xmin
		ww := 0.0
		for x := range xmax {
			w[x] = f.fn((float64(x+xmin) - center + 0.5) * ss)
			ww += w[x]
		}
		k := c.k[i*ksize : (i+1)*ksize]
		for x := range xmax {
			v := w[x]
			if ww != 0 {
				v /= ww
			}
			if v < 0 {
				k[x] = int32(-0.5 + v*(1<<precisionBits))
			} else {
				k[x] = int32(0.5 + v*(1<<precisionBits))
			}
		}
		c.min[i], c.count[i] = xmin, xmax
	}
	return c
}

// clip8 is Pillow's clip8: drop the fraction (floor) and clamp to 0..255.
func clip8(v int32) uint8 {
	v >>= precisionBits
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// resampleRGB resizes the W×H image behind rows to outW×outH as Pillow's
// Image.resize does and returns the region [x0,x1)×[y0,y1) of the result as
// packed RGB. Only the source rows and columns that region needs are read.
func resampleRGB(rows rowReader, W, H, outW, outH, x0, x1, y0, y1 int, f resampleFilter) []uint8 {
	nx, ny := x1-x0, y1-y0
	needH, needV := outW != W, outH != H

	// Source columns [sx0, sx1) and rows [sy0, sy1) that are read.
	var hc, vc coeffs
	sx0, sx1 := x0, x1
	if needH {
		hc = precomputeCoeffs(W, outW, x0, x1, f)
		sx0, sx1 = hc.min[0], hc.min[nx-1]+hc.count[nx-1]
		for i := range nx { // bounds are monotonic in practice; be safe
			sx0 = min(sx0, hc.min[i])
			sx1 = max(sx1, hc.min[i]+hc.count[i])
		}
	}
	sy0, sy1 := y0, y1
	if needV {
		vc = precomputeCoeffs(H, outH, y0, y1, f)
		sy0, sy1 = vc.min[0], vc.min[ny-1]+vc.count[ny-1]
		for i := range ny {
			sy0 = min(sy0, vc.min[i])
			sy1 = max(sy1, vc.min[i]+vc.count[i])
		}
	}

	// Horizontal pass over the needed rows into tmp (nx wide).
	rowBuf := make([]uint8, 3*(sx1-sx0))
	tmp := make([]uint8, 3*nx*(sy1-sy0))
	const half = int32(1) << (precisionBits - 1)
	for y := sy0; y < sy1; y++ {
		dst := tmp[3*nx*(y-sy0) : 3*nx*(y-sy0+1)]
		if !needH {
			rows(y, sx0, sx1, dst)
			continue
		}
		rows(y, sx0, sx1, rowBuf)
		for i := range nx {
			k := hc.k[i*hc.ksize : i*hc.ksize+hc.count[i]]
			src := rowBuf[3*(hc.min[i]-sx0):]
			s0, s1, s2 := half, half, half
			for x, kx := range k {
				p := src[3*x : 3*x+3]
				s0 += int32(p[0]) * kx
				s1 += int32(p[1]) * kx
				s2 += int32(p[2]) * kx
			}
			dst[3*i], dst[3*i+1], dst[3*i+2] = clip8(s0), clip8(s1), clip8(s2)
		}
	}
	if !needV {
		return tmp
	}

	// Vertical pass.
	out := make([]uint8, 3*nx*ny)
	stride := 3 * nx
	for j := range ny {
		k := vc.k[j*vc.ksize : j*vc.ksize+vc.count[j]]
		base := (vc.min[j] - sy0) * stride
		dst := out[j*stride : (j+1)*stride]
		for i := 0; i < stride; i++ {
			s := half
			o := base + i
			for _, ky := range k {
				s += int32(tmp[o]) * ky
				o += stride
			}
			dst[i] = clip8(s)
		}
	}
	return out
}

// ---------------------------------------------------------------------------
// Reading pixels

// rowReader writes source row y, columns [x0, x1) (relative to the image's
// bounds), into dst as packed 8-bit RGB, the way PIL's convert("RGB") sees
// them: alpha is dropped, not composited over a background.
type rowReader func(y, x0, x1 int, dst []uint8)

func newRowReader(img image.Image) rowReader {
	b := img.Bounds()
	switch src := img.(type) {
	case *image.YCbCr:
		return ycbcrRows(src)
	case *image.NYCbCrA:
		return ycbcrRows(&src.YCbCr)
	case *image.RGBA:
		return func(y, x0, x1 int, dst []uint8) {
			p := src.Pix[src.PixOffset(b.Min.X+x0, b.Min.Y+y):]
			for x := range x1 - x0 {
				q := p[4*x : 4*x+4]
				if a := q[3]; a == 0xff {
					dst[3*x], dst[3*x+1], dst[3*x+2] = q[0], q[1], q[2]
				} else {
					c := color.NRGBAModel.Convert(color.RGBA{q[0], q[1], q[2], a}).(color.NRGBA)
					dst[3*x], dst[3*x+1], dst[3*x+2] = c.R, c.G, c.B
				}
			}
		}
	case *image.NRGBA:
		return func(y, x0, x1 int, dst []uint8) {
			p := src.Pix[src.PixOffset(b.Min.X+x0, b.Min.Y+y):]
			for x := range x1 - x0 {
				dst[3*x], dst[3*x+1], dst[3*x+2] = p[4*x], p[4*x+1], p[4*x+2]
			}
		}
	case *image.Gray:
		return func(y, x0, x1 int, dst []uint8) {
			p := src.Pix[src.PixOffset(b.Min.X+x0, b.Min.Y+y):]
			for x := range x1 - x0 {
				v := p[x]
				dst[3*x], dst[3*x+1], dst[3*x+2] = v, v, v
			}
		}
	default:
		return func(y, x0, x1 int, dst []uint8) {
			for x := range x1 - x0 {
				c := color.NRGBAModel.Convert(img.At(b.Min.X+x0+x, b.Min.Y+y)).(color.NRGBA)
				dst[3*x], dst[3*x+1], dst[3*x+2] = c.R, c.G, c.B
			}
		}
	}
}

func ycbcrRows(src *image.YCbCr) rowReader {
	b := src.Rect
	// Chroma subsampling as shifts: horizontal 1, 2 or 4 pixels and
	// vertical 1 or 2 rows per chroma sample.
	var hs, vs int
	switch src.SubsampleRatio {
	case image.YCbCrSubsampleRatio444:
	case image.YCbCrSubsampleRatio422:
		hs = 1
	case image.YCbCrSubsampleRatio420:
		hs, vs = 1, 1
	case image.YCbCrSubsampleRatio440:
		vs = 1
	case image.YCbCrSubsampleRatio411:
		hs = 2
	case image.YCbCrSubsampleRatio410:
		hs, vs = 2, 1
	default:
		hs = -1
	}
	if hs < 0 || b.Min.X < 0 || b.Min.Y < 0 {
		// Unusual layout: the image package's own offsets.
		return func(y, x0, x1 int, dst []uint8) {
			Y := b.Min.Y + y
			for x := range x1 - x0 {
				X := b.Min.X + x0 + x
				yi, ci := src.YOffset(X, Y), src.COffset(X, Y)
				dst[3*x], dst[3*x+1], dst[3*x+2] = color.YCbCrToRGB(src.Y[yi], src.Cb[ci], src.Cr[ci])
			}
		}
	}
	// With non-negative coordinates the image package's x/2 - min/2 (etc.)
	// equals the shifts used here.
	return func(y, x0, x1 int, dst []uint8) {
		Y := b.Min.Y + y
		yrow := src.Y[(Y-b.Min.Y)*src.YStride:]
		crow := (Y>>vs - b.Min.Y>>vs) * src.CStride
		cb, cr := src.Cb[crow:], src.Cr[crow:]
		cmin := b.Min.X >> hs
		dst = dst[:3*(x1-x0)]
		for x := range x1 - x0 {
			X := b.Min.X + x0 + x
			c := X>>hs - cmin
			// color.YCbCrToRGB (JFIF full-range BT.601 in 16-bit fixed
			// point), written out because the compiler will not inline it.
			yy1 := int32(yrow[X-b.Min.X]) * 0x10101
			cb1 := int32(cb[c]) - 128
			cr1 := int32(cr[c]) - 128
			r := yy1 + 91881*cr1
			if uint32(r)&0xff000000 == 0 {
				r >>= 16
			} else {
				r = ^(r >> 31)
			}
			g := yy1 - 22554*cb1 - 46802*cr1
			if uint32(g)&0xff000000 == 0 {
				g >>= 16
			} else {
				g = ^(g >> 31)
			}
			bl := yy1 + 116130*cb1
			if uint32(bl)&0xff000000 == 0 {
				bl >>= 16
			} else {
				bl = ^(bl >> 31)
			}
			d := dst[3*x : 3*x+3 : 3*x+3]
			d[0], d[1], d[2] = uint8(r), uint8(g), uint8(bl)
		}
	}
}
