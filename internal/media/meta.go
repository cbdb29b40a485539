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

// MetaVersion changes whenever ReadMeta reads more or differently. Photos
// saved by an older version are processed again on the next scan, so an
// upgrade corrects what is already in the library without a re-import.
const MetaVersion = 3 // 3: Apple's content identifier (Live Photos)

// Meta is what Shoebox keeps from a photo's EXIF, XMP and IPTC: the values
// as the camera wrote them, rationals not rounded.
type Meta struct {
	// TakenAt is the wall-clock time the photo was taken, as recorded. When
	// the zone is known (TakenAtOffset set) TakenAt is in that fixed zone and
	// so is also the true instant; when it is not, TakenAt is the wall clock
	// labelled UTC, since the file alone cannot say which zone it was in.
	// Zero if no date was found.
	TakenAt time.Time
	// TakenAtOffset is minutes east of UTC, nil when no source gives a zone.
	TakenAtOffset *int
	// TakenAtSource names where the date came from: "exif", "xmp" or
	// "iptc"; empty when there is none.
	TakenAtSource string

	Make, Model    string
	Lens, LensMake string
	// ExposureTime is printed as ExifTool prints it: "1/250", "0.3", "2.5".
	ExposureTime string
	// ExposureSeconds, FNumber and FocalLength (mm) are the stored rational
	// num/den as the nearest float64 (what ExifTool computes too): f/1.8 is
	// 1.8, 3.99 mm is 3.99. 0 if unknown.
	ExposureSeconds, FNumber, FocalLength float64
	ISO                                   int

	Lat, Lon, Alt *float64 // signed decimal degrees (S/W negative); metres, negative below sea level
	Orientation   int      // EXIF orientation 1..8, 1 if absent or invalid
	// ContentID is Apple's content identifier, which a Live Photo's still
	// and movie share (the still's Apple maker note, tag 0x0011, which
	// ExifTool calls MediaGroupUUID; the movie's QuickTime
	// com.apple.quicktime.content.identifier). "" when there is none.
	ContentID string
}

// wantedEXIF is every EXIF tag Meta is built from; the reader skips the rest
// (maker notes, thumbnails) without decoding their values.
var wantedEXIF = map[string]bool{
	"Make": true, "Model": true, "LensModel": true, "LensMake": true, "Lens": true,
	"ExposureTime": true, "FNumber": true, "FocalLength": true, "Orientation": true,
	"ISO": true, "StandardOutputSensitivity": true, "RecommendedExposureIndex": true, "ISOSpeed": true,
	"DateTimeOriginal": true, "CreateDate": true, "ModifyDate": true,
	"OffsetTimeOriginal": true, "OffsetTimeDigitized": true, "OffsetTime": true,
	"SubSecTimeOriginal": true, "SubSecTimeDigitized": true, "SubSecTime": true,
	"GPSLatitude": true, "GPSLatitudeRef": true, "GPSLongitude": true, "GPSLongitudeRef": true,
	"GPSAltitude": true, "GPSAltitudeRef": true,
}

// xmpPrefixes names the XMP namespaces Meta reads, by their usual prefix.
var xmpPrefixes = map[string]string{
	"http://ns.adobe.com/exif/1.0/":      "exif",
	"http://ns.adobe.com/exif/1.0/aux/":  "aux",
	"http://cipa.jp/exif/1.0/":           "exifEX",
	"http://ns.adobe.com/tiff/1.0/":      "tiff",
	"http://ns.adobe.com/photoshop/1.0/": "photoshop",
	"http://ns.adobe.com/xap/1.0/":       "xmp",
}

// wantedXMP is every XMP property Meta is built from ("prefix:Name").
var wantedXMP = map[string]bool{
	"exif:DateTimeOriginal": true, "photoshop:DateCreated": true, "xmp:CreateDate": true,
	"exif:ISOSpeedRatings": true, "exifEX:PhotographicSensitivity": true,
	"aux:Lens": true, "exifEX:LensModel": true, "exifEX:LensMake": true,
	"tiff:Make": true, "tiff:Model": true,
	"exif:FNumber": true, "exif:FocalLength": true, "exif:ExposureTime": true,
	"exif:GPSLatitude": true, "exif:GPSLongitude": true, "exif:GPSAltitude": true, "exif:GPSAltitudeRef": true,
}

