package media

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// exiftool runs ExifTool (the reference) once over files and returns its
// tags per file, keyed "Group1:Tag" (-G1 -a: every copy, with where it was).
func exiftool(tb testing.TB, numeric bool, files []string, tags ...string) map[string]map[string]any {
	tb.Helper()
	bin, err := exec.LookPath("exiftool")
	if err != nil {
		tb.Fatalf("exiftool not found (Debian package libimage-exiftool-perl; scripts/setup.sh --test installs it): %v", err)
	}
	list := filepath.Join(tb.TempDir(), "files.txt")
	if err := os.WriteFile(list, []byte(strings.Join(files, "\n")+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	args := []string{"-j", "-G1", "-a", "-q", "-q", "-charset", "filename=utf8"}
	if numeric {
		args = append(args, "-n")
	}
	for _, t := range tags {
		args = append(args, "-"+t)
	}
	out, err := exec.Command(bin, append(args, "-@", list)...).Output()
	if err != nil && len(out) == 0 {
		tb.Fatalf("exiftool: %v", err)
	}
	var recs []map[string]any
	if err := json.Unmarshal(out, &recs); err != nil {
		tb.Fatalf("exiftool output: %v", err)
	}
	byFile := map[string]map[string]any{}
	for _, r := range recs {
		src, _ := r["SourceFile"].(string)
		byFile[src] = r
	}
	return byFile
}

// want is what ExifTool says each field should be, from the standard places
// only (EXIF IFD0/ExifIFD/GPS, XMP exif/exifEX/aux/tiff/photoshop/xmp, IPTC),
// in the order of precedence Meta documents. Maker notes are not standard
// places and are ignored.
type want struct {
	make, model, lens, lensMake, exposure string
	fnumber, focal, exposureSec           *float64
	iso                                   *int
	lat, lon                              *float64
	taken                                 string // "2006-01-02T15:04:05.999999999" plus "±hh:mm" when zoned, "" if none
}

func expect(r, printed map[string]any) want {
	str := func(keys ...string) string {
		for _, k := range keys {
			switch v := r[k].(type) {
			case string:
				if s := cleanString(v); s != "" {
					return s
				}
			case float64:
				return strconv.FormatFloat(v, 'f', -1, 64)
			}
		}
		return ""
	}
	num := func(keys ...string) *float64 {
		for _, k := range keys {
			switch v := r[k].(type) {
			case float64:
				return &v
			case string: // a list ("100 100") or "undef"
				if f, err := strconv.ParseFloat(strings.Fields(v + " x")[0], 64); err == nil {
					return &f
				}
			}
		}
		return nil
	}
	var w want
	w.make = str("IFD0:Make", "XMP-tiff:Make")
	w.model = str("IFD0:Model", "XMP-tiff:Model")
	w.lens = str("ExifIFD:LensModel", "XMP-exifEX:LensModel", "XMP-aux:Lens", "IFD0:Lens")
	w.lensMake = str("ExifIFD:LensMake", "XMP-exifEX:LensMake")
	if f := num("ExifIFD:FNumber", "IFD0:FNumber", "XMP-exif:FNumber"); f != nil && *f > 0 {
		w.fnumber = f
	}
	if f := num("ExifIFD:FocalLength", "IFD0:FocalLength", "XMP-exif:FocalLength"); f != nil && *f > 0 {
		w.focal = f
	}
	if f := num("ExifIFD:ExposureTime", "IFD0:ExposureTime", "XMP-exif:ExposureTime"); f != nil && *f > 0 {
		w.exposureSec = f
		for _, k := range []string{"ExifIFD:ExposureTime", "IFD0:ExposureTime", "XMP-exif:ExposureTime"} {
			if s, ok := printed[k].(string); ok {
				w.exposure = s
				break
			} else if f, ok := printed[k].(float64); ok {
				w.exposure = strconv.FormatFloat(f, 'f', -1, 64)
				break
			}
		}
	}
	isoOK := func(f *float64) bool { return f != nil && *f > 0 && *f != 65535 }
	if f := num("ExifIFD:ISO", "IFD0:ISO"); isoOK(f) {
		w.iso = new(int(*f))
	} else if g := num("ExifIFD:StandardOutputSensitivity", "ExifIFD:RecommendedExposureIndex", "ExifIFD:ISOSpeed",
		"XMP-exif:ISO", "XMP-exifEX:PhotographicSensitivity"); isoOK(g) {
		w.iso = new(int(*g))
	} else if f != nil && *f > 0 {
		w.iso = new(int(*f))
	}
	lat, lon := num("Composite:GPSLatitude"), num("Composite:GPSLongitude")
	if r["GPS:GPSLatitude"] == nil || r["GPS:GPSLongitude"] == nil {
		lat, lon = num("XMP-exif:GPSLatitude"), num("XMP-exif:GPSLongitude")
	}
	if lat != nil && lon != nil && (*lat != 0 || *lon != 0) { // 0,0: no fix (Meta's documented rule)
		w.lat, w.lon = lat, lon
	}
	w.taken = expectTaken(r, str)
	return w
}

var exiftoolDate = regexp.MustCompile(`^(\d{4}):(\d\d):(\d\d)(?:[ T](\d\d):(\d\d)(?::(\d\d))?(\.\d+)?)?(Z|[+-]\d\d:\d\d)?$`)

type refStamp struct {
	wall     string // "2006-01-02T15:04:05" + fraction
	second   string
	zone     string
	dateOnly bool
}

func parseRefDate(s string) *refStamp {
	m := exiftoolDate.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return nil
	}
	// ExifTool passes impossible dates through ("16:05:92"); Meta skips them.
	if _, err := time.Parse("2006:01:02", m[1]+":"+m[2]+":"+m[3]); err != nil || m[1] < "1826" {
		return nil
	}
	if m[4] != "" {
		if _, err := time.Parse("15:04", m[4]+":"+m[5]); err != nil || m[6] > "59" {
			return nil
		}
	}
	if m[4] == "" {
		return &refStamp{wall: m[1] + "-" + m[2] + "-" + m[3] + "T00:00:00", dateOnly: true}
	}
	sec := m[6]
	if sec == "" {
		sec = "00"
	}
	st := &refStamp{second: fmt.Sprintf("%s-%s-%sT%s:%s:%s", m[1], m[2], m[3], m[4], m[5], sec)}
	st.wall = st.second + strings.TrimRight(m[7], "0")
	if st.wall == st.second+"." {
		st.wall = st.second
	}
	if m[8] == "Z" {
		st.zone = "+00:00"
	} else {
		st.zone = m[8]
	}
	return st
}

func expectTaken(r map[string]any, str func(...string) string) string {
	exif := func(date, subsec, offset string) *refStamp {
		st := parseRefDate(str("ExifIFD:"+date, "IFD0:"+date))
		if st == nil || st.dateOnly {
			return nil
		}
		if d := str("ExifIFD:" + subsec); d != "" && strings.Trim(d, "0123456789") == "" {
			if frac := strings.TrimRight(d, "0"); frac != "" {
				st.wall = st.second + "." + frac
			}
		}
		if st.zone = str("ExifIFD:" + offset); st.zone == "" {
			st.zone = str("ExifIFD:OffsetTime")
		}
		return st
	}
	var iptc *refStamp
	if d := str("IPTC:DateCreated"); d != "" {
		if t := str("IPTC:TimeCreated"); t != "" {
			d += " " + t
		}
		iptc = parseRefDate(d)
	}
	var stamps []*refStamp
	for _, s := range []*refStamp{
		exif("DateTimeOriginal", "SubSecTimeOriginal", "OffsetTimeOriginal"),
		parseRefDate(str("XMP-exif:DateTimeOriginal")),
		iptc,
		parseRefDate(str("XMP-photoshop:DateCreated")),
		exif("CreateDate", "SubSecTimeDigitized", "OffsetTimeDigitized"),
		parseRefDate(str("XMP-xmp:CreateDate")),
		exif("ModifyDate", "SubSecTime", "OffsetTime"),
	} {
		if s != nil {
			stamps = append(stamps, s)
		}
	}
	var pick *refStamp
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
		return ""
	}
	zone := pick.zone
	for _, s := range stamps {
		if zone == "" && !pick.dateOnly && !s.dateOnly && s.zone != "" && s.second == pick.second {
			zone = s.zone
		}
	}
	return pick.wall + zone
}

