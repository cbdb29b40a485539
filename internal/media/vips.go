package media

// The whole libvips surface Shoebox uses. cgo cannot call C variadic functions,
// so each libvips sequence lives in a small static C helper; the Go side only
// passes paths in and copies finished byte buffers out. Every VipsImage made
// in a helper is unreffed before it returns and every buffer it hands out is
// g_free'd by the Go caller, so nothing outlives a call.

/*
#cgo pkg-config: vips
#include <stdlib.h>
#include <string.h>
#include <vips/vips.h>
#include <malloc.h>

// Loaders warn on every damaged file ("read gave 100 warnings", libjpeg
// chatter); in a library import that floods stderr, so warnings are never
// printed. While a damaged file is decoded a second time, alone (see
// render), they are collected instead: some loaders (PNG) say what is wrong
// only there. The handler runs on whichever libvips thread warns.
static GMutex sb_capture_lock;
static GString *sb_captured; // non-NULL only during an exclusive decode

static void sb_log(const gchar *domain, GLogLevelFlags level,
	const gchar *msg, gpointer data) {
	if (!(level & G_LOG_LEVEL_WARNING) || !msg)
		return;
	g_mutex_lock(&sb_capture_lock);
	if (sb_captured && sb_captured->len < 2048 && !strstr(sb_captured->str, msg)) {
		g_string_append(sb_captured, msg);
		g_string_append_c(sb_captured, '\n');
	}
	g_mutex_unlock(&sb_capture_lock);
}

static void sb_capture_begin(void) {
	g_mutex_lock(&sb_capture_lock);
	sb_captured = g_string_new("");
	g_mutex_unlock(&sb_capture_lock);
}

// Returns what was captured, to be g_free'd by the caller.
static char *sb_capture_end(void) {
	g_mutex_lock(&sb_capture_lock);
	char *s = g_string_free(sb_captured, FALSE);
	sb_captured = NULL;
	g_mutex_unlock(&sb_capture_lock);
	return s;
}

static int sb_init(void) {
	// Decoded images are large, short-lived buffers. glibc by default raises
	// its mmap threshold after freeing one, then keeps later ones on the heap
	// of whichever of its per-thread arenas served them, so resident memory
	// climbs with photo size and worker count. A fixed threshold returns every
	// big buffer to the system at once; two arenas bound the rest.
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	mallopt(M_ARENA_MAX, 2);
	if (vips_init("shoebox") != 0)
		return -1;
	// Each file is processed once: an operation cache only holds memory and
	// open files that will never be hit.
	vips_cache_set_max(0);
	vips_cache_set_max_mem(0);
	vips_cache_set_max_files(0);
	// We run one worker per core; libvips' own thread pool would oversubscribe.
	vips_concurrency_set(1);
	// Files come from users' disks: never let them reach loaders that libvips
	// itself marks as unfuzzed (ImageMagick, PDF, SVG, FITS, ...).
	vips_block_untrusted_set(TRUE);
	g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE |
		G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG, sb_log, NULL);
	return 0;
}

static int sb_has_op(const char *nickname) {
	return vips_type_find("VipsOperation", nickname) != 0;
}

// The libvips 8.14 error log is one process-wide buffer, and successful loads
// write to it too (libheif "bad seek" on files it then decodes fine). A call
// notes where the log ends when it starts, and on failure reports only what
// came after. The log is cleared when it grows large so it can never fill up
// and swallow new messages.
static size_t sb_error_mark(void) {
	size_t n = strlen(vips_error_buffer());
	if (n > 4096) {
		vips_error_clear();
		n = 0;
	}
	return n;
}

// An image source: a file (path), or bytes in memory (buf, len; an EXIF
// thumbnail) when buf is set.
typedef struct {
	const char *path;
	const void *buf; size_t len;
} sb_src;

// Sniffs the content and names the loader class that would read it
// ("VipsForeignLoadJpegFile"), without decoding anything.
static int sb_find_loader(const sb_src *src, char *buf, size_t n) {
	const char *name = src->buf ? vips_foreign_find_load_buffer(src->buf, src->len) :
		vips_foreign_find_load(src->path);
	if (!name)
		return -1;
	g_strlcpy(buf, name, n);
	return 0;
}

// Loads src with the TIFF loader whatever the sniffing says: the TIFF
// loader's sniffer opens the file, so a TIFF it cannot open is claimed by
// another loader, and only this call gives libtiff's reason.
static int sb_try_tiff(const sb_src *src) {
	VipsImage *im = NULL;
	int r = src->buf ? vips_tiffload_buffer((void *) src->buf, src->len, &im, NULL) :
		vips_tiffload(src->path, &im, NULL);
	if (im)
		g_object_unref(im);
	return r;
}

typedef struct {
	int width, height, orientation;
	char compression[16]; // heif only: "hevc" or "av1"
	void *icc; size_t icc_len; // copy of the embedded ICC profile, g_free'd by Go
} sb_header;

// Header only: loaders are lazy, so this reads a few KB, not pixels.
static int sb_read_header(const sb_src *src, sb_header *h) {
	VipsImage *im = src->buf ?
		vips_image_new_from_buffer(src->buf, src->len, "",
			"access", VIPS_ACCESS_SEQUENTIAL, NULL) :
		vips_image_new_from_file(src->path,
			"access", VIPS_ACCESS_SEQUENTIAL, NULL);
	if (!im)
		return -1;
	h->width = vips_image_get_width(im);
	h->height = vips_image_get_height(im);
	h->orientation = vips_image_get_orientation(im);
	const char *c = NULL;
	if (vips_image_get_typeof(im, "heif-compression") &&
		vips_image_get_string(im, "heif-compression", &c) == 0 && c)
		g_strlcpy(h->compression, c, sizeof(h->compression));
	const void *icc;
	size_t len;
	if (vips_image_get_typeof(im, VIPS_META_ICC_NAME) &&
		vips_image_get_blob(im, VIPS_META_ICC_NAME, &icc, &len) == 0 &&
		len > 0 && len < (1 << 24)) {
		h->icc = g_malloc(len);
		memcpy(h->icc, icc, len);
		h->icc_len = len;
	}
	g_object_unref(im);
	return 0;
}

typedef struct {
	void *preview; size_t preview_len; int preview_w, preview_h;
	void *thumb; size_t thumb_len; int thumb_w, thumb_h;
	void *rgba; size_t rgba_len; int rgba_w, rgba_h;
} sb_out;

static void sb_out_free(sb_out *o) {
	g_free(o->preview);
	g_free(o->thumb);
	g_free(o->rgba);
	memset(o, 0, sizeof(*o));
}

#define SB_FIT(box) (box), "height", (box), "size", VIPS_SIZE_DOWN

static int sb_thumbnail(const sb_src *src, VipsImage **out, int box,
	int fail_on, int to_srgb) {
	void *buf = (void *) src->buf;
	if (buf && to_srgb)
		return vips_thumbnail_buffer(buf, src->len, out, SB_FIT(box),
			"fail_on", fail_on, "export_profile", "srgb", NULL);
	if (buf)
		return vips_thumbnail_buffer(buf, src->len, out, SB_FIT(box),
			"fail_on", fail_on, NULL);
	if (to_srgb)
		return vips_thumbnail(src->path, out, SB_FIT(box),
			"fail_on", fail_on, "export_profile", "srgb", NULL);
	return vips_thumbnail(src->path, out, SB_FIT(box), "fail_on", fail_on, NULL);
}

static int sb_render(const sb_src *src, int preview_box, int thumb_box,
	int hash_box, int fail_on, int to_srgb, int rotate, sb_out *o) {
	VipsImage *t[12] = { NULL }; // every intermediate; all unreffed at the end
	VipsArrayDouble *white = NULL;
	VipsImage *im, *pv;
	int ret = -1;

	// The only decode: shrink-on-load straight to the preview box (JPEG
	// DCT scaling, HEIF/WebP/TIFF embedded sizes), upright. An ICC
	// transform costs ~40% of the decode, so it runs only for profiles
	// that are not sRGB already (Display P3, Adobe RGB).
	if (sb_thumbnail(src, &t[0], preview_box, fail_on, to_srgb))
		goto done;
	im = t[0];
	// An EXIF thumbnail has no EXIF of its own: the photo's orientation
	// is applied by hand.
	if (rotate > 1) {
		if (vips_copy(im, &t[10], NULL))
			goto done;
		vips_image_set_int(t[10], VIPS_META_ORIENTATION, rotate);
		if (vips_autorot(t[10], &t[11], NULL))
			goto done;
		im = t[11];
	}
	if (im->BandFmt != VIPS_FORMAT_UCHAR) { // 16-bit PNG/TIFF, float HDR
		if (vips_colourspace(im, &t[1], VIPS_INTERPRETATION_sRGB, NULL) ||
			vips_cast_uchar(t[1], &t[2], NULL))
			goto done;
		im = t[2];
	}
	// Render into memory once; the encodes below read these pixels rather
	// than re-running the lazy pipeline (which would decode the file again).
	if (!(t[3] = vips_image_copy_memory(im)))
		goto done;
	im = t[3];
	// Pixels are sRGB now; a profile left attached would make the next
	// resize convert sRGB to sRGB for nothing.
	vips_image_remove(im, VIPS_META_ICC_NAME);

	// Preview: JPEG has no alpha; flatten onto white rather than let
	// transparent areas turn black.
	pv = im;
	if (vips_image_hasalpha(im)) {
		double w[1] = { 255 };
		white = vips_array_double_new(w, 1);
		if (vips_flatten(im, &t[4], "background", white, NULL))
			goto done;
		pv = t[4];
	}
	if (vips_jpegsave_buffer(pv, &o->preview, &o->preview_len, "Q", 80,
			"strip", TRUE, "optimize_coding", TRUE, NULL))
		goto done;
	o->preview_w = pv->Xsize;
	o->preview_h = pv->Ysize;

	// Thumbnail from the decoded preview (already upright).
	if (vips_thumbnail_image(im, &t[5], SB_FIT(thumb_box), "no_rotate", TRUE,
			NULL) ||
		!(t[6] = vips_image_copy_memory(t[5])) ||
		vips_webpsave_buffer(t[6], &o->thumb, &o->thumb_len, "Q", 80,
			"strip", TRUE, NULL))
		goto done;
	o->thumb_w = t[6]->Xsize;
	o->thumb_h = t[6]->Ysize;

	// ThumbHash input: small 8-bit RGBA derived from the thumbnail.
	if (vips_thumbnail_image(t[6], &t[7], SB_FIT(hash_box), "no_rotate", TRUE,
			NULL))
		goto done;
	im = t[7];
	if (im->Bands < 3) { // grey (+alpha)
		if (vips_colourspace(im, &t[8], VIPS_INTERPRETATION_sRGB, NULL))
			goto done;
		im = t[8];
	}
	if (im->Bands == 3) {
		if (vips_bandjoin_const1(im, &t[9], 255, NULL))
			goto done;
		im = t[9];
	}
	if (im->Bands != 4 || im->BandFmt != VIPS_FORMAT_UCHAR) {
		vips_error("shoebox", "unexpected %d-band image", im->Bands);
		goto done;
	}
	if (!(o->rgba = vips_image_write_to_memory(im, &o->rgba_len)))
		goto done;
	o->rgba_w = im->Xsize;
	o->rgba_h = im->Ysize;
	ret = 0;

done:
	for (int i = 0; i < 12; i++)
		if (t[i])
			g_object_unref(t[i]);
	if (white)
		vips_area_unref(VIPS_AREA(white));
	if (ret)
		sb_out_free(o);
	return ret;
}

// For tests: what libvips has allocated and has open right now.
static void sb_stats(size_t *mem, int *allocs, int *files) {
	*mem = vips_tracked_get_mem();
	*allocs = vips_tracked_get_allocs();
	*files = vips_tracked_get_files();
}
*/
import "C"

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"unicode/utf16"
	"unsafe"

	"github.com/bep/imagemeta"
)

