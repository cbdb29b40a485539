package media

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrCannotStrip says a format's metadata cannot be removed on the fly.
var ErrCannotStrip = errors.New("metadata can only be removed from JPEG and PNG files")

// StripMetadata copies the image in src to dst without its metadata (a
// share link that hides it still lets visitors download the original):
// a JPEG loses its EXIF, XMP and IPTC segments and comments (the camera,
// GPS, dates; the ICC profile stays, it is colour), a PNG its text, EXIF
// and time chunks. The picture's bytes are copied as they are. Other
// formats: ErrCannotStrip, before anything is written.
func StripMetadata(dst io.Writer, src io.Reader) error {
	br := bufio.NewReader(src)
	head, _ := br.Peek(8)
	switch {
	case isJPEG(head):
		return stripJPEG(dst, br)
	case isPNG(head):
		return stripPNG(dst, br)
	}
	return ErrCannotStrip
}

// CanStrip says whether StripMetadata takes a file beginning with head
// (its first 8 bytes).
func CanStrip(head []byte) bool { return isJPEG(head) || isPNG(head) }

func isJPEG(h []byte) bool { return len(h) >= 3 && h[0] == 0xFF && h[1] == 0xD8 && h[2] == 0xFF }
func isPNG(h []byte) bool  { return len(h) >= 8 && string(h[:8]) == "\x89PNG\r\n\x1a\n" }

func stripJPEG(dst io.Writer, r *bufio.Reader) error {
	var soi [2]byte
	if _, err := io.ReadFull(r, soi[:]); err != nil {
		return err
	}
	if _, err := dst.Write(soi[:]); err != nil {
		return err
	}
	for {
		var m [2]byte
		if _, err := io.ReadFull(r, m[:]); err != nil {
			return fmt.Errorf("jpeg: %w", err)
		}
		if m[0] != 0xFF {
			return errors.New("jpeg: marker expected")
		}
		for m[1] == 0xFF { // fill bytes
			b, err := r.ReadByte()
			if err != nil {
				return err
			}
			m[1] = b
		}
		marker := m[1]
		if marker == 0xD9 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01 { // no length
			if _, err := dst.Write([]byte{0xFF, marker}); err != nil {
				return err
			}
			if marker == 0xD9 {
				return nil
			}
			continue
		}
		var l [2]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return fmt.Errorf("jpeg: %w", err)
		}
		n := int(binary.BigEndian.Uint16(l[:]))
		if n < 2 {
			return errors.New("jpeg: bad segment length")
		}
		// APP1 (EXIF, XMP), APP13 (IPTC), APP3–APP12 and APP15 (makers'
		// notes), COM: dropped. APP0 (JFIF), APP2 (ICC), APP14 (Adobe
		// colour transform) and the coding segments stay.
		drop := marker == 0xFE || (marker >= 0xE1 && marker <= 0xEF && marker != 0xE2 && marker != 0xEE)
		if drop {
			seg := make([]byte, n-2)
			if _, err := io.ReadFull(r, seg); err != nil {
				return fmt.Errorf("jpeg: %w", err)
			}
			// The orientation is how the picture is shown, not about who
			// took it: it stays, alone in a minimal EXIF segment.
			if o := exifOrientation(seg); marker == 0xE1 && o > 1 {
				if _, err := dst.Write(orientationSegment(o)); err != nil {
					return err
				}
			}
			continue
		}
		if _, err := dst.Write([]byte{0xFF, marker, l[0], l[1]}); err != nil {
			return err
		}
		if _, err := io.CopyN(dst, r, int64(n-2)); err != nil {
			return fmt.Errorf("jpeg: %w", err)
		}
		if marker == 0xDA { // start of scan: the rest is the picture
			_, err := io.Copy(dst, r)
			return err
		}
	}
}

func stripPNG(dst io.Writer, r *bufio.Reader) error {
	var sig [8]byte
	if _, err := io.ReadFull(r, sig[:]); err != nil {
		return err
	}
	if _, err := dst.Write(sig[:]); err != nil {
		return err
	}
	for {
		var h [8]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return fmt.Errorf("png: %w", err)
		}
		n := int64(binary.BigEndian.Uint32(h[:4]))
		typ := string(h[4:8])
		if n > 1<<31 {
			return errors.New("png: bad chunk length")
		}
		switch typ {
		case "tEXt", "zTXt", "iTXt", "eXIf", "tIME":
			if _, err := r.Discard(int(n) + 4); err != nil { // data and CRC
				return fmt.Errorf("png: %w", err)
			}
			continue
		}
		if _, err := dst.Write(h[:]); err != nil {
			return err
		}
		if _, err := io.CopyN(dst, r, n+4); err != nil {
			return fmt.Errorf("png: %w", err)
		}
		if typ == "IEND" {
			return nil
		}
	}
}

// exifOrientation reads the Orientation (0x0112) of IFD0 from an APP1
// segment's payload ("Exif\0\0" and a TIFF structure); 0 if none.
func exifOrientation(seg []byte) int {
	if len(seg) < 14 || string(seg[:6]) != "Exif\x00\x00" {
		return 0
	}
	t := seg[6:]
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	off := int(bo.Uint32(t[4:8]))
	if off < 8 || off+2 > len(t) {
		return 0
	}
	count := int(bo.Uint16(t[off:]))
	for i := 0; i < count; i++ {
		e := off + 2 + 12*i
		if e+12 > len(t) {
			return 0
		}
		if bo.Uint16(t[e:]) == 0x0112 && bo.Uint16(t[e+2:]) == 3 {
			if o := int(bo.Uint16(t[e+8:])); o >= 1 && o <= 8 {
				return o
			}
		}
	}
	return 0
}

// orientationSegment is an APP1 segment holding only an orientation.
func orientationSegment(o int) []byte {
	tiff := []byte{'I', 'I', 42, 0, 8, 0, 0, 0, // header, IFD0 at 8
		1, 0, // one entry
		0x12, 0x01, 3, 0, 1, 0, 0, 0, byte(o), 0, 0, 0, // Orientation, SHORT, 1, value
		0, 0, 0, 0} // no next IFD
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	return append(seg, payload...)
}
