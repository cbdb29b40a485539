package media

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/bep/imagemeta"
)

// Meta is what Shoebox keeps from a photo's EXIF.
type Meta struct {
	TakenAt time.Time // zero if unknown
	// TakenAtOffset is minutes east of UTC from EXIF OffsetTimeOriginal (or
	// OffsetTime), nil when absent. When set, TakenAt carries that fixed zone
	// and so is the true instant; when nil, TakenAt is the camera's wall clock
	// labelled UTC, since EXIF alone cannot say which zone it was in.
	TakenAtOffset *int

	Make, Model, Lens    string
	ExposureTime         string  // like "1/125" or "2.5" (seconds)
	FNumber, FocalLength float64 // 0 if unknown
	ISO                  int

	Lat, Lon, Alt *float64 // signed decimal degrees (S/W negative); metres, negative below sea level
	Orientation   int      // EXIF orientation 1..8, 1 if absent or invalid
}

// wantedTags is every EXIF tag Meta is built from; the reader skips the rest
// (maker notes, thumbnails) without decoding their values.
var wantedTags = map[string]bool{
	"Make": true, "Model": true, "LensModel": true, "Lens": true,
	"ExposureTime": true, "FNumber": true, "FocalLength": true, "ISO": true, "Orientation": true,
	"DateTimeOriginal": true, "CreateDate": true, "ModifyDate": true,
	"OffsetTimeOriginal": true, "OffsetTimeDigitized": true, "OffsetTime": true,
	"SubSecTimeOriginal": true, "SubSecTimeDigitized": true, "SubSecTime": true,
	"GPSLatitude": true, "GPSLatitudeRef": true, "GPSLongitude": true, "GPSLongitudeRef": true,
	"GPSAltitude": true, "GPSAltitudeRef": true,
}

// ReadMeta reads EXIF only; pixels are never touched. Damaged metadata
// returns whatever could be read before the damage together with the error;
// a format without EXIF support (GIF) returns an empty Meta and no error.
func ReadMeta(path string) (Meta, error) {
	f, err := os.Open(path)
	if err != nil {
		return Meta{Orientation: 1}, fmt.Errorf("media: %w", err)
	}
	defer f.Close()
	m, err := readMeta(f)
	if err != nil {
		err = fmt.Errorf("media: %s: exif: %w", path, err)
	}
	return m, err
}

func readMeta(r io.ReadSeeker) (m Meta, err error) {
	tags := map[string]any{}
	// Build Meta from whatever was collected, even if the reader failed or
	// panicked halfway through a hostile file.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("reader panic: %v", p)
		}
		m = metaFromTags(tags)
	}()

	format, ok, err := sniffFormat(r)
	if err != nil || !ok {
		return m, err
	}
	_, err = imagemeta.Decode(imagemeta.Options{
		R:           r,
		ImageFormat: format,
		Sources:     imagemeta.EXIF,
		ShouldHandleTag: func(ti imagemeta.TagInfo) bool {
			return wantedTags[ti.Tag] && strings.HasPrefix(ti.Namespace, "IFD0")
		},
		HandleTag: func(ti imagemeta.TagInfo) error {
			// The interoperability IFD reuses GPS tag numbers (InteropIndex
			// "R98" shows up as GPSLatitudeRef): take GPS only from the GPS IFD.
			if strings.HasPrefix(ti.Tag, "GPS") != strings.HasSuffix(ti.Namespace, "GPSInfoIFD") {
				return nil
			}
			// Damaged files can repeat a tag with garbage first; keep the
			// first date that parses, and the first value of anything else.
			if strings.HasSuffix(ti.Tag, "Date") || strings.HasPrefix(ti.Tag, "DateTime") {
				if s, _ := ti.Value.(string); parseExifTime(s).IsZero() {
					return nil
				}
			}
			if _, dup := tags[ti.Tag]; !dup {
				tags[ti.Tag] = ti.Value
			}
			return nil
		},
	})
	return m, err
}

// sniffFormat picks imagemeta's reader from the file's magic bytes, not its
// name. ok is false for formats that carry no EXIF we read (GIF).
func sniffFormat(r io.ReadSeeker) (imagemeta.ImageFormat, bool, error) {
	var b [16]byte
	n, err := io.ReadFull(r, b[:])
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return 0, false, err
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return 0, false, err
	}
	s := b[:n]
	switch {
	case n == 0:
		return 0, false, errors.New("empty file")
	case bytes.HasPrefix(s, []byte{0xFF, 0xD8, 0xFF}):
		return imagemeta.JPEG, true, nil
	case bytes.HasPrefix(s, []byte("\x89PNG\r\n\x1a\n")):
		return imagemeta.PNG, true, nil
	case len(s) >= 12 && string(s[:4]) == "RIFF" && string(s[8:12]) == "WEBP":
		return imagemeta.WebP, true, nil
	case bytes.HasPrefix(s, []byte("II*\x00")), bytes.HasPrefix(s, []byte("MM\x00*")):
		return imagemeta.TIFF, true, nil
	case len(s) >= 12 && string(s[4:8]) == "ftyp":
		if brand := string(s[8:12]); brand == "avif" || brand == "avis" {
			return imagemeta.AVIF, true, nil
		}
		return imagemeta.HEIF, true, nil
	case bytes.HasPrefix(s, []byte("GIF8")):
		return 0, false, nil
	}
	return 0, false, ErrUnsupported
}

