package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"shoebox/internal/web"
)

// progress shows how `model get` goes: on a terminal, one bar redrawn in
// place (at most ten times a second); elsewhere (a log, a pipe), one plain
// line per file, since carriage returns would only clutter a log.
type progress struct {
	w     io.Writer
	tty   bool
	width int

	mu           sync.Mutex
	files, index int
	total, got   int64
	file         string
	start, drawn time.Time
}

func newProgress(f *os.File) *progress {
	p := &progress{w: f, width: 80}
	if term.IsTerminal(int(f.Fd())) {
		p.tty = true
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 20 {
			p.width = w
		}
	}
	return p
}

func (p *progress) Begin(files int, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.files, p.total, p.start = files, total, time.Now()
	fmt.Fprintf(p.w, "%d files, %s\n", files, web.FormatBytes(total))
}

func (p *progress) File(path string, size, from int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.index++
	p.file = path
	if p.tty {
		p.draw(true)
		return
	}
	switch {
	case from >= size:
		fmt.Fprintf(p.w, "[%d/%d] %s (%s) already here\n", p.index, p.files, path, web.FormatBytes(size))
	case from > 0:
		fmt.Fprintf(p.w, "[%d/%d] %s (%s) resuming at %s\n", p.index, p.files, path, web.FormatBytes(size), web.FormatBytes(from))
	default:
		fmt.Fprintf(p.w, "[%d/%d] %s (%s)\n", p.index, p.files, path, web.FormatBytes(size))
	}
}

func (p *progress) Add(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.got += n
	if p.tty {
		p.draw(false)
	}
}

func (p *progress) End() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		p.draw(true)
		fmt.Fprintln(p.w)
	}
}

// draw rewrites the bar line: [=====>    ]  45%  160.2 MB of 351.4 MB  12.3 MB/s  file
func (p *progress) draw(force bool) {
	now := time.Now()
	if !force && now.Sub(p.drawn) < 100*time.Millisecond {
		return
	}
	p.drawn = now
	frac := 1.0
	if p.total > 0 {
		frac = min(max(float64(p.got)/float64(p.total), 0), 1)
	}
	const barWidth = 24
	fill := int(frac * barWidth)
	bar := strings.Repeat("=", fill)
	if fill < barWidth {
		bar += ">" + strings.Repeat(" ", barWidth-fill-1)
	}
	rate := ""
	if secs := now.Sub(p.start).Seconds(); secs > 0.5 {
		rate = web.FormatBytes(int64(float64(p.got)/secs)) + "/s"
	}
	line := fmt.Sprintf("[%s] %3.0f%%  %s of %s  %s  %s", bar, frac*100, web.FormatBytes(p.got), web.FormatBytes(p.total), rate, p.file)
	if r := []rune(line); len(r) > p.width-1 {
		line = string(r[:p.width-1])
	}
	fmt.Fprintf(p.w, "\r%-*s", p.width-1, line)
}
