package media

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Sentinel errors, for errors.Is. Callers use them to tell "this file will
// never work" (don't retry, mark it) from I/O trouble.
var (
	// ErrTooLarge: the image has more pixels than Options.MaxPixels.
	ErrTooLarge = errors.New("image too large")
	// ErrUnsupported: not a format we decode (or the file is not an image).
	ErrUnsupported = errors.New("unsupported image format")
	// ErrDecode: a supported format whose data is empty, truncated or corrupt.
	ErrDecode = errors.New("cannot decode image")
)

// Options control Process. Zero values mean the defaults.
type Options struct {
	ThumbSize   int   // box for the WebP thumbnail, default 250
	PreviewSize int   // box for the JPEG preview, default 1440
	MaxPixels   int64 // refuse larger images before decoding, default 200_000_000
}

const hashBox = 100 // ThumbHash is defined for inputs up to 100x100

func (o Options) withDefaults() Options {
	if o.ThumbSize <= 0 {
		o.ThumbSize = 250
	}
	if o.PreviewSize <= 0 {
		o.PreviewSize = 1440
	}
	if o.MaxPixels <= 0 {
		o.MaxPixels = 200_000_000
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

	Meta Meta
}

// Process decodes the image at path once and returns its preview, thumbnail,
// ThumbHash and metadata. It reads the header first and refuses images over
// MaxPixels (ErrTooLarge) before any pixel is decoded. Unknown formats give
// ErrUnsupported; empty, truncated or corrupt files give ErrDecode with
// libvips' reason. Broken EXIF never fails a photo whose pixels decode: Meta
// is then filled as far as it could be read.
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
	if err := checkFile(path); err != nil {
		return nil, err
	}
	h, err := readHeader(path)
	if err != nil {
		return nil, fmt.Errorf("media: %s: %w", path, err)
	}
	if px := int64(h.width) * int64(h.height); px > opt.MaxPixels {
		return nil, fmt.Errorf("media: %s: %dx%d is %.1f megapixels, over the %.1f limit: %w",
			path, h.width, h.height, float64(px)/1e6, float64(opt.MaxPixels)/1e6, ErrTooLarge)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out, err := render(path, h, opt.PreviewSize, opt.ThumbSize, hashBox)
	if err != nil {
		return nil, fmt.Errorf("media: %s: %w", path, err)
	}
	hash := thumbHashEncode(out.rgbaW, out.rgbaH, out.rgba)
	placeholder, err := PlaceholderFromThumbHash(hash)
	if err != nil {
		return nil, fmt.Errorf("media: %s: placeholder: %w", path, err)
	}
	meta, _ := ReadMeta(path) // best effort by design; partial Meta is still useful

	r := &Result{
		Width: h.width, Height: h.height, Format: h.format,
		Thumb: out.thumb, ThumbWidth: out.thumbW, ThumbHeight: out.thumbH,
		Preview: out.preview, PreviewWidth: out.previewW, PreviewHeight: out.previewH,
		ThumbHash: hash, Placeholder: placeholder,
		Meta: meta,
	}
	if h.orientation >= 5 && h.orientation <= 8 {
		r.Width, r.Height = r.Height, r.Width
	}
	return r, nil
}

// checkFile turns the cheap-to-detect problems into clear errors before
// libvips sees the file.
func checkFile(path string) error {
	// libvips reads a trailing "[...]" as load options ("a.jpg[shrink=2]").
	if strings.HasSuffix(path, "]") {
		return fmt.Errorf("media: %s: %w: libvips cannot open names ending in ']'", path, ErrUnsupported)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("media: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("media: %s: not a regular file: %w", path, ErrUnsupported)
	}
	if fi.Size() == 0 {
		return fmt.Errorf("media: %s: empty file: %w", path, ErrDecode)
	}
	return nil
}