var (
	initOnce sync.Once
	initErr  error
)

// Init starts libvips once per process with the settings Shoebox relies on:
// no operation cache, one libvips thread per call (we run one worker per
// core), untrusted loaders blocked and warnings silenced. It is idempotent
// and safe to call from many goroutines; Process and friends call it.
func Init() error {
	initOnce.Do(func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if C.sb_init() != 0 {
			initErr = fmt.Errorf("media: vips_init: %s", vipsError(0, "failed"))
		}
	})
	return initErr
}

// Version reports the libvips version, e.g. "8.14.1".
func Version() string {
	if Init() != nil {
		return ""
	}
	return fmt.Sprintf("%d.%d.%d", C.vips_version(0), C.vips_version(1), C.vips_version(2))
}

// Formats lists which of jpeg, png, gif, webp, heif, avif and tiff this
// libvips build has a loader for. heif and avif share libheif's loader; whether
// libheif was built with the HEVC / AV1 decoders only shows when a file is
// decoded.
func Formats() []string {
	if Init() != nil {
		return nil
	}
	var out []string
	for _, f := range [...]struct{ name, op string }{
		{"jpeg", "jpegload"}, {"png", "pngload"}, {"gif", "gifload"}, {"webp", "webpload"},
		{"heif", "heifload"}, {"avif", "heifload"}, {"tiff", "tiffload"},
	} {
		op := C.CString(f.op)
		if C.sb_has_op(op) != 0 {
			out = append(out, f.name)
		}
		C.free(unsafe.Pointer(op))
	}
	return out
}

