package media

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// Sentinel errors, for errors.Is. Callers use them to tell "this file will
// never work" (don't retry, mark it) from I/O trouble.
var (
	// ErrTooLarge: the image has more pixels than Options.MaxPixels.
	ErrTooLarge = errors.New("image too large")
	// ErrUnsupported: not a format we decode (or the file is not an image or
	// a video), or a video over the bounds of video.go.
	ErrUnsupported = errors.New("unsupported format")
	// ErrDecode: a supported format whose data is empty, truncated or corrupt.
	ErrDecode = errors.New("cannot decode")
)

// Options control Process. Zero values mean the defaults.
type Options struct {
	ThumbSize   int   // box for the WebP thumbnail, default 250
	PreviewSize int   // box for the JPEG preview, default 1440
	MaxPixels   int64 // refuse larger images before decoding, default DefaultMaxPixels
	// VideoTimeout bounds each ffprobe and ffmpeg run on a video (killed
	// past it), default DefaultVideoTimeout.
	VideoTimeout time.Duration
}

// DefaultMaxPixels is the pixel limit when none is set (200 MP): the one
// place it is written; config and jobs pass 0 through to mean it.
const DefaultMaxPixels = 200_000_000

const hashBox = 100 // ThumbHash is defined for inputs up to 100x100

func (o Options) withDefaults() Options {
	if o.ThumbSize <= 0 {
		o.ThumbSize = 250
	}
	if o.PreviewSize <= 0 {
		o.PreviewSize = 1440
	}
	if o.MaxPixels <= 0 {
		o.MaxPixels = DefaultMaxPixels
	}
	if o.VideoTimeout <= 0 {
		o.VideoTimeout = DefaultVideoTimeout
	}
	return o
}

// Result is everything Shoebox stores for one photo.
type Result struct {
	Width, Height int    // of the original, after orientation (swapped for 5..8)
	Format        string // "jpeg", "png", "gif", "webp", "heif", "avif", "tiff"

	Thumb                   []byte // WebP q80, fits ThumbSize box, upright, never upscaled
	ThumbWidth, ThumbHeight int

	Preview                     []byte // JPEG q80, fits PreviewSize box, upright, never upscaled, metadata stripped
	PreviewWidth, PreviewHeight int

	ThumbHash   []byte // of a <=100x100 version of the thumbnail
	Placeholder string // "data:image/png;base64,..." about 32px, decoded from ThumbHash

	// Damage is empty for a sound image. For a truncated or corrupt one it
	// is the decoder's warning ("VipsJpeg: Premature end of JPEG file"):
	// the pixels above are what could be decoded, grey where data is
	// missing, or the camera's EXIF thumbnail when no image data is left.
	Damage string

	Meta Meta

	// Video is set when the file is a video; the images above are then
	// made from its poster frame, and Format is its container.
	Video *Video
}

// maxSide bounds each side: no camera or panorama stitcher writes a longer
// one, and JPEG and WebP cannot even store it.
const maxSide = 65535

// minJPEGBytesPerPixel: every 8x8 block of a Huffman-coded JPEG costs at
// least one bit (its DC code), so a sound JPEG has at least pixels/512
// bytes; half that leaves a margin. A file with less claims pixels it
// cannot hold: decoding it leniently would be all grey, and a progressive
// one would still make libjpeg allocate its whole coefficient buffer (600
// MB for a 2 kB file claiming 196 megapixels).
const minJPEGBytesPerPixel = 1.0 / 1024

