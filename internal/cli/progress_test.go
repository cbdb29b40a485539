package cli

import (
	"bytes"
	"strings"
	"testing"
)

// On a terminal the bar is redrawn in place and ends at 100%; elsewhere each
// file is one plain line.
func TestProgressTerminalAndPlain(t *testing.T) {
	var b bytes.Buffer
	p := &progress{w: &b, tty: true, width: 60}
	p.Begin(2, 3<<20)
	p.File("visual/model.onnx", 2<<20, 0)
	p.Add(2 << 20)
	p.File("config.json", 1<<20, 0)
	p.Add(1 << 20)
	p.End()
	out := b.String()
	last := out[strings.LastIndex(out, "\r")+1:]
	if !strings.Contains(out, "\r[") || !strings.Contains(last, "100%") || !strings.Contains(last, "3.0 MB of 3.0 MB") || !strings.HasSuffix(out, "\n") {
		t.Fatalf("terminal progress:\n%q", out)
	}
	for _, seg := range strings.Split(out, "\r") {
		if len([]rune(strings.TrimRight(seg, "\n"))) > 59 {
			t.Errorf("a redraw is wider than the terminal: %q", seg)
		}
	}

	b.Reset()
	p = &progress{w: &b}
	p.Begin(3, 3<<20)
	p.File("a", 1<<20, 0)
	p.File("b", 1<<20, 512<<10)
	p.File("c", 1<<20, 1<<20)
	p.Add(3 << 20)
	p.End()
	want := "3 files, 3.0 MB\n[1/3] a (1.0 MB)\n[2/3] b (1.0 MB) resuming at 512 kB\n[3/3] c (1.0 MB) already here\n"
	if b.String() != want {
		t.Fatalf("plain progress:\n%q\nwant\n%q", b.String(), want)
	}
}