// loaderFormats maps libvips loader classes to our format names. Any loader
// not listed is refused, so odd inputs (CSV, Matlab, raw PPM...) never get
// decoded as "photos".
var loaderFormats = []struct{ prefix, format string }{
	{"VipsForeignLoadJpeg", "jpeg"},
	{"VipsForeignLoadPng", "png"},
	{"VipsForeignLoadNsgif", "gif"},
	{"VipsForeignLoadGif", "gif"},
	{"VipsForeignLoadWebp", "webp"},
	{"VipsForeignLoadHeif", "heif"},
	{"VipsForeignLoadTiff", "tiff"},
}

type header struct {
	format        string
	width, height int  // as stored, before orientation
	orientation   int  // as libvips will apply it (1 for HEIF: libheif already rotated)
	toSRGB        bool // embedded ICC profile is not sRGB: convert while decoding
	rotate        int  // orientation to apply by hand (an EXIF thumbnail's), 0 for none
}

// source is what libvips reads: a file, or, when buf is set, bytes in
// memory (the EXIF thumbnail of a JPEG whose own image data is gone).
type source struct {
	path string // the file; also names the source in messages
	buf  []byte
}

// withC passes src to C for the length of f. C owns a copy of buf: libvips
// keeps reading a buffer while an image made from it lives.
func (src source) withC(f func(*C.sb_src)) {
	cpath := C.CString(src.path)
	defer C.free(unsafe.Pointer(cpath))
	cs := C.sb_src{path: cpath}
	if src.buf != nil {
		cs.buf = C.CBytes(src.buf)
		cs.len = C.size_t(len(src.buf))
		defer C.free(cs.buf)
	}
	f(&cs)
}

