package media

import (
	"encoding/binary"
	"io"
)

// heifExif returns the EXIF payload of a HEIF/AVIF file: the item of type
// "Exif" that the meta box lists (iinf) and places (iloc), less the
// 4-byte offset to its TIFF header that starts the payload (ISO/IEC
// 23008-12 A.2.1). imagemeta reads HEIF EXIF too, but hands Apple's maker
// note over with its binary stripped, and Live Photos need it whole.
// Every read is bounded; anything malformed, or an item stored in the
// meta box itself (idat) rather than in the file, gives nil.
func heifExif(r io.ReadSeeker) []byte {
	meta := topLevelBox(r, "meta", 1<<20)
	if len(meta) < 4 {
		return nil
	}
	var iinf, iloc []byte
	eachBox(meta[4:], func(typ string, body []byte) { // meta is a full box
		switch typ {
		case "iinf":
			iinf = body
		case "iloc":
			iloc = body
		}
	})
	id, ok := exifItemID(iinf)
	if !ok {
		return nil
	}
	extents, ok := itemExtents(iloc, id)
	if !ok || len(extents) == 0 {
		return nil
	}
	var payload []byte
	for _, e := range extents {
		if e.length == 0 || e.length > 4<<20 || uint64(len(payload))+e.length > 4<<20 || e.offset > 1<<62 {
			return nil
		}
		if _, err := r.Seek(int64(e.offset), io.SeekStart); err != nil {
			return nil
		}
		b := readUpTo(r, int64(e.length))
		if uint64(len(b)) != e.length {
			return nil
		}
		payload = append(payload, b...)
	}
	if len(payload) < 4 {
		return nil
	}
	skip := uint64(binary.BigEndian.Uint32(payload)) + 4
	if skip > uint64(len(payload)) {
		return nil
	}
	return payload[skip:]
}

// topLevelBox returns the body of the first top-level box of type want
// among the first few, if it is no larger than limit.
func topLevelBox(r io.ReadSeeker, want string, limit uint64) []byte {
	var pos uint64
	for range 32 {
		if _, err := r.Seek(int64(pos), io.SeekStart); err != nil {
			return nil
		}
		var hdr [16]byte
		if _, err := io.ReadFull(r, hdr[:8]); err != nil {
			return nil
		}
		size, head := uint64(binary.BigEndian.Uint32(hdr[:])), uint64(8)
		if size == 1 {
			if _, err := io.ReadFull(r, hdr[8:16]); err != nil {
				return nil
			}
			size, head = binary.BigEndian.Uint64(hdr[8:]), 16
		}
		if size < head || size > 1<<62 { // 0 (to the end of the file) is never meta
			return nil
		}
		if string(hdr[4:8]) == want {
			if size-head > limit {
				return nil
			}
			b := readUpTo(r, int64(size-head))
			if uint64(len(b)) != size-head {
				return nil
			}
			return b
		}
		pos += size
	}
	return nil
}

// eachBox calls fn with the type and body of every box laid end to end in
// b, stopping at the first that does not fit.
func eachBox(b []byte, fn func(typ string, body []byte)) {
	for len(b) >= 8 {
		size, head := uint64(binary.BigEndian.Uint32(b)), uint64(8)
		if size == 1 {
			if len(b) < 16 {
				return
			}
			size, head = binary.BigEndian.Uint64(b[8:]), 16
		} else if size == 0 {
			size = uint64(len(b))
		}
		if size < head || size > uint64(len(b)) {
			return
		}
		fn(string(b[4:8]), b[head:size])
		b = b[size:]
	}
}

// exifItemID finds the item of type "Exif" in an iinf box body.
func exifItemID(iinf []byte) (uint32, bool) {
	if len(iinf) < 6 {
		return 0, false
	}
	entries := iinf[6:] // version/flags, 16-bit count
	if iinf[0] != 0 {
		if len(iinf) < 8 {
			return 0, false
		}
		entries = iinf[8:]
	}
	var id uint32
	found := false
	eachBox(entries, func(typ string, b []byte) {
		if found || typ != "infe" || len(b) < 4 {
			return
		}
		var itemType []byte
		switch b[0] { // version
		case 2:
			if len(b) >= 12 {
				id, itemType = uint32(binary.BigEndian.Uint16(b[4:])), b[8:12]
			}
		case 3:
			if len(b) >= 14 {
				id, itemType = binary.BigEndian.Uint32(b[4:]), b[10:14]
			}
		}
		found = string(itemType) == "Exif"
	})
	return id, found
}

type extent struct{ offset, length uint64 }

// itemExtents reads where item id lies in the file from an iloc box body.
// Items built another way than from file offsets give false.
func itemExtents(iloc []byte, id uint32) ([]extent, bool) {
	c := cursor{b: iloc, ok: true}
	version := c.uint(1)
	c.uint(3) // flags
	sizes := c.uint(2)
	offSize, lenSize, baseSize, idxSize := sizes>>12, sizes>>8&15, sizes>>4&15, sizes&15
	if version == 0 {
		idxSize = 0
	}
	count := c.uint(2)
	if version == 2 {
		count = c.uint(4)
	}
	for i := uint64(0); i < count && c.ok && i < 1<<16; i++ {
		itemID := c.uint(2)
		if version == 2 {
			itemID = c.uint(4)
		}
		method := uint64(0)
		if version == 1 || version == 2 {
			method = c.uint(2) & 15
		}
		c.uint(2) // data reference index
		base := c.uint(int(baseSize))
		n := c.uint(2)
		var out []extent
		for j := uint64(0); j < n && c.ok; j++ {
			c.uint(int(idxSize))
			off, length := c.uint(int(offSize)), c.uint(int(lenSize))
			out = append(out, extent{base + off, length})
		}
		if c.ok && itemID == uint64(id) {
			return out, method == 0
		}
	}
	return nil, false
}

// cursor reads big-endian integers of 0 to 8 bytes; reading past the end
// clears ok and yields zeros from then on.
type cursor struct {
	b  []byte
	ok bool
}

func (c *cursor) uint(n int) uint64 {
	if !c.ok || n < 0 || n > 8 || n > len(c.b) {
		c.ok = false
		return 0
	}
	var v uint64
	for _, x := range c.b[:n] {
		v = v<<8 | uint64(x)
	}
	c.b = c.b[n:]
	return v
}
