package media

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A Live Photo's still carries Apple's content identifier in its maker
// note: read as ExifTool reads it (MediaGroupUUID), from real iPhone files.
func TestContentIDOfIPhoneStills(t *testing.T) {
	for _, name := range []string{"iphone15pro_gps.heic", "iphone11pro_gps_orient6.heic"} {
		p := filepath.Join("..", "..", "testdata", "fixtures", "formats", name)
		want, err := exec.Command("exiftool", "-s3", "-Apple:MediaGroupUUID", p).Output()
		if err != nil || len(strings.TrimSpace(string(want))) < 8 {
			t.Fatalf("exiftool %s: %v %q", name, err, want)
		}
		m, err := ReadMeta(p)
		if err != nil {
			t.Fatal(err)
		}
		if m.ContentID != strings.TrimSpace(string(want)) {
			t.Errorf("%s: content id %q, want %q", name, m.ContentID, want)
		}
	}
	m, err := ReadMeta(filepath.Join("..", "..", "testdata", "fixtures", "formats", "sunrise.jpg"))
	if err != nil || m.ContentID != "" {
		t.Errorf("a photo without an Apple maker note: %q %v", m.ContentID, err)
	}
}

// The movie's identifier is its QuickTime metadata.
func TestContentIDOfMovie(t *testing.T) {
	mov := filepath.Join(t.TempDir(), "live.mov")
	out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-t", "1",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
		"-metadata", "com.apple.quicktime.content.identifier=F61FDA97-19FB-4D2E-9173-3B6128AD0FD4", "-movflags", "use_metadata_tags", mov).CombinedOutput()
	if err != nil {
		t.Fatalf("%v %s", err, out)
	}
	_, m, err := ProbeVideo(t.Context(), mov, DefaultVideoTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if m.ContentID != "F61FDA97-19FB-4D2E-9173-3B6128AD0FD4" {
		t.Errorf("content id %q", m.ContentID)
	}
}

// Hostile maker notes: truncated, offsets out of bounds, junk values.
func TestAppleContentIDBounds(t *testing.T) {
	good := []byte("Apple iOS\x00\x00\x01MM\x00\x01\x00\x11\x00\x02\x00\x00\x00\x09\x00\x00\x00\x1cABCD-1234\x00")
	if got := appleContentID(good); got != "ABCD-1234" {
		t.Fatalf("good note: %q", got)
	}
	for name, mn := range map[string][]byte{
		"truncated":  good[:20],
		"offset out": append(append([]byte{}, good[:22]...), 0xff, 0xff, 0xff, 0x00),
		"huge count": append([]byte("Apple iOS\x00\x00\x01MM"), 0xff, 0xff, 0x00, 0x11),
		"junk value": []byte(strings.Replace(string(good), "ABCD-1234", "<script>", 1)),
		"not apple":  []byte("Nikon\x00" + string(good[6:])),
	} {
		if got := appleContentID(mn); got != "" {
			t.Errorf("%s: %q", name, got)
		}
	}
}

// The HEIF Exif item is found through meta → iinf → iloc in both iPhone
// fixtures, and what it holds is the EXIF block exiftool reads.
func TestHEIFExifItem(t *testing.T) {
	for _, name := range []string{"iphone15pro_gps.heic", "iphone11pro_gps_orient6.heic"} {
		p := filepath.Join("..", "..", "testdata", "fixtures", "formats", name)
		want, err := exec.Command("exiftool", "-s3", "-IFD0:Model", p).Output()
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		block := heifExif(f)
		f.Close()
		if tiffOrder(block) == nil {
			t.Fatalf("%s: no TIFF block: % x", name, block[:min(len(block), 16)])
		}
		if got := rawASCII(block)["Model"]; got != strings.TrimSpace(string(want)) || got == "" {
			t.Errorf("%s: model %q, want %q", name, got, want)
		}
	}
}

// Hostile HEIF: every truncation and byte overwritten inside the meta box
// of a real file reads as nil or a block, never a panic or a huge read.
func TestHEIFExifHostile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "fixtures", "formats", "iphone15pro_gps.heic"))
	if err != nil {
		t.Fatal(err)
	}
	const metaEnd = 44 + 31099 // ftyp, then meta (checked below)
	if string(data[48:52]) != "meta" {
		t.Fatalf("fixture layout changed: % x", data[40:56])
	}
	for cut := 0; cut < metaEnd+64; cut += 13 {
		if b := heifExif(bytes.NewReader(data[:cut])); b != nil {
			t.Fatalf("cut at %d: a block from a file cut inside its meta box", cut)
		}
	}
	mutated := bytes.Clone(data)
	for i := 44; i < metaEnd; i += 3 {
		for _, v := range []byte{0x00, 0xff, 0x01} {
			old := mutated[i]
			mutated[i] = v
			if b := heifExif(bytes.NewReader(mutated)); len(b) > 4<<20 {
				t.Fatalf("byte %d = %#x: %d bytes", i, v, len(b))
			}
			mutated[i] = old
		}
	}
	for name, b := range map[string][]byte{
		"empty":        {},
		"size 0 meta":  []byte("\x00\x00\x00\x00meta"),
		"size 1 short": []byte("\x00\x00\x00\x01meta\x00"),
		"huge meta":    []byte("\x00\x00\x00\x01meta\x7f\xff\xff\xff\xff\xff\xff\xff"),
		"meta loop":    []byte("\x00\x00\x00\x08meta"),
		"empty iinf":   []byte("\x00\x00\x00\x14meta\x00\x00\x00\x00\x00\x00\x00\x08iinf"),
	} {
		if got := heifExif(bytes.NewReader(b)); got != nil {
			t.Errorf("%s: % x", name, got)
		}
	}
}