// gotTaken formats Meta's date the way expectTaken does.
func gotTaken(m Meta) string {
	if m.TakenAt.IsZero() {
		return ""
	}
	s := strings.TrimRight(strings.TrimRight(m.TakenAt.Format("2006-01-02T15:04:05.000000000"), "0"), ".")
	if m.TakenAtOffset != nil {
		s += m.TakenAt.Format("-07:00")
	}
	return s
}

// corpusFiles lists every image of the fixture set and the sample corpus.
func corpusFiles(tb testing.TB) []string {
	tb.Helper()
	var files []string
	for _, root := range []string{fixtures(tb), filepath.Join(fixtures(tb), "..", "corpus")} {
		err := filepath.WalkDir(root+string(filepath.Separator), func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			switch strings.ToLower(filepath.Ext(p)) {
			case ".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".heic", ".heif", ".avif", ".gif":
				if d.Type().IsRegular() {
					files = append(files, p)
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatalf("walk %s: %v (run scripts/setup.sh)", root, err)
		}
	}
	if len(files) < 100 {
		tb.Fatalf("only %d sample files: run scripts/setup.sh to fetch testdata", len(files))
	}
	sort.Strings(files)
	return files
}

// knownGaps are the sample files where ExifTool reads a value that Meta
// does not, each for a stated reason outside the standard places (or a
// limit of imagemeta's XMP reader). Their disagreements are logged, not
// failed; a file that starts agreeing must be taken off this list.
var knownGaps = map[string]string{
	"jxl/flower/flower.png":                  `EXIF in an ImageMagick "Raw profile type exif" text chunk, not PNG's eXIf`,
	"images/utf8-in-ztxt.png":                `EXIF/XMP in ImageMagick "Raw profile type" text chunks`,
	"500px/cvo9xd_keong_macan_grayscale.png": `EXIF in an ImageMagick "Raw profile type exif" text chunk`,
	"IceCold/contents/screenshot.png":        `EXIF in an ImageMagick "Raw profile type exif" text chunk`,
	"png-bad-metadata.png":                   "a 9 MB XMP packet, over the 64 KiB imagemeta reads",
	"backgrounds/rhythm.jpg":                 "XMP that imagemeta's parser rejects (thousands of DocumentAncestors)",
	"metadata-extractor/withXmp.jpg":         "XMP APP1 segment with a non-standard header, which imagemeta skips",
	"metadata-extractor/issue-590.png":       `XMP GPS written as EXIF rationals ("55/1 54/1 4074/100"), not XMP's "55,54.679N"`,
}

func knownGap(file string) string {
	for suffix, why := range knownGaps {
		if strings.HasSuffix(file, suffix) {
			return why
		}
	}
	return ""
}

// TestAgreesWithExifTool reads every fixture and corpus file and compares
// each field with ExifTool wherever the value is in a standard place.
func TestAgreesWithExifTool(t *testing.T) {
	files := corpusFiles(t)
	ref := exiftool(t, true, files)
	printed := exiftool(t, false, files, "ExposureTime")

	type tally struct{ compared, agreed int }
	fields := []string{"make", "model", "lens", "lens_make", "fnumber", "focal_length", "exposure_time", "exposure", "iso", "gps", "taken_at"}
	counts := map[string]*tally{}
	for _, f := range fields {
		counts[f] = &tally{}
	}
	var bad []string
	gapsSeen := map[string]bool{}
	check := func(file, field string, ok bool, got, exp any) {
		counts[field].compared++
		if ok {
			counts[field].agreed++
			return
		}
		msg := fmt.Sprintf("%s: %s = %v, exiftool %v", file, field, got, exp)
		if why := knownGap(file); why != "" {
			gapsSeen[why] = true
			t.Logf("known gap: %s (%s)", msg, why)
			return
		}
		bad = append(bad, msg)
	}
	close := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
	for _, file := range files {
		r, ok := ref[file]
		if !ok {
			t.Errorf("%s: no exiftool record", file)
			continue
		}
		w := expect(r, printed[file])
		m, _ := ReadMeta(file)
		rel := strings.TrimPrefix(file, filepath.Dir(fixtures(t))+"/")
		for _, c := range []struct {
			field, got, exp string
		}{{"make", m.Make, w.make}, {"model", m.Model, w.model}, {"lens", m.Lens, w.lens},
			{"lens_make", m.LensMake, w.lensMake}, {"exposure", m.ExposureTime, w.exposure}, {"taken_at", gotTaken(m), w.taken}} {
			if c.exp != "" {
				check(rel, c.field, c.got == c.exp, c.got, c.exp)
			}
		}
		for _, c := range []struct {
			field string
			got   float64
			exp   *float64
		}{{"fnumber", m.FNumber, w.fnumber}, {"focal_length", m.FocalLength, w.focal}, {"exposure_time", m.ExposureSeconds, w.exposureSec}} {
			if c.exp != nil {
				check(rel, c.field, close(c.got, *c.exp), c.got, *c.exp)
			}
		}
		if w.iso != nil {
			check(rel, "iso", m.ISO == *w.iso, m.ISO, *w.iso)
		}
		if w.lat != nil {
			ok := m.Lat != nil && m.Lon != nil && math.Abs(*m.Lat-*w.lat) < 1e-7 && math.Abs(*m.Lon-*w.lon) < 1e-7
			check(rel, "gps", ok, fmt.Sprint(fmtPtr(m.Lat), ",", fmtPtr(m.Lon)), fmt.Sprint(*w.lat, ",", *w.lon))
		}
	}
	t.Logf("%d files compared with %s", len(files), "exiftool -j -n")
	for _, f := range fields {
		t.Logf("  %-14s %4d / %4d agree", f, counts[f].agreed, counts[f].compared)
		if counts[f].compared == 0 {
			t.Errorf("%s: no file has it, the comparison proves nothing", f)
		}
	}
	for _, b := range bad {
		t.Error(b)
	}
	for suffix, why := range knownGaps {
		if !gapsSeen[why] {
			t.Errorf("%s is listed as a known gap but agrees now: take it off knownGaps", suffix)
		}
	}
}