// tags is what the reader collected, one map per standard.
type tags struct {
	exif, xmp, iptc map[string]any
	// raw holds EXIF text read straight from the block where imagemeta
	// alters it: SubSecTime* digits as written ("095", which imagemeta
	// turns into 95), Make and Model cut at their NUL.
	raw map[string]string
	// contentID is Apple's Live Photo identifier from the maker note.
	contentID string
}

// ReadMeta reads EXIF, XMP and IPTC; pixels are never touched. Damaged
// metadata returns whatever could be read before the damage together with
// the error; a format without metadata support (GIF) returns an empty Meta
// and no error.
func ReadMeta(path string) (Meta, error) {
	f, err := os.Open(path)
	if err != nil {
		return Meta{Orientation: 1}, fmt.Errorf("media: %w", err)
	}
	defer f.Close()
	m, err := readMeta(f)
	if err != nil {
		err = fmt.Errorf("media: %s: metadata: %w", path, err)
	}
	return m, err
}

func readMeta(r io.ReadSeeker) (m Meta, err error) {
	t := tags{exif: map[string]any{}, xmp: map[string]any{}, iptc: map[string]any{}}
	// Build Meta from whatever was collected, even if a reader failed or
	// panicked halfway through a hostile file.
	defer func() { m = metaFromTags(t) }()

	format, ok, err := sniffFormat(r)
	if err != nil || !ok {
		return m, err
	}
	// EXIF first and on its own: a broken XMP packet must not cost the
	// EXIF that the camera wrote.
	wantEXIF := func(ti imagemeta.TagInfo) bool {
		return wantedEXIF[ti.Tag] && strings.HasPrefix(ti.Namespace, "IFD0")
	}
	keepEXIF := func(ti imagemeta.TagInfo) {
		// The interoperability IFD reuses GPS tag numbers (InteropIndex
		// "R98" shows up as GPSLatitudeRef): take GPS only from the GPS IFD.
		if strings.HasPrefix(ti.Tag, "GPS") != strings.HasSuffix(ti.Namespace, "GPSInfoIFD") {
			return
		}
		// Damaged files can repeat a tag with garbage first; keep the
		// first date that parses, and the first value of anything else.
		if strings.HasSuffix(ti.Tag, "Date") || strings.HasPrefix(ti.Tag, "DateTime") {
			if s, _ := ti.Value.(string); parseExifTime(s).IsZero() {
				return
			}
		}
		if _, dup := t.exif[ti.Tag]; !dup {
			t.exif[ti.Tag] = ti.Value
		}
	}
	exifErr := decode(r, format, imagemeta.EXIF, wantEXIF, keepEXIF)
	if block := exifBlock(r, format); block != nil {
		t.raw = rawASCII(block)
		t.contentID = appleContentID(makerNote(block))
		if exifErr != nil || len(t.exif) == 0 {
			// What imagemeta gave up on (an entry of unknown type, a WebP
			// chunk with a JPEG header), read again from the block itself.
			if err := decode(bytes.NewReader(sanitizeTIFF(block)), imagemeta.TIFF, imagemeta.EXIF, wantEXIF, keepEXIF); err == nil {
				exifErr = nil
			}
		}
	}
	wantOther := func(ti imagemeta.TagInfo) bool {
		switch ti.Source {
		case imagemeta.XMP:
			return wantedXMP[xmpPrefixes[ti.Namespace]+":"+ti.Tag]
		case imagemeta.IPTC:
			return ti.Tag == "DateCreated" || ti.Tag == "TimeCreated"
		}
		return false
	}
	keepOther := func(ti imagemeta.TagInfo) {
		dst, key := t.iptc, ti.Tag
		if ti.Source == imagemeta.XMP {
			dst, key = t.xmp, xmpPrefixes[ti.Namespace]+":"+ti.Tag
		}
		if _, dup := dst[key]; !dup {
			dst[key] = ti.Value
		}
	}
	otherErr := decode(r, format, imagemeta.XMP|imagemeta.IPTC, wantOther, keepOther)
	if format == imagemeta.PNG {
		if xmp := pngXMP(r); xmp != nil {
			if err := decode(bytes.NewReader(asJPEG(xmp)), imagemeta.JPEG, imagemeta.XMP, wantOther, keepOther); err != nil && otherErr == nil {
				otherErr = err
			}
		}
	}
	if exifErr != nil {
		return m, fmt.Errorf("exif: %w", exifErr)
	}
	if otherErr != nil {
		return m, fmt.Errorf("xmp/iptc: %w", otherErr)
	}
	return m, nil
}

