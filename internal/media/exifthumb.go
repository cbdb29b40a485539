package media

import (
	"bytes"
	"os"
	"strings"

	"github.com/bep/imagemeta"
)

// maxEXIFThumbnail: EXIF lives in one JPEG APP1 segment, at most 64 KB.
const maxEXIFThumbnail = 1 << 16

// exifThumbnail returns the JPEG thumbnail a camera stores in its EXIF
// (IFD1; most cameras write one of about 160x120), or nil if the file has
// none that is whole. It reads only the EXIF block and the thumbnail's
// bytes, so it costs nothing like a decode.
func exifThumbnail(path string) []byte {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	off, n := int64(-1), int64(0)
	func() {
		defer func() { _ = recover() }() // hostile EXIF: keep what was read
		imagemeta.Decode(imagemeta.Options{
			R: f, ImageFormat: imagemeta.JPEG, Sources: imagemeta.EXIF,
			ShouldHandleTag: func(ti imagemeta.TagInfo) bool {
				return strings.HasPrefix(ti.Namespace, "IFD1") &&
					(ti.Tag == "ThumbnailOffset" || ti.Tag == "ThumbnailLength")
			},
			HandleTag: func(ti imagemeta.TagInfo) error {
				var v int64 = -1
				switch x := ti.Value.(type) {
				case uint32:
					v = int64(x)
				case uint16:
					v = int64(x)
				}
				if ti.Tag == "ThumbnailOffset" {
					off = v
				} else {
					n = v
				}
				return nil
			},
		})
	}()
	if off <= 0 || n <= 4 || n > maxEXIFThumbnail {
		return nil
	}
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil || !bytes.HasPrefix(b, []byte{0xFF, 0xD8}) {
		return nil
	}
	return b
}
