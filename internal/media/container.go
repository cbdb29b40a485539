package media

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"io"

	"github.com/bep/imagemeta"
)

// This file finds the EXIF and XMP blocks in the containers whose layout is
// simple (JPEG APP1, PNG eXIf/iTXt, WebP EXIF, TIFF, the HEIF Exif item) for the cases
// imagemeta does not cover, so they can be handed back to imagemeta:
//   - an EXIF block with an entry of an unknown type, which imagemeta treats
//     as fatal to the whole block (ExifTool skips the entry);
//   - WebP EXIF chunks that start with JPEG's "Exif\0\0" header;
//   - XMP in a PNG iTXt chunk, which imagemeta does not read;
//   - SubSecTime digits, which imagemeta turns into integers ("095", 0.095 s,
//     becomes 95).
// Every read is bounded; damage gives an empty result, never an error.

// exifBlock returns the TIFF-structured EXIF block of the file, or nil.
func exifBlock(r io.ReadSeeker, format imagemeta.ImageFormat) []byte {
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil
	}
	var tiff []byte
	switch format {
	case imagemeta.JPEG:
		tiff = jpegSegment(r, 0xE1, []byte("Exif\x00\x00"))
	case imagemeta.PNG:
		tiff = chunk(r, 8, binary.BigEndian, "eXIf", true, nil)
	case imagemeta.WebP:
		tiff = chunk(r, 12, binary.LittleEndian, "EXIF", false, nil)
	case imagemeta.TIFF:
		tiff = readUpTo(r, 4<<20)
	case imagemeta.HEIF, imagemeta.AVIF:
		tiff = heifExif(r)
	}
	tiff = bytes.TrimPrefix(tiff, []byte("Exif\x00\x00"))
	if tiffOrder(tiff) == nil {
		return nil
	}
	return tiff
}

// pngXMP returns the XMP packet of a PNG's iTXt "XML:com.adobe.xmp" chunk.
func pngXMP(r io.ReadSeeker) []byte {
	const key = "XML:com.adobe.xmp\x00"
	b := chunk(r, 8, binary.BigEndian, "iTXt", true, []byte(key))
	if len(b) < len(key)+2 {
		return nil
	}
	b = b[len(key):]
	compressed := b[0] == 1
	// compression flag, method, language tag\0, translated keyword\0, text
	b = b[2:]
	for range 2 {
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			return nil
		}
		b = b[i+1:]
	}
	if compressed {
		zr, err := zlib.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil
		}
		defer zr.Close()
		return readUpTo(zr, 4<<20)
	}
	return b
}

// asJPEG wraps an XMP packet in the smallest JPEG imagemeta reads XMP from.
func asJPEG(xmp []byte) []byte {
	const ns = "http://ns.adobe.com/xap/1.0/\x00"
	if len(ns)+len(xmp)+2 > 0xFFFF {
		return nil
	}
	var b bytes.Buffer
	b.Write([]byte{0xFF, 0xD8, 0xFF, 0xE1})
	binary.Write(&b, binary.BigEndian, uint16(len(ns)+len(xmp)+2))
	b.WriteString(ns)
	b.Write(xmp)
	b.Write([]byte{0xFF, 0xD9})
	return b.Bytes()
}

func tiffOrder(tiff []byte) binary.ByteOrder {
	if len(tiff) < 8 {
		return nil
	}
	switch string(tiff[:4]) {
	case "II*\x00":
		return binary.LittleEndian
	case "MM\x00*":
		return binary.BigEndian
	}
	return nil
}

// walkIFDs calls fn for every 12-byte entry of IFD0, the EXIF IFD and the
// GPS IFD (the entry is a slice of tiff, so fn may rewrite it).
func walkIFDs(tiff []byte, fn func(entry []byte)) {
	bo := tiffOrder(tiff)
	if bo == nil {
		return
	}
	var walk func(off uint32, depth int)
	walk = func(off uint32, depth int) {
		if depth > 1 || off < 8 || uint64(off)+2 > uint64(len(tiff)) {
			return
		}
		n := int(bo.Uint16(tiff[off:]))
		for i := 0; i < n && i < 1000; i++ {
			e := uint64(off) + 2 + uint64(i)*12
			if e+12 > uint64(len(tiff)) {
				return
			}
			b := tiff[e : e+12]
			fn(b)
			if tag := bo.Uint16(b); (tag == 0x8769 || tag == 0x8825) && bo.Uint32(b[4:]) == 1 {
				walk(bo.Uint32(b[8:]), depth+1)
			}
		}
	}
	walk(bo.Uint32(tiff[4:]), 0)
}

