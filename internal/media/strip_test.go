package media

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A stripped JPEG or PNG keeps its picture (decodes to the same size) but
// no camera, date or GPS; formats it cannot strip are refused before a
// byte is written.
func TestStripMetadata(t *testing.T) {
	if err := Init(); err != nil {
		t.Fatal(err)
	}
	dir := fixtures(t)
	for _, name := range []string{"gps/nikon_d2h_gps.jpg", "gps/iphone4s_gps_orient6.jpg", "exif/canon_5d3_3840x2560.jpg", "formats/sunrise_exif_gps.png"} {
		src := filepath.Join(dir, name)
		before, err := ReadMeta(src)
		if err != nil || (before.Lat == nil && before.Make == "" && before.TakenAt.IsZero()) {
			t.Fatalf("%s: fixture has no metadata to strip (%v): the test would be blind", name, err)
		}
		in, err := os.Open(src)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		err = StripMetadata(&out, in)
		in.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		dst := filepath.Join(t.TempDir(), filepath.Base(name))
		if err := os.WriteFile(dst, out.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		after, _ := ReadMeta(dst)
		if after.Orientation != before.Orientation {
			t.Errorf("%s: orientation %d became %d: the download would show sideways", name, before.Orientation, after.Orientation)
		}
		if after.Lat != nil || after.Lon != nil || after.Make != "" || after.Model != "" || !after.TakenAt.IsZero() || after.Lens != "" {
			t.Errorf("%s: metadata left after stripping: %+v", name, after)
		}
		for _, secret := range []string{before.Make, before.Model} {
			if secret != "" && bytes.Contains(out.Bytes(), []byte(secret)) {
				t.Errorf("%s: %q still in the bytes", name, secret)
			}
		}
		a, err := Process(context.Background(), src, Options{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := Process(context.Background(), dst, Options{})
		if err != nil {
			t.Fatalf("%s: stripped file does not decode: %v", name, err)
		}
		if a.Damage != "" || b.Damage != "" || (a.Width != b.Width && a.Width != b.Height) {
			t.Errorf("%s: picture changed: %dx%d (%q) → %dx%d (%q)", name, a.Width, a.Height, a.Damage, b.Width, b.Height, b.Damage)
		}
		if out.Len() >= mustSize(t, src) {
			t.Errorf("%s: stripped %d bytes, not smaller than %d", name, out.Len(), mustSize(t, src))
		}
	}
	heic, _ := os.Open(filepath.Join(dir, "formats/iphone15pro_gps.heic"))
	defer heic.Close()
	var out bytes.Buffer
	if err := StripMetadata(&out, heic); !errors.Is(err, ErrCannotStrip) || out.Len() != 0 {
		t.Fatalf("HEIC: %v, %d bytes written; want ErrCannotStrip and nothing", err, out.Len())
	}
}

func mustSize(t *testing.T, p string) int {
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return int(fi.Size())
}
