package media

import (
	"bytes"
	"encoding/binary"
	"regexp"
)

// makerNote returns the MakerNote (EXIF tag 0x927C) of an EXIF block, or nil.
func makerNote(tiff []byte) []byte {
	bo := tiffOrder(tiff)
	var note []byte
	walkIFDs(tiff, func(e []byte) {
		count := uint64(bo.Uint32(e[4:]))
		if note != nil || bo.Uint16(e) != 0x927C || bo.Uint16(e[2:]) != 7 || count <= 4 || count > 1<<16 {
			return
		}
		if off := uint64(bo.Uint32(e[8:])); off+count <= uint64(len(tiff)) {
			note = tiff[off : off+count]
		}
	})
	return note
}

// appleContentID reads tag 0x0011 (the content identifier a Live Photo's
// still shares with its movie) from an Apple maker note: "Apple iOS\0",
// a version, "MM", then a big-endian IFD whose offsets count from the
// note's start. Anything out of bounds, or not an identifier, reads as "".
func appleContentID(mn []byte) string {
	const header = 14
	if len(mn) < header+2 || !bytes.HasPrefix(mn, []byte("Apple iOS\x00")) || string(mn[12:14]) != "MM" {
		return ""
	}
	be := binary.BigEndian
	n := int(be.Uint16(mn[header:]))
	for i := 0; i < n; i++ {
		e := header + 2 + 12*i
		if e+12 > len(mn) {
			return ""
		}
		if be.Uint16(mn[e:]) != 0x0011 || be.Uint16(mn[e+2:]) != 2 { // ASCII
			continue
		}
		size := int(be.Uint32(mn[e+4:]))
		var v []byte
		if size <= 4 {
			v = mn[e+8 : e+8+size]
		} else {
			off := int(be.Uint32(mn[e+8:]))
			if off < 0 || size > 256 || off+size > len(mn) {
				return ""
			}
			v = mn[off : off+size]
		}
		return contentID(string(bytes.TrimRight(v, "\x00")))
	}
	return ""
}

// contentIDPattern is what an identifier may look like: Apple writes a
// UUID; anything printable and short is kept, anything else is not one.
var contentIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{8,128}$`)

// contentID returns s if it looks like a content identifier, else "".
func contentID(s string) string {
	if contentIDPattern.MatchString(s) {
		return s
	}
	return ""
}
