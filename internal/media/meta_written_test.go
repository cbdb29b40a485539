package media

import (
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// written copies a real photo without metadata into a temporary folder and
// has ExifTool write the given tags into it (testdata is never modified).
func written(t *testing.T, src string, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("exiftool")
	if err != nil {
		t.Fatalf("exiftool not found (Debian package libimage-exiftool-perl; scripts/setup.sh --test installs it): %v", err)
	}
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	in, err := os.Open(fx(t, src))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	out.Close()
	cmd := exec.Command(bin, append(append([]string{"-q", "-overwrite_original"}, args...), dst)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("exiftool %v: %v\n%s", args, err, b)
	}
	return dst
}

func readWritten(t *testing.T, src string, args ...string) Meta {
	t.Helper()
	m, err := ReadMeta(written(t, src, args...))
	if err != nil {
		t.Fatalf("ReadMeta: %v", err)
	}
	return m
}

const bare = "noexif/branches_600x400.jpg" // a real JPEG with no EXIF, XMP or IPTC

func takenString(m Meta) string {
	if m.TakenAt.IsZero() {
		return ""
	}
	if m.TakenAtOffset == nil {
		return m.TakenAt.Format("2006-01-02T15:04:05.999") + " (zone unknown)"
	}
	return m.TakenAt.Format("2006-01-02T15:04:05.999Z07:00")
}

func TestDateOnlyInXMPWithZone(t *testing.T) {
	m := readWritten(t, bare, "-XMP-exif:DateTimeOriginal=2019:06:01 14:03:11+02:00")
	if got := takenString(m); got != "2019-06-01T14:03:11+02:00" || m.TakenAtSource != "xmp" || *m.TakenAtOffset != 120 {
		t.Errorf("taken %s from %q", got, m.TakenAtSource)
	}
	m = readWritten(t, bare, "-XMP-photoshop:DateCreated=2018:12:24 23:59:30.25-05:00")
	if got := takenString(m); got != "2018-12-24T23:59:30.25-05:00" || m.TakenAtSource != "xmp" {
		t.Errorf("photoshop:DateCreated: taken %s from %q", got, m.TakenAtSource)
	}
	m = readWritten(t, bare, "-XMP-xmp:CreateDate=2017:03:05 06:07:08Z")
	if got := takenString(m); got != "2017-03-05T06:07:08Z" {
		t.Errorf("xmp:CreateDate: taken %s", got)
	}
}

func TestDateOnlyInIPTCWithZone(t *testing.T) {
	m := readWritten(t, bare, "-IPTC:DateCreated=2021:10:20", "-IPTC:TimeCreated=21:01:01+05:30")
	if got := takenString(m); got != "2021-10-20T21:01:01+05:30" || m.TakenAtSource != "iptc" {
		t.Errorf("taken %s from %q", got, m.TakenAtSource)
	}
	// A date without a time is used only when nothing better exists.
	m = readWritten(t, bare, "-IPTC:DateCreated=2021:10:20")
	if got := takenString(m); got != "2021-10-20T00:00:00 (zone unknown)" {
		t.Errorf("date only: taken %s", got)
	}
	m = readWritten(t, bare, "-IPTC:DateCreated=2021:10:20", "-XMP-xmp:CreateDate=2021:10:21 08:00:00")
	if got := takenString(m); got != "2021-10-21T08:00:00 (zone unknown)" {
		t.Errorf("date only vs full: taken %s", got)
	}
}

func TestOffsetTimeOriginal(t *testing.T) {
	m := readWritten(t, bare, "-EXIF:DateTimeOriginal=2019:06:01 14:03:11", "-EXIF:OffsetTimeOriginal=-07:00",
		"-EXIF:SubSecTimeOriginal=095")
	if got := takenString(m); got != "2019-06-01T14:03:11.095-07:00" || m.TakenAtSource != "exif" {
		t.Errorf("with OffsetTimeOriginal: taken %s from %q", got, m.TakenAtSource)
	}
	if want := "2019-06-01T21:03:11.095Z"; m.TakenAt.UTC().Format("2006-01-02T15:04:05.999Z07:00") != want {
		t.Errorf("instant %v, want %s", m.TakenAt.UTC(), want)
	}
	m = readWritten(t, bare, "-EXIF:DateTimeOriginal=2019:06:01 14:03:11")
	if got := takenString(m); got != "2019-06-01T14:03:11 (zone unknown)" || m.TakenAtOffset != nil {
		t.Errorf("without an offset: taken %s", got)
	}
	// The zone written only into XMP for the same moment is taken over.
	m = readWritten(t, bare, "-EXIF:DateTimeOriginal=2019:06:01 14:03:11", "-XMP-photoshop:DateCreated=2019:06:01 14:03:11+09:00")
	if got := takenString(m); got != "2019-06-01T14:03:11+09:00" || m.TakenAtSource != "exif" {
		t.Errorf("zone from XMP: taken %s from %q", got, m.TakenAtSource)
	}
	// ... but not from a different moment.
	m = readWritten(t, bare, "-EXIF:DateTimeOriginal=2019:06:01 14:03:11", "-XMP-photoshop:DateCreated=2019:06:01 18:00:00+09:00")
	if got := takenString(m); got != "2019-06-01T14:03:11 (zone unknown)" {
		t.Errorf("zone from another moment: taken %s", got)
	}
}

func TestISOFromOtherTags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{"-EXIF:RecommendedExposureIndex=3200"}, 3200},
		{[]string{"-EXIF:ISO=65535", "-EXIF:RecommendedExposureIndex=102400"}, 102400},
		{[]string{"-EXIF:StandardOutputSensitivity=800", "-EXIF:ISOSpeed=640"}, 800},
		{[]string{"-XMP-exif:ISO=250"}, 250},
		{[]string{"-EXIF:ISO=200", "-EXIF:RecommendedExposureIndex=3200"}, 200},
	} {
		if m := readWritten(t, bare, c.args...); m.ISO != c.want {
			t.Errorf("%v: ISO %d, want %d", c.args, m.ISO, c.want)
		}
	}
}

func TestRationalsExact(t *testing.T) {
	m := readWritten(t, bare, "-EXIF:FNumber=1.8", "-EXIF:FocalLength=3.99", "-EXIF:ExposureTime=1/250",
		"-EXIF:LensModel=XF35mmF1.4 R", "-EXIF:LensMake=FUJIFILM")
	if m.FNumber != 1.8 || m.FocalLength != 3.99 || m.ExposureTime != "1/250" || math.Abs(m.ExposureSeconds-0.004) > 1e-15 {
		t.Errorf("f/%v %v mm %s (%v s)", m.FNumber, m.FocalLength, m.ExposureTime, m.ExposureSeconds)
	}
	if m.Lens != "XF35mmF1.4 R" || m.LensMake != "FUJIFILM" {
		t.Errorf("lens %q by %q", m.Lens, m.LensMake)
	}
	// XMP only (aux:Lens, exif:FNumber as "18/10").
	m = readWritten(t, bare, "-XMP-exif:FNumber=2.8", "-XMP-exif:FocalLength=23", "-XMP-aux:Lens=23.0 mm f/2.0", "-XMP-tiff:Make=Ricoh")
	if m.FNumber != 2.8 || m.FocalLength != 23 || m.Lens != "23.0 mm f/2.0" || m.Make != "Ricoh" {
		t.Errorf("from XMP: %+v", m)
	}
}