// decodeMu makes a decode exclusive when its messages must be its own.
// libvips has one process-wide error log and warnings come from its worker
// threads, so nothing ties a message to the call that caused it. Healthy
// files decode concurrently (read lock); a file that failed the strict
// decode is decoded again with the write lock held, alone, so every
// warning seen meanwhile is about that file (see exclusive).
var decodeMu sync.RWMutex

// exclusive runs f with no other decode in flight and returns what libvips
// said meanwhile: the error log's lines (libjpeg's first warning lands
// there even when the decode goes on), or else the warnings it logged.
func exclusive(f func()) string {
	decodeMu.Lock()
	defer decodeMu.Unlock()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	C.vips_error_clear()
	C.sb_capture_begin()
	f()
	p := C.sb_capture_end()
	logged := C.GoString(p)
	C.g_free(C.gpointer(p))
	if msg := vipsError(0, ""); msg != "" {
		return msg
	}
	var lines []string
	for _, l := range strings.Split(logged, "\n") {
		// libvips' own recaps say nothing about the file.
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "read gave ") && !strings.HasPrefix(l, "error in tile") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, " | ")
}

// vipsError takes the libvips error log (copied and cleared in one locked
// step) and keeps the part written since mark (see sb_error_mark). Because the
// log is shared, a concurrent call's message can still slip in, or be taken
// by a concurrent failure first, unless the call runs under exclusive.
func vipsError(mark C.size_t, fallback string) string {
	p := C.vips_error_buffer_copy()
	s := C.GoString(p)
	C.g_free(C.gpointer(p))
	if int(mark) <= len(s) {
		s = s[mark:]
	}
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && (len(lines) == 0 || lines[len(lines)-1] != l) {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return fallback
	}
	return strings.Join(lines, " | ")
}