// decode runs one imagemeta pass from the start of r, turning a panic in the
// reader into an error.
func decode(r io.ReadSeeker, format imagemeta.ImageFormat, src imagemeta.Source,
	want func(imagemeta.TagInfo) bool, keep func(imagemeta.TagInfo)) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("reader panic: %v", p)
		}
	}()
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err = imagemeta.Decode(imagemeta.Options{
		R: r, ImageFormat: format, Sources: src,
		ShouldHandleTag: want,
		HandleTag:       func(ti imagemeta.TagInfo) error { keep(ti); return nil },
		Warnf:           func(string, ...any) {},
		Timeout:         5 * time.Second,
	})
	return err
}

// sniffFormat picks imagemeta's reader from the file's magic bytes, not its
// name. ok is false for formats that carry no metadata we read (GIF).
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

func metaFromTags(t tags) Meta {
	m := Meta{Orientation: 1}
	estr := func(k string) string { return cleanString(toString(t.exif[k])) }
	xstr := func(k string) string { return cleanString(toString(t.xmp[k])) }
	first := func(ss ...string) string {
		for _, s := range ss {
			if s != "" {
				return s
			}
		}
		return ""
	}

	if o, ok := toFloat(t.exif["Orientation"]); ok && o >= 1 && o <= 8 {
		m.Orientation = int(o)
	}
	m.ContentID = t.contentID
	m.Make = first(t.raw["Make"], estr("Make"), xstr("tiff:Make"))
	m.Model = first(t.raw["Model"], estr("Model"), xstr("tiff:Model"))
	m.Lens = first(estr("LensModel"), xstr("exifEX:LensModel"), xstr("aux:Lens"), estr("Lens"))
	m.LensMake = first(estr("LensMake"), xstr("exifEX:LensMake"))

	if v, ok := firstFloat(t.exif["ExposureTime"], t.xmp["exif:ExposureTime"]); ok && v > 0 && v < 100_000 {
		m.ExposureSeconds, m.ExposureTime = v, formatExposure(v)
	}
	if v, ok := firstFloat(t.exif["FNumber"], t.xmp["exif:FNumber"]); ok && v > 0 && v < 1000 {
		m.FNumber = v
	}
	if v, ok := firstFloat(t.exif["FocalLength"], t.xmp["exif:FocalLength"]); ok && v > 0 && v < 100_000 {
		m.FocalLength = v
	}
	m.ISO = readISO(t)
	readTaken(&m, t)

	lat, okLat := firstFloat(t.exif["GPSLatitude"])
	lon, okLon := firstFloat(t.exif["GPSLongitude"])
	alt, okAlt := firstFloat(t.exif["GPSAltitude"])
	altRef, _ := toFloat(t.exif["GPSAltitudeRef"])
	if okLat && okLon {
		if strings.EqualFold(estr("GPSLatitudeRef"), "S") {
			lat = -math.Abs(lat)
		}
		if strings.EqualFold(estr("GPSLongitudeRef"), "W") {
			lon = -math.Abs(lon)
		}
	} else {
		// XMP writes the hemisphere into the value ("26,34.951N"),
		// which imagemeta turns into a signed number.
		lat, okLat = toFloat(t.xmp["exif:GPSLatitude"])
		lon, okLon = toFloat(t.xmp["exif:GPSLongitude"])
		alt, okAlt = toFloat(t.xmp["exif:GPSAltitude"])
		altRef, _ = toFloat(t.xmp["exif:GPSAltitudeRef"])
	}
	// 0,0 is what many phones write when they had no fix.
	if okLat && okLon && math.Abs(lat) <= 90 && math.Abs(lon) <= 180 && (lat != 0 || lon != 0) {
		m.Lat, m.Lon = &lat, &lon
		if okAlt && math.Abs(alt) < 100_000 {
			if altRef == 1 && alt > 0 {
				alt = -alt
			}
			m.Alt = &alt
		}
	}
	return m
}

// readISO takes ISOSpeedRatings (0x8827, "PhotographicSensitivity" since
// EXIF 2.3) and, where it is absent or saturated at 65535 (the value EXIF
// 2.3 prescribes for "65535 or more"), the sensitivity tags that EXIF 2.3
// added for the real figure, then XMP's copies.
func readISO(t tags) int {
	iso := func(v any) int {
		f, ok := toFloat(firstOf(v))
		if !ok || f <= 0 || f >= 10_000_000 {
			return 0
		}
		return int(f)
	}
	main := iso(t.exif["ISO"])
	if main > 0 && main != 65535 {
		return main
	}
	for _, v := range []any{t.exif["StandardOutputSensitivity"], t.exif["RecommendedExposureIndex"],
		t.exif["ISOSpeed"], t.xmp["exif:ISOSpeedRatings"], t.xmp["exifEX:PhotographicSensitivity"]} {
		if n := iso(v); n > 0 && n != 65535 {
			return n
		}
	}
	return main
}

