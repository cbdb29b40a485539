package web

import "testing"

// Sizes under 1 kB are counted in bytes (a 512-byte file is not "0 kB"),
// and a figure never rounds up to 1024 of a unit.
func TestFormatBytes(t *testing.T) {
	for _, c := range []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{1, "1 B"},
		{512, "512 B"},
		{1023, "1023 B"},
		{1024, "1 kB"},
		{1536, "2 kB"},
		{150 << 10, "150 kB"},
		{1023<<10 + 511, "1023 kB"},
		{1023<<10 + 512, "1.0 MB"},
		{1 << 20, "1.0 MB"},
		{3 << 19, "1.5 MB"},
		{1<<30 - 1, "1.0 GB"},
		{5 << 30, "5.0 GB"},
	} {
		if got := FormatBytes(c.n); got != c.want {
			t.Errorf("FormatBytes(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}