// readHeader identifies the format and dimensions without decoding pixels.
// When the format is known but the header cannot be read, the returned
// header still names the format (so a JPEG can fall back to its EXIF
// thumbnail), and the reason is taken from an exclusive second read.
//
// Each cgo sequence (mark, libvips call, error fetch) is pinned to one OS
// thread. libvips and GLib keep state per thread (buffer caches, GError), and
// the sequence should not depend on where the Go scheduler puts us between
// calls; it is cheap next to a decode.
func readHeader(src source) (h header, err error) {
	src.withC(func(cs *C.sb_src) {
		var loader string
		if loader, err = findLoader(cs); err != nil {
			return
		}
		for _, lf := range loaderFormats {
			if strings.HasPrefix(loader, lf.prefix) {
				h.format = lf.format
				break
			}
		}
		if h.format == "" {
			err = unclaimed(src, cs, loader)
			return
		}
		var ch C.sb_header
		decodeMu.RLock()
		ok := C.sb_read_header(cs, &ch) == 0
		decodeMu.RUnlock()
		if !ok {
			msg := exclusive(func() { ok = C.sb_read_header(cs, &ch) == 0 })
			if !ok {
				err = fmt.Errorf("%w: %s", ErrDecode, cmp.Or(msg, "cannot read header"))
				return
			}
		}
		if ch.icc != nil {
			h.toSRGB = !isSRGBProfile(C.GoBytes(ch.icc, C.int(ch.icc_len)))
			C.g_free(C.gpointer(ch.icc))
		}
		h.width, h.height, h.orientation = int(ch.width), int(ch.height), int(ch.orientation)
		if h.format == "heif" && C.GoString(&ch.compression[0]) == "av1" {
			h.format = "avif"
		}
	})
	return h, err
}

// unclaimed explains a file that none of our loaders claims. libvips picks
// a loader by sniffing, and a TIFF whose header libtiff refuses (zero width
// or height) is not sniffed as TIFF; ImageMagick's loader (blocked) then
// guesses at it, as it guesses at any unknown bytes (a TGA, say). So the
// reason is looked for in the file's own signature, not in the loader's
// name.
func unclaimed(src source, cs *C.sb_src, loader string) error {
	var r io.ReadSeeker
	if src.buf != nil {
		r = bytes.NewReader(src.buf)
	} else {
		f, err := os.Open(src.path)
		if err != nil {
			return fmt.Errorf("media: %w", err)
		}
		defer f.Close()
		r = f
	}
	format, ok, _ := sniffFormat(r)
	switch {
	case ok && format == imagemeta.TIFF:
		if w, h, ok := tiffSize(r); ok && (w == 0 || h == 0) {
			return fmt.Errorf("%w: zero width or height (%dx%d pixels)", ErrDecode, w, h)
		}
		var failed bool
		msg := exclusive(func() { failed = C.sb_try_tiff(cs) != 0 })
		if failed {
			return fmt.Errorf("%w: TIFF: %s", ErrDecode, cmp.Or(msg, "libvips cannot open it"))
		}
		return fmt.Errorf("%w: TIFF that libvips does not recognise as one", ErrDecode)
	case ok:
		return fmt.Errorf("%w: %s signature, but libvips' %s loader does not recognise it", ErrDecode, format, format)
	case strings.HasPrefix(loader, "VipsForeignLoadMagick"):
		return fmt.Errorf("%w: not a photo format (no JPEG, PNG, GIF, WebP, HEIF or TIFF signature)", ErrUnsupported)
	}
	return fmt.Errorf("%w: not a photo format (libvips %s)", ErrUnsupported, loader)
}

