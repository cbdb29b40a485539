package media

import (
	"bytes"
	"math"
	"testing"
	"time"
)

func near(p *float64, want, tol float64) bool { return p != nil && math.Abs(*p-want) <= tol }

func fmtPtr(p *float64) any {
	if p == nil {
		return "nil"
	}
	return *p
}

// Expected positions are the cameras' own EXIF values (cross-checked against
// the places the photos show or are known from: Stockholm, Beijing, San
// Francisco, Malaga, Florida, Tuscany, Colorado Springs) with hemisphere signs.
func TestGPS(t *testing.T) {
	for _, c := range []struct {
		file     string
		lat, lon float64
		alt      *float64
	}{
		{"gps/iphone4s_gps_orient6.jpg", 59.332547, 18.064942, ptr(29)},              // N, E
		{"gps/nikon_d2h_gps.jpg", 39.915556, 116.390833, nil},                        // N, E; no altitude tag
		{"gps/nikon_p6000_gps.jpg", 43.467448, 11.885127, nil},                       // altitude ref without altitude
		{"gps/samsung_sm-g930p_gps.jpg", 26.582517, -80.200233, ptr(0)},              // W
		{"gps/samsung_sm-n920t_gps.jpg", 26.586667, -80.053611, ptr(0)},              // W; AltitudeRef=1 with 0 m
		{"formats/sunrise.jpg", 36.597442, -4.508460, ptr(5.8)},                      // W (Malaga)
		{"formats/sunrise_exif_gps.png", 36.597442, -4.508460, ptr(5.8)},             // EXIF in PNG eXIf
		{"formats/sunrise_exif_gps.webp", 36.597442, -4.508460, ptr(5.8)},            // EXIF in WebP
		{"formats/sunrise_exif_gps.avif", 36.597442, -4.508460, ptr(5.8)},            // EXIF in AVIF
		{"formats/iphone11pro_gps_orient6.heic", 37.787278, -122.400825, ptr(8.552)}, // HEIC
		{"formats/iphone15pro_gps.heic", 37.936333, -122.365289, ptr(13.209)},
		{"corrupt/huge_tag_exif.jpg", 38.883264, -104.871433, ptr(0)}, // readable before the damage
	} {
		m, err := ReadMeta(fx(t, c.file))
		if err != nil && c.file != "corrupt/huge_tag_exif.jpg" {
			t.Errorf("%s: %v", c.file, err)
		}
		if !near(m.Lat, c.lat, 1e-5) || !near(m.Lon, c.lon, 1e-5) {
			t.Errorf("%s: lat,lon = %v,%v, want %v,%v", c.file, fmtPtr(m.Lat), fmtPtr(m.Lon), c.lat, c.lon)
		}
		if (c.alt == nil) != (m.Alt == nil) || (c.alt != nil && !near(m.Alt, *c.alt, 0.01)) {
			t.Errorf("%s: alt = %v, want %v", c.file, fmtPtr(m.Alt), fmtPtr(c.alt))
		}
	}
	// The Canon has a GPS IFD with only a version tag, and an interop IFD whose
	// "R98" index shares the GPSLatitudeRef tag number: no position.
	for _, f := range []string{"exif/canon_5d3_3840x2560.jpg", "exif/gopro_hero4.jpg", "noexif/branches_600x400.jpg"} {
		if m, _ := ReadMeta(fx(t, f)); m.Lat != nil || m.Lon != nil || m.Alt != nil {
			t.Errorf("%s: unexpected position %v,%v", f, fmtPtr(m.Lat), fmtPtr(m.Lon))
		}
	}
}

func ptr(f float64) *float64 { return &f }