// Process decodes the image at path and returns its preview, thumbnail,
// ThumbHash and metadata. It reads the header first and refuses images of
// zero or absurd dimensions, over MaxPixels (ErrTooLarge), or JPEGs far too
// small for the pixels they claim (pixel bombs), before any pixel is
// decoded. Unknown formats give ErrUnsupported; empty files and images of
// which nothing can be decoded give ErrDecode with libvips' reason. A
// truncated or corrupt image is decoded as far as it goes and comes back
// with Result.Damage set (see render); a JPEG with no image data left falls
// back to its EXIF thumbnail. Broken EXIF never fails a photo whose pixels
// decode: Meta is then filled as far as it could be read.
//
// ctx is checked between stages; a decode in progress runs to completion.
// Safe for concurrent use.
func Process(ctx context.Context, path string, opt Options) (*Result, error) {
	if err := Init(); err != nil {
		return nil, err
	}
	opt = opt.withDefaults()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	size, err := checkFile(path)
	if err != nil {
		return nil, err
	}
	src := source{path: path}
	h, err := readHeader(src)
	var (
		out    *rendered
		damage string
	)
	if err == nil {
		if err := checkHeader(h, size, opt); err != nil {
			return nil, fmt.Errorf("media: %s: %w", path, err)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		out, damage, err = render(src, h, opt.PreviewSize, opt.ThumbSize, hashBox)
	}
	// A JPEG of which nothing decodes may still have its EXIF thumbnail.
	fallback := err != nil && h.format == "jpeg" && errors.Is(err, ErrDecode)
	var meta Meta
	if err == nil || fallback {
		meta, _ = ReadMeta(path) // best effort by design; partial Meta is still useful
	}
	if fallback {
		h, out, damage, err = fromEXIFThumbnail(path, err, meta.Orientation, opt)
	}
	if err != nil {
		return nil, fmt.Errorf("media: %s: %w", path, err)
	}
	return result(path, h, out, damage, meta)
}

// result assembles a Result from a render: the ThumbHash and placeholder
// of its pixels, and the original's upright dimensions.
func result(name string, h header, out *rendered, damage string, meta Meta) (*Result, error) {
	hash := thumbHashEncode(out.rgbaW, out.rgbaH, out.rgba)
	placeholder, err := PlaceholderFromThumbHash(hash)
	if err != nil {
		return nil, fmt.Errorf("media: %s: placeholder: %w", name, err)
	}
	r := &Result{
		Width: h.width, Height: h.height, Format: h.format,
		Thumb: out.thumb, ThumbWidth: out.thumbW, ThumbHeight: out.thumbH,
		Preview: out.preview, PreviewWidth: out.previewW, PreviewHeight: out.previewH,
		ThumbHash: hash, Placeholder: placeholder,
		Damage: damage,
		Meta:   meta,
	}
	if h.orientation >= 5 && h.orientation <= 8 {
		r.Width, r.Height = r.Height, r.Width
	}
	return r, nil
}

// processImage makes the preview, thumbnail and ThumbHash of an image held
// in memory (a video's poster frame), with the same header checks and
// decode as Process; name only names it in messages. Format and the
// dimensions are the image's own: the caller replaces them with what they
// describe.
func processImage(name string, img []byte, opt Options) (*Result, error) {
	if err := Init(); err != nil {
		return nil, err
	}
	src := source{path: name, buf: img}
	h, err := readHeader(src)
	if err == nil {
		err = checkHeader(h, int64(len(img)), opt)
	}
	var (
		out    *rendered
		damage string
	)
	if err == nil {
		out, damage, err = render(src, h, opt.PreviewSize, opt.ThumbSize, hashBox)
	}
	if err != nil {
		return nil, fmt.Errorf("media: %s: %w", name, err)
	}
	return result(name, h, out, damage, Meta{Orientation: 1})
}

// checkHeader refuses, from the header alone, what must not be decoded.
func checkHeader(h header, size int64, opt Options) error {
	px := int64(h.width) * int64(h.height)
	switch {
	case h.width <= 0 || h.height <= 0:
		return fmt.Errorf("%w: %dx%d: zero dimensions", ErrDecode, h.width, h.height)
	case h.width > maxSide || h.height > maxSide:
		return fmt.Errorf("%dx%d: a side over %d pixels: %w", h.width, h.height, maxSide, ErrTooLarge)
	case px > opt.MaxPixels:
		return fmt.Errorf("%dx%d is %.1f megapixels, over the %.1f limit: %w",
			h.width, h.height, float64(px)/1e6, float64(opt.MaxPixels)/1e6, ErrTooLarge)
	case h.format == "jpeg" && float64(size) < float64(px)*minJPEGBytesPerPixel:
		return fmt.Errorf("%dx%d (%.1f megapixels) in %d bytes: far too little data for its pixels (a pixel bomb): %w",
			h.width, h.height, float64(px)/1e6, size, ErrTooLarge)
	}
	return nil
}

// fromEXIFThumbnail shows a JPEG of which nothing could be decoded (cut off
// before its image data, or too corrupt for libjpeg) by the thumbnail the
// camera stored in its EXIF, turned upright by the photo's orientation. The
// photo is then marked damaged with why its own image failed; without such
// a thumbnail it is refused with that reason.
func fromEXIFThumbnail(path string, cause error, orientation int, opt Options) (header, *rendered, string, error) {
	thumb := exifThumbnail(path)
	if thumb == nil {
		return header{}, nil, "", cause
	}
	src := source{path: path, buf: thumb}
	h, err := readHeader(src)
	if err == nil && h.format != "jpeg" {
		err = fmt.Errorf("%w: EXIF thumbnail is %s, not JPEG", ErrUnsupported, h.format)
	}
	if err == nil {
		err = checkHeader(h, int64(len(thumb)), opt)
	}
	if err != nil {
		return header{}, nil, "", fmt.Errorf("%w (and its EXIF thumbnail: %v)", cause, err)
	}
	if h.orientation <= 1 && orientation >= 2 && orientation <= 8 {
		h.orientation, h.rotate = orientation, orientation
	}
	out, _, err := render(src, h, opt.PreviewSize, opt.ThumbSize, hashBox)
	if err != nil {
		return header{}, nil, "", fmt.Errorf("%w (and its EXIF thumbnail: %v)", cause, err)
	}
	reason := strings.TrimPrefix(cause.Error(), ErrDecode.Error()+": ")
	return h, out, reason + "; no image data left: showing the EXIF thumbnail", nil
}

// checkFile turns the cheap-to-detect problems into clear errors before
// libvips sees the file.
func checkFile(path string) (size int64, err error) {
	// libvips reads a trailing "[...]" as load options ("a.jpg[shrink=2]").
	if strings.HasSuffix(path, "]") {
		return 0, fmt.Errorf("media: %s: %w: libvips cannot open names ending in ']'", path, ErrUnsupported)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("media: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("media: %s: not a regular file: %w", path, ErrUnsupported)
	}
	if fi.Size() == 0 {
		return 0, fmt.Errorf("media: %s: empty file: %w", path, ErrDecode)
	}
	return fi.Size(), nil
}