// tiffSize reads ImageWidth and ImageLength from a TIFF's first directory.
func tiffSize(r io.ReadSeeker) (w, h int, ok bool) {
	var gotW, gotH bool
	err := decode(r, imagemeta.TIFF, imagemeta.EXIF,
		func(ti imagemeta.TagInfo) bool {
			return ti.Namespace == "IFD0" && (ti.Tag == "ImageWidth" || ti.Tag == "ImageHeight")
		},
		func(ti imagemeta.TagInfo) {
			v, isNum := toFloat(ti.Value)
			if !isNum {
				return
			}
			if ti.Tag == "ImageWidth" && !gotW {
				w, gotW = int(v), true
			} else if ti.Tag == "ImageHeight" && !gotH {
				h, gotH = int(v), true
			}
		})
	return w, h, err == nil && gotW && gotH
}

func findLoader(cs *C.sb_src) (string, error) {
	decodeMu.RLock()
	defer decodeMu.RUnlock()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	mark := C.sb_error_mark()
	var buf [64]C.char
	if C.sb_find_loader(cs, &buf[0], C.size_t(len(buf))) != 0 {
		return "", fmt.Errorf("%w: %s", ErrUnsupported, vipsError(mark, "unknown file format"))
	}
	return C.GoString(&buf[0]), nil
}

type rendered struct {
	preview, thumb, rgba               []byte
	previewW, previewH, thumbW, thumbH int
	rgbaW, rgbaH                       int
}

// benignJPEGWarnings are libjpeg complaints about files every viewer shows
// fine (junk after the last scan, odd SOS fields some phones write).
var benignJPEGWarnings = []string{"extraneous bytes before marker", "Invalid SOS parameters"}

// render runs the decode and every derived encode (see sb_render). damage
// is empty for a sound image, else what the decoder said about it.
//
// The first decode is strict (fail_on=warning for JPEG, where damaged
// entropy data is only a warning; truncated for the rest), so a sound file
// costs one decode and the same as before. A file that fails it is decoded
// again leniently (fail_on=none, libvips' default: what is missing turns
// grey), alone (see exclusive), so the warning recorded is its own. If that
// works the image is shown and marked damaged, unless libjpeg's only
// complaints are harmless ones. Time and memory stay those of decoding a
// sound image of the same size: the header checks in Process came first.
func render(src source, h header, previewBox, thumbBox, hashBox int) (r *rendered, damage string, err error) {
	var failOn C.VipsFailOn = C.VIPS_FAIL_ON_TRUNCATED
	if h.format == "jpeg" {
		failOn = C.VIPS_FAIL_ON_WARNING
	}
	var (
		strictMsg, lenientMsg string
		sound                 bool
	)
	src.withC(func(cs *C.sb_src) {
		decodeMu.RLock()
		r, strictMsg = renderOnce(cs, h, previewBox, thumbBox, hashBox, failOn)
		decodeMu.RUnlock()
		if sound = r != nil; sound {
			return
		}
		damage = exclusive(func() {
			r, lenientMsg = renderOnce(cs, h, previewBox, thumbBox, hashBox, C.VIPS_FAIL_ON_NONE)
		})
	})
	switch {
	case sound:
		return r, "", nil
	case r == nil: // the failure's own message has taken the error log
		return nil, "", fmt.Errorf("%w: %s", ErrDecode, cmp.Or(lenientMsg, damage, strictMsg, "decode failed"))
	case h.format == "jpeg" && damage != "" && onlyBenign(damage):
		return r, "", nil
	}
	// strictMsg is only a fallback: a concurrent failure may have taken it,
	// or left its own in its place.
	return r, cmp.Or(damage, strictMsg, "damaged image data"), nil
}