func TestCameraFields(t *testing.T) {
	m, err := ReadMeta(fx(t, "exif/canon_5d3_3840x2560.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	want := Meta{
		TakenAt: time.Date(2017, 12, 2, 8, 18, 50, 0, time.UTC),
		Make:    "Canon", Model: "Canon EOS 5D Mark III", Lens: "EF16-35mm f/4L IS USM",
		ExposureTime: "1/640", ExposureSeconds: 1.0 / 640, FNumber: 4, FocalLength: 16, ISO: 1600, Orientation: 1,
		TakenAtSource: "exif",
	}
	if !m.TakenAt.Equal(want.TakenAt) || m.TakenAt.Location() != time.UTC || m.TakenAtOffset != nil {
		t.Errorf("TakenAt %v offset %v, want %v as UTC wall clock, nil offset", m.TakenAt, m.TakenAtOffset, want.TakenAt)
	}
	m.TakenAt, want.TakenAt = time.Time{}, time.Time{}
	if m != want {
		t.Errorf("got  %+v\nwant %+v", m, want)
	}

	m, _ = ReadMeta(fx(t, "formats/iphone15pro_gps.heic"))
	// Apple stores f/1.78 and 6.765 mm as rationals that are not quite
	// those decimals; ExifTool prints them as 1.779999971 and 6.764999866.
	if m.Make != "Apple" || m.Model != "iPhone 15 Pro" || math.Abs(m.FNumber-1.779999971) > 1e-9 ||
		math.Abs(m.FocalLength-6.764999866) > 1e-9 || m.LensMake != "Apple" ||
		m.ExposureTime != "1/60" || m.ISO != 400 || m.Lens != "iPhone 15 Pro back triple camera 6.765mm f/1.78" {
		t.Errorf("iPhone 15 Pro: %+v", m)
	}
	m, _ = ReadMeta(fx(t, "gps/iphone4s_gps_orient6.jpg"))
	if m.Orientation != 6 || m.ExposureTime != "1/1284" || m.FNumber != 2.4 {
		t.Errorf("iPhone 4S: %+v", m)
	}
}

func TestTakenAt(t *testing.T) {
	for _, c := range []struct {
		file   string
		local  string // wall clock as written
		offset *int
		utc    string // the instant, when the offset is known
	}{
		// OffsetTimeOriginal present.
		{"formats/iphone11pro_gps_orient6.heic", "2019-09-24 11:41:52", iptr(-420), "2019-09-24 18:41:52"},
		// Pentax writes OffsetTime only; its GPS clock (06:38:52 UTC) agrees.
		{"formats/sunrise.jpg", "2017-10-27 08:38:52", iptr(120), "2017-10-27 06:38:52"},
		{"formats/sunrise_exif_gps.webp", "2017-10-27 08:38:52", iptr(120), "2017-10-27 06:38:52"},
		// No offset: wall clock labelled UTC.
		{"gps/nikon_d2h_gps.jpg", "2003-11-23 18:07:37", nil, "2003-11-23 18:07:37"},
		// Only ModifyDate (DateTime) present.
		{"exif/minimal_exif_no_camera_no_date.jpg", "2019-09-29 15:19:54", nil, "2019-09-29 15:19:54"},
		// Garbage first ModifyDate, valid one later.
		{"corrupt/huge_tag_exif.jpg", "2012-07-20 18:53:43", nil, "2012-07-20 18:53:43"},
	} {
		m, _ := ReadMeta(fx(t, c.file))
		const layout = "2006-01-02 15:04:05"
		if got := m.TakenAt.Format(layout); got != c.local {
			t.Errorf("%s: wall clock %s, want %s", c.file, got, c.local)
		}
		if got := m.TakenAt.UTC().Format(layout); got != c.utc {
			t.Errorf("%s: instant %s UTC, want %s", c.file, got, c.utc)
		}
		if (m.TakenAtOffset == nil) != (c.offset == nil) || (c.offset != nil && *m.TakenAtOffset != *c.offset) {
			t.Errorf("%s: offset %v, want %v", c.file, m.TakenAtOffset, c.offset)
		}
	}
	for _, f := range []string{"noexif/noexif_240x320.jpg", "orientation/tiny_0.jpg", "formats/flowers_noexif.png", "formats/test.gif", "formats/sunrise_lossy_noexif.webp"} {
		m, err := ReadMeta(fx(t, f))
		if err != nil || !m.TakenAt.IsZero() || m.Orientation != 1 || m.Make != "" {
			t.Errorf("%s: want empty Meta, got %+v, %v", f, m, err)
		}
	}
}

func iptr(i int) *int { return &i }

func TestHostileEXIF(t *testing.T) {
	for _, f := range []string{"corrupt/huge_tag_exif.jpg", "corrupt/max_uint32_exif.jpg", "corrupt/infinite_loop_exif.jpg",
		"corrupt/empty.jpg", "corrupt/truncated_60k.jpg", "corrupt/bimg_corrupt_truncated.jpg"} {
		start := time.Now()
		m, err := ReadMeta(fx(t, f))
		if time.Since(start) > time.Second {
			t.Errorf("%s: took %v", f, time.Since(start))
		}
		if m.Orientation < 1 || m.Orientation > 8 {
			t.Errorf("%s: orientation %d", f, m.Orientation)
		}
		t.Logf("%s: %v (make %q, date %v)", f, err, m.Make, m.TakenAt)
	}
	m, _ := ReadMeta(fx(t, "corrupt/max_uint32_exif.jpg"))
	if m.Make != "HTC" || m.Model != "ADR6400L" || m.Orientation != 1 { // stored orientation 0 is invalid
		t.Errorf("partial meta lost: %+v", m)
	}

	// Random garbage after a valid JPEG/TIFF start must not panic.
	for i := range 200 {
		b := bytes.Repeat([]byte{byte(i), byte(i * 7), 0xFF, 0x00, byte(i * 13)}, 200)
		for _, head := range [][]byte{{0xFF, 0xD8, 0xFF, 0xE1, 0x10, 0x00, 'E', 'x', 'i', 'f', 0, 0, 'I', 'I', 42, 0}, []byte("II*\x00"), []byte("MM\x00*")} {
			readMeta(bytes.NewReader(append(append([]byte{}, head...), b...)))
		}
	}
}

func TestParsers(t *testing.T) {
	for s, want := range map[string]string{
		"2019:09:24 11:41:52":      "2019-09-24T11:41:52Z",
		"2019-09-24 11:41:52":      "2019-09-24T11:41:52Z",
		"2019:09:24 11:41:52\x00":  "2019-09-24T11:41:52Z",
		"2019:09:24 11:41:52.123":  "2019-09-24T11:41:52Z",
		"0000:00:00 00:00:00":      "",
		"    :  :     :  :  ":      "",
		"":                         "",
		"1601:01:01 00:00:00":      "",
		"2019:13:24 11:41:52":      "",
		"\xff\xfe garbage garbage": "",
	} {
		got := parseExifTime(s)
		if (want == "" && !got.IsZero()) || (want != "" && got.Format(time.RFC3339) != want) {
			t.Errorf("parseExifTime(%q) = %v, want %q", s, got, want)
		}
	}
	for s, want := range map[string]int{"+02:00": 120, "-07:00": -420, "+05:45": 345, "-00:30": -30} {
		if got, ok := parseOffset(s); !ok || got != want {
			t.Errorf("parseOffset(%q) = %d,%v", s, got, ok)
		}
	}
	for _, s := range []string{"", "  :  ", "+2:00", "+15:00", "02:00", "+02:60"} {
		if _, ok := parseOffset(s); ok {
			t.Errorf("parseOffset(%q) accepted", s)
		}
	}
	for sec, want := range map[float64]string{1.0 / 125: "1/125", 1.0 / 3: "0.3", 0.25: "1/4", 2.5: "2.5", 30: "30", 1.0 / 1284: "1/1284"} {
		if got := formatExposure(sec); got != want {
			t.Errorf("formatExposure(%v) = %q, want %q", sec, got, want)
		}
	}
	if d := parseSubSec("16"); d != 160*time.Millisecond {
		t.Errorf("parseSubSec(16) = %v", d)
	}
	if got := cleanString(" Canon\x00\x01 "); got != "Canon" {
		t.Errorf("cleanString = %q", got)
	}
}