// stamp is one recorded date: the wall clock as UTC, and its zone if said.
type stamp struct {
	wall     time.Time
	offset   *int
	dateOnly bool
	source   string
}

// readTaken picks when the photo was taken. In order: EXIF
// DateTimeOriginal, XMP exif:DateTimeOriginal, IPTC DateCreated+TimeCreated,
// XMP photoshop:DateCreated (all "when the shutter fired"), then EXIF
// CreateDate (DateTimeDigitized), XMP xmp:CreateDate, and last EXIF
// ModifyDate (DateTime). A date without a time of day is used only when no
// full timestamp exists. EXIF dates take their zone from their own
// OffsetTime* tag, falling back to OffsetTime, which some cameras (Pentax)
// write alone; a date still without a zone takes it from another source
// that records the same wall-clock second with one (Lightroom writes the
// zone into XMP only).
func readTaken(m *Meta, t tags) {
	exifStamp := func(date, subsec, offset string) *stamp {
		tm := parseExifTime(cleanString(toString(t.exif[date])))
		if tm.IsZero() {
			return nil
		}
		digits, ok := t.raw[subsec]
		if !ok {
			digits = cleanString(toString(t.exif[subsec]))
		}
		s := &stamp{wall: tm.Add(parseSubSec(digits)), source: "exif"}
		off, ok := parseOffset(cleanString(toString(t.exif[offset])))
		if !ok {
			off, ok = parseOffset(cleanString(toString(t.exif["OffsetTime"])))
		}
		if ok {
			s.offset = &off
		}
		return s
	}
	isoStamp := func(v any, source string) *stamp {
		wall, off, dateOnly, ok := parseISODate(cleanString(toString(firstOf(v))))
		if !ok {
			return nil
		}
		return &stamp{wall: wall, offset: off, dateOnly: dateOnly, source: source}
	}
	var iptc *stamp
	if d := cleanString(toString(t.iptc["DateCreated"])); d != "" {
		if tm := cleanString(toString(t.iptc["TimeCreated"])); tm != "" {
			d += "T" + tm
		}
		iptc = isoStamp(d, "iptc")
	}
	var stamps []*stamp
	for _, s := range []*stamp{
		exifStamp("DateTimeOriginal", "SubSecTimeOriginal", "OffsetTimeOriginal"),
		isoStamp(t.xmp["exif:DateTimeOriginal"], "xmp"),
		iptc,
		isoStamp(t.xmp["photoshop:DateCreated"], "xmp"),
		exifStamp("CreateDate", "SubSecTimeDigitized", "OffsetTimeDigitized"),
		isoStamp(t.xmp["xmp:CreateDate"], "xmp"),
		exifStamp("ModifyDate", "SubSecTime", "OffsetTime"),
	} {
		if s != nil {
			stamps = append(stamps, s)
		}
	}
	var pick *stamp
	for _, s := range stamps {
		if !s.dateOnly {
			pick = s
			break
		}
	}
	if pick == nil && len(stamps) > 0 {
		pick = stamps[0]
	}
	if pick == nil {
		return
	}
	off := pick.offset
	for _, s := range stamps {
		if off == nil && s.offset != nil && !s.dateOnly && !pick.dateOnly &&
			s.wall.Truncate(time.Second).Equal(pick.wall.Truncate(time.Second)) {
			off = s.offset
		}
	}
	m.TakenAt, m.TakenAtOffset, m.TakenAtSource = pick.wall, off, pick.source
	if off != nil {
		w := pick.wall
		m.TakenAt = time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(),
			time.FixedZone("", *off*60))
	}
}

// toString accepts the text shapes imagemeta produces; numbers are printed
// (imagemeta turns SubSecTime into an int). EXIF text ends at its first NUL,
// as ExifTool reads it ("Nokia\x002" is "Nokia").
func toString(v any) string {
	switch x := v.(type) {
	case string:
		s, _, _ := strings.Cut(x, "\x00")
		return s
	case []string:
		if len(x) > 0 {
			return x[0]
		}
	case nil:
		return ""
	case int, int32, int64, uint8, uint16, uint32, uint64:
		return fmt.Sprint(x)
	}
	return ""
}

