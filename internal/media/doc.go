// Package media turns one photo file into everything Shoebox shows for it:
// upright dimensions, a JPEG preview, a WebP thumbnail, a ThumbHash placeholder
// and the EXIF facts (date, camera, exposure, GPS).
//
// Pixels go through libvips via a deliberately small cgo binding (vips.go)
// rather than govips: we need only a handful of calls, want exact control over
// shrink-on-load, fail_on, caching and threading, and want every allocation's
// owner visible in one file so memory stays bounded across a library import of
// hundreds of thousands of photos. EXIF is read in pure Go (bep/imagemeta) so
// that hostile metadata can never crash the process from C, and so metadata can
// be read without touching pixels (ReadMeta).
//
// Process decodes each file once, already shrunk to the preview size, and
// derives the thumbnail and ThumbHash from that decoded preview; this is what
// keeps indexing fast on large camera files. (The one exception: a file that
// fails the strict decode is decoded again, leniently and alone, and becomes
// a photo marked damaged with the decoder's warning; see render.)
package media