func onlyBenign(msg string) bool {
	for _, part := range strings.Split(msg, " | ") {
		benign := false
		for _, w := range benignJPEGWarnings {
			benign = benign || strings.Contains(part, w)
		}
		if !benign {
			return false
		}
	}
	return true
}

// renderOnce decodes and encodes once; on failure it takes the libvips
// error log's lines written since it started, and returns them.
func renderOnce(cs *C.sb_src, h header, previewBox, thumbBox, hashBox int, failOn C.VipsFailOn) (*rendered, string) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	mark := C.sb_error_mark()
	var o C.sb_out
	toSRGB := C.int(0)
	if h.toSRGB {
		toSRGB = 1
	}
	if C.sb_render(cs, C.int(previewBox), C.int(thumbBox), C.int(hashBox), C.int(failOn), toSRGB, C.int(h.rotate), &o) != 0 {
		return nil, vipsError(mark, "")
	}
	defer C.sb_out_free(&o)
	return &rendered{
		preview:  C.GoBytes(o.preview, C.int(o.preview_len)),
		previewW: int(o.preview_w), previewH: int(o.preview_h),
		thumb:  C.GoBytes(o.thumb, C.int(o.thumb_len)),
		thumbW: int(o.thumb_w), thumbH: int(o.thumb_h),
		rgba:  C.GoBytes(o.rgba, C.int(o.rgba_len)),
		rgbaW: int(o.rgba_w), rgbaH: int(o.rgba_h),
	}, ""
}

// isSRGBProfile reads an ICC profile's description tag ('desc' text in v2,
// 'mluc' UTF-16 in v4) and reports whether it names sRGB, including the
// 524-byte "c2" sRGB profile Facebook and many web tools embed. Unparseable
// profiles count as not sRGB, so they get the (correct, slower) transform.
func isSRGBProfile(icc []byte) bool {
	be32 := func(b []byte) int { return int(binary.BigEndian.Uint32(b)) }
	if len(icc) < 132 {
		return false
	}
	n := be32(icc[128:])
	for i := 0; i < n && 132+12*i+12 <= len(icc); i++ {
		e := icc[132+12*i:]
		if string(e[:4]) != "desc" {
			continue
		}
		off, size := be32(e[4:]), be32(e[8:])
		if off < 0 || size < 12 || off+size > len(icc) || off+size < off {
			return false
		}
		tag := icc[off : off+size]
		var desc string
		switch string(tag[:4]) {
		case "desc": // uint32 count, then ASCII
			if l := be32(tag[8:]); l > 0 && 12+l <= len(tag) {
				desc = string(tag[12 : 12+l])
			}
		case "mluc": // records of lang, country, length, offset; UTF-16BE
			if len(tag) >= 28 {
				l, o := be32(tag[20:]), be32(tag[24:])
				if o >= 0 && l >= 0 && o+l <= len(tag) {
					u := make([]uint16, l/2)
					for k := range u {
						u[k] = binary.BigEndian.Uint16(tag[o+2*k:])
					}
					desc = string(utf16.Decode(u))
				}
			}
		}
		desc = strings.TrimRight(desc, "\x00 ")
		return strings.Contains(desc, "sRGB") || desc == "c2"
	}
	return false
}

// renderLenient is one lenient decode, concurrent with others; the
// benchmark compares render's two passes with it.
func renderLenient(src source, h header, previewBox, thumbBox, hashBox int) (err error) {
	src.withC(func(cs *C.sb_src) {
		decodeMu.RLock()
		defer decodeMu.RUnlock()
		if r, msg := renderOnce(cs, h, previewBox, thumbBox, hashBox, C.VIPS_FAIL_ON_NONE); r == nil {
			err = errors.New(msg)
		}
	})
	return err
}

// vipsStats reports libvips' tracked memory, allocations and open files; the
// tests use it to prove Process leaks nothing.
func vipsStats() (mem int64, allocs, files int) {
	var m C.size_t
	var a, f C.int
	C.sb_stats(&m, &a, &f)
	return int64(m), int(a), int(f)
}