// firstOf returns the first element of a list value (a repeated IFD entry,
// an XMP rdf:Seq), or v itself.
func firstOf(v any) any {
	switch x := v.(type) {
	case []string:
		if len(x) > 0 {
			return x[0]
		}
		return nil
	case []uint16:
		if len(x) > 0 {
			return x[0]
		}
		return nil
	case []uint32:
		if len(x) > 0 {
			return x[0]
		}
		return nil
	case []any:
		if len(x) > 0 {
			return x[0]
		}
		return nil
	}
	return v
}

// firstFloat returns the first value that reads as a finite number.
func firstFloat(vs ...any) (float64, bool) {
	for _, v := range vs {
		if f, ok := toFloat(v); ok {
			return f, true
		}
	}
	return 0, false
}

// toFloat accepts the numeric shapes imagemeta produces (rationals, ints,
// floats), plain numeric strings and XMP's rational strings ("18/10");
// NaN/Inf (e.g. an x/0 rational) are unknown.
func toFloat(v any) (float64, bool) {
	var f float64
	switch x := v.(type) {
	case imagemeta.Rat[uint32]:
		if x.Den() == 0 {
			return 0, false
		}
		f = float64(x.Num()) / float64(x.Den())
	case imagemeta.Rat[int32]:
		if x.Den() == 0 {
			return 0, false
		}
		f = float64(x.Num()) / float64(x.Den())
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
		s := strings.TrimSpace(x)
		if num, den, ok := strings.Cut(s, "/"); ok {
			n, err1 := strconv.ParseFloat(num, 64)
			d, err2 := strconv.ParseFloat(den, 64)
			if err1 != nil || err2 != nil || d == 0 {
				return 0, false
			}
			f = n / d
		} else {
			var err error
			if f, err = strconv.ParseFloat(s, 64); err != nil {
				return 0, false
			}
		}
	default:
		return 0, false
	}
	return f, !math.IsNaN(f) && !math.IsInf(f, 0)
}

// formatExposure prints seconds the way cameras and ExifTool do: fractions
// for fast shutters, decimals for slow ones.
func formatExposure(sec float64) string {
	if sec <= 0.25001 {
		return "1/" + strconv.Itoa(int(math.Round(1/sec)))
	}
	return strconv.FormatFloat(math.Round(sec*10)/10, 'f', -1, 64)
}

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

// parseISODate reads the ISO 8601 dates of XMP ("2019-06-01T14:03:11.52+02:00",
// "…Z", without seconds, or a bare "2019-06-01") and IPTC's date and time
// once joined ("2019:06:01T14:03:11+02:00"). wall is the wall clock labelled
// UTC; offset is nil when no zone is written.
func parseISODate(s string) (wall time.Time, offset *int, dateOnly, ok bool) {
	if len(s) < 10 {
		return time.Time{}, nil, false, false
	}
	date, clock := s[:10], strings.TrimLeft(s[10:], "T ")
	if date[4] == ':' && date[7] == ':' { // EXIF style, as some writers put into XMP
		date = date[:4] + "-" + date[5:7] + "-" + date[8:]
	}
	d, err := time.Parse("2006-01-02", date)
	if err != nil || d.Year() < 1826 {
		return time.Time{}, nil, false, false
	}
	if clock == "" {
		return d, nil, true, true
	}
	if strings.HasSuffix(clock, "Z") {
		clock, offset = clock[:len(clock)-1], new(int)
	} else if i := strings.LastIndexAny(clock, "+-"); i > 0 {
		zone := clock[i:]
		if len(zone) == 5 { // IPTC without the colon: +0200
			zone = zone[:3] + ":" + zone[3:]
		}
		off, ok := parseOffset(zone)
		if !ok {
			return time.Time{}, nil, false, false
		}
		clock, offset = clock[:i], &off
	}
	for _, layout := range [...]string{"15:04:05.999999999", "15:04"} {
		if c, err := time.Parse(layout, clock); err == nil {
			since := time.Duration(c.Hour())*time.Hour + time.Duration(c.Minute())*time.Minute +
				time.Duration(c.Second())*time.Second + time.Duration(c.Nanosecond())
			return d.Add(since), offset, false, true
		}
	}
	return time.Time{}, nil, false, false
}

// parseSubSec turns EXIF SubSecTime digits ("16" = 0.16s, "095" = 0.095s)
// into a duration.
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

// cleanString makes metadata text safe to store and show: valid UTF-8, no
// NULs or control characters, trimmed.
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