// sanitizeTIFF returns a copy of an EXIF block in which entries of an
// unknown type become empty UNDEFINED ones, which imagemeta skips.
func sanitizeTIFF(tiff []byte) []byte {
	out := bytes.Clone(tiff)
	bo := tiffOrder(out)
	walkIFDs(out, func(e []byte) {
		if typ := bo.Uint16(e[2:]); typ == 0 || typ > 13 {
			bo.PutUint16(e[2:], 7)
			bo.PutUint32(e[4:], 0)
		}
	})
	return out
}

// rawASCII reads the SubSecTime* strings of an EXIF block as written, and
// Make and Model up to their first NUL (imagemeta drops the NUL and keeps
// what follows: "Nokia\x002" becomes "Nokia2").
func rawASCII(tiff []byte) map[string]string {
	bo := tiffOrder(tiff)
	names := map[uint16]string{0x010F: "Make", 0x0110: "Model",
		0x9290: "SubSecTime", 0x9291: "SubSecTimeOriginal", 0x9292: "SubSecTimeDigitized"}
	out := map[string]string{}
	walkIFDs(tiff, func(e []byte) {
		name, ok := names[bo.Uint16(e)]
		count := bo.Uint32(e[4:])
		if _, seen := out[name]; !ok || seen || bo.Uint16(e[2:]) != 2 || count == 0 || count > 256 {
			return
		}
		b := e[8 : 8+min(count, 4)]
		if count > 4 {
			o := bo.Uint32(e[8:])
			if uint64(o)+uint64(count) > uint64(len(tiff)) {
				return
			}
			b = tiff[o : o+count]
		}
		b, _, _ = bytes.Cut(b, []byte{0})
		if s := cleanString(string(b)); s != "" {
			out[name] = s
		}
	})
	return out
}

// jpegSegment returns the first segment of the marker whose data starts
// with prefix (before the image data).
func jpegSegment(r io.Reader, want byte, prefix []byte) []byte {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:2]); err != nil {
		return nil
	}
	for range 64 {
		if _, err := io.ReadFull(r, hdr[:]); err != nil || hdr[0] != 0xFF {
			return nil
		}
		marker, n := hdr[1], int(binary.BigEndian.Uint16(hdr[2:]))-2
		if marker == 0xDA || marker == 0xD9 || n < 0 {
			return nil
		}
		seg := make([]byte, n)
		if _, err := io.ReadFull(r, seg); err != nil {
			return nil
		}
		if marker == want && bytes.HasPrefix(seg, prefix) {
			return seg
		}
	}
	return nil
}

// chunk walks PNG chunks (length first, big-endian, CRC after) or RIFF
// chunks (type first, little-endian, padded to even) from start and returns
// the data of the first chunk named want whose data starts with prefix.
func chunk(r io.ReadSeeker, start int64, bo binary.ByteOrder, want string, png bool, prefix []byte) []byte {
	if _, err := r.Seek(start, io.SeekStart); err != nil {
		return nil
	}
	var hdr [8]byte
	for range 4096 {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return nil
		}
		typ, size := string(hdr[4:]), bo.Uint32(hdr[:4])
		if !png {
			typ, size = string(hdr[:4]), bo.Uint32(hdr[4:])
		}
		skip := int64(size)
		if typ == want && size <= 16<<20 {
			b := readUpTo(r, int64(size))
			if bytes.HasPrefix(b, prefix) {
				return b
			}
			skip -= int64(len(b))
		}
		if png {
			skip += 4 // CRC
		} else {
			skip += int64(size & 1)
		}
		if _, err := r.Seek(skip, io.SeekCurrent); err != nil {
			return nil
		}
	}
	return nil
}

func readUpTo(r io.Reader, n int64) []byte {
	b, _ := io.ReadAll(io.LimitReader(r, n))
	return b
}