func metaFromTags(t map[string]any) Meta {
	m := Meta{Orientation: 1}
	str := func(k string) string { s, _ := t[k].(string); return cleanString(s) }
	num := func(k string) (float64, bool) { return toFloat(t[k]) }

	if o, ok := num("Orientation"); ok && o >= 1 && o <= 8 {
		m.Orientation = int(o)
	}
	m.Make, m.Model = str("Make"), str("Model")
	if m.Lens = str("LensModel"); m.Lens == "" {
		m.Lens = str("Lens")
	}
	if v, ok := num("ExposureTime"); ok && v > 0 {
		m.ExposureTime = formatExposure(v)
	}
	if v, ok := num("FNumber"); ok && v > 0 && v < 1000 {
		m.FNumber = round2(v)
	}
	if v, ok := num("FocalLength"); ok && v > 0 && v < 100_000 {
		m.FocalLength = round2(v)
	}
	if v, ok := num("ISO"); ok && v > 0 && v < 10_000_000 {
		m.ISO = int(v)
	}

	// Prefer when the shutter fired, then when it was digitized, then the
	// file's modification stamp; each with its own offset, falling back to
	// OffsetTime, which some cameras (Pentax) write alone.
	for _, c := range [...]struct{ date, subsec, offset string }{
		{"DateTimeOriginal", "SubSecTimeOriginal", "OffsetTimeOriginal"},
		{"CreateDate", "SubSecTimeDigitized", "OffsetTimeDigitized"},
		{"ModifyDate", "SubSecTime", "OffsetTime"},
	} {
		tm := parseExifTime(str(c.date))
		if tm.IsZero() {
			continue
		}
		tm = tm.Add(parseSubSec(str(c.subsec)))
		off, ok := parseOffset(str(c.offset))
		if !ok {
			off, ok = parseOffset(str("OffsetTime"))
		}
		if ok {
			tm = time.Date(tm.Year(), tm.Month(), tm.Day(), tm.Hour(), tm.Minute(), tm.Second(),
				tm.Nanosecond(), time.FixedZone("", off*60))
			m.TakenAtOffset = &off
		}
		m.TakenAt = tm
		break
	}

	lat, okLat := num("GPSLatitude")
	lon, okLon := num("GPSLongitude")
	// 0,0 is what many phones write when they had no fix.
	if okLat && okLon && math.Abs(lat) <= 90 && math.Abs(lon) <= 180 && (lat != 0 || lon != 0) {
		if strings.EqualFold(str("GPSLatitudeRef"), "S") {
			lat = -math.Abs(lat)
		}
		if strings.EqualFold(str("GPSLongitudeRef"), "W") {
			lon = -math.Abs(lon)
		}
		m.Lat, m.Lon = &lat, &lon
		if alt, ok := num("GPSAltitude"); ok && math.Abs(alt) < 100_000 {
			if ref, _ := toFloat(t["GPSAltitudeRef"]); ref == 1 && alt > 0 {
				alt = -alt
			}
			m.Alt = &alt
		}
	}
	return m
}

// toFloat accepts the numeric shapes imagemeta produces (rationals, ints,
// floats) and plain numeric strings; NaN/Inf (e.g. a x/0 rational) are unknown.
func toFloat(v any) (float64, bool) {
	var f float64
	switch x := v.(type) {
	case imagemeta.Rat[uint32]:
		f = x.Float64()
	case imagemeta.Rat[int32]:
		f = x.Float64()
	case float64:
		f = x
	case float32:
		f = float64(x)
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	case int32:
		f = float64(x)
	case uint8:
		f = float64(x)
	case uint16:
		f = float64(x)
	case uint32:
		f = float64(x)
	case uint64:
		f = float64(x)
	case string:
		var err error
		if f, err = strconv.ParseFloat(strings.TrimSpace(x), 64); err != nil {
			return 0, false
		}
	default:
		return 0, false
	}
	return f, !math.IsNaN(f) && !math.IsInf(f, 0)
}

// formatExposure prints seconds the way cameras and exiftool do: fractions
// for fast shutters, decimals for slow ones.
func formatExposure(sec float64) string {
	if sec <= 0.25001 {
		return "1/" + strconv.Itoa(int(math.Round(1/sec)))
	}
	return strconv.FormatFloat(math.Round(sec*10)/10, 'f', -1, 64)
}

// round2 drops the float noise of phone rationals (1244236/699009 -> 1.78).
func round2(v float64) float64 { return math.Round(v*100) / 100 }

// parseExifTime reads "2006:01:02 15:04:05" (and the dash variant some
// software writes). Placeholders like "0000:00:00 00:00:00" or blanks, and
// years no camera could have written, give the zero time.
func parseExifTime(s string) time.Time {
	s = strings.TrimSpace(strings.Trim(s, "\x00"))
	if len(s) < 19 {
		return time.Time{}
	}
	for _, layout := range [...]string{"2006:01:02 15:04:05", "2006-01-02 15:04:05", "2006:01:02T15:04:05", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s[:19]); err == nil {
			if t.Year() < 1826 || t.Year() > 9999 {
				return time.Time{}
			}
			return t
		}
	}
	return time.Time{}
}

// parseSubSec turns EXIF SubSecTime digits ("16" = 0.16s) into a duration.
func parseSubSec(s string) time.Duration {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 9 || strings.TrimFunc(s, unicode.IsDigit) != "" {
		return 0
	}
	n, _ := strconv.Atoi(s + strings.Repeat("0", 9-len(s)))
	return time.Duration(n)
}

// parseOffset reads EXIF offsets like "+02:00" / "-07:00" into minutes.
func parseOffset(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if len(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' {
		return 0, false
	}
	h, err1 := strconv.Atoi(s[1:3])
	mi, err2 := strconv.Atoi(s[4:6])
	if err1 != nil || err2 != nil || h > 14 || mi > 59 {
		return 0, false
	}
	off := h*60 + mi
	if s[0] == '-' {
		off = -off
	}
	return off, true
}

// cleanString makes EXIF text safe to store and show: valid UTF-8, no NULs or
// control characters, trimmed.
func cleanString(s string) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}
