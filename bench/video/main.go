// Command video measures Shoebox's video path against the ffmpeg command
// line doing the same work, in the same run, on the same clips:
//
//	go run ./bench/video                   # about two minutes on 2 cores
//
// It makes its clips first, with ffmpeg's test sources (testsrc2 and a sine
// tone), at -size and -rate for -seconds, one per codec of -codecs (H.264
// and HEVC in MP4, VP9 in WebM, AV1 in Matroska), then measures:
//
//   - poster extraction, per clip: media.ProcessVideo (ffprobe, one frame
//     into the 1440 px box as PNG on a pipe, then libvips makes the preview,
//     the 250 px thumbnail and the ThumbHash) against the command line
//     doing the least of it: ffprobe of the same streams and format, then
//     ffmpeg writing the frame at the same seek to a JPEG of the preview's
//     size. -runs alternating runs of each; the median wall time and the
//     CPU (user+system, the children's included) of each side.
//   - transcode speed, for each codec of -transcode: media.Transcode (what
//     the conversion jobs run) against ffmpeg started with the very same
//     arguments (media.TranscodeArgs), as × real time (seconds of video per
//     second of wall time) and CPU seconds; -rounds rounds whose order
//     alternates, averaged.
//
// Nothing is asserted: it prints a markdown table and writes it to
// bench/out/video.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"shoebox/bench/internal/benchrun"
	"shoebox/internal/media"
)

// clip is one test video to make: its file name and ffmpeg's encoder
// arguments (video and audio).
type clip struct {
	codec, name string
	enc         []string
}

var clips = []clip{
	{"h264", "h264.mp4", []string{"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"}},
	{"hevc", "hevc.mp4", []string{"-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-pix_fmt", "yuv420p", "-tag:v", "hvc1", "-c:a", "aac"}},
	{"vp9", "vp9.webm", []string{"-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1", "-b:v", "4M", "-c:a", "libopus"}},
	{"av1", "av1.mkv", []string{"-c:v", "libsvtav1", "-preset", "12", "-c:a", "libopus"}},
}

// prog prints this program's messages.
const prog = benchrun.Program("bench/video")

func main() {
	seconds := flag.Float64("seconds", 10, "length of each clip")
	size := flag.String("size", "1920x1080", "frame size of each clip")
	rate := flag.Int("rate", 30, "frames per second of each clip")
	codecs := flag.String("codecs", "h264,hevc,vp9", "clips to make and take posters of (h264, hevc, vp9, av1)")
	transcode := flag.String("transcode", "hevc", "of those, the clips to transcode (empty: none)")
	runs := flag.Int("runs", 3, "alternating poster runs of each side, per clip")
	rounds := flag.Int("rounds", 2, "alternating transcode rounds of each side, per clip")
	out := flag.String("out", "", "folder for video.md (default: bench/out of the module)")
	keep := flag.Bool("keep", false, "keep the scratch folder with the clips")
	flag.Parse()
	if *seconds <= 0 || *rate <= 0 || *runs < 1 || *rounds < 1 {
		prog.Fatal(errors.New("bad flags: -seconds > 0, -rate > 0, -runs >= 1, -rounds >= 1"))
	}
	var todo []clip
	for _, c := range strings.Split(*codecs, ",") {
		i := slices.IndexFunc(clips, func(k clip) bool { return k.codec == strings.TrimSpace(c) })
		if i < 0 {
			prog.Fatal(fmt.Errorf("-codecs: %q: not one of h264, hevc, vp9, av1", c))
		}
		todo = append(todo, clips[i])
	}
	var conv []clip
	for _, c := range strings.Split(*transcode, ",") {
		if c = strings.TrimSpace(c); c == "" {
			continue
		}
		i := slices.IndexFunc(todo, func(k clip) bool { return k.codec == c })
		if i < 0 {
			prog.Fatal(fmt.Errorf("-transcode: %q is not among -codecs", c))
		}
		conv = append(conv, todo[i])
	}
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			prog.Fatal(fmt.Errorf("%s is not installed (scripts/setup.sh installs it): %w", tool, err))
		}
	}
	if err := media.Init(); err != nil {
		prog.Fatal(err)
	}
	root := benchrun.ModuleRoot()
	if *out == "" {
		*out = filepath.Join(root, "bench", "out")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tmp, err := os.MkdirTemp("", "shoebox-video-bench-")
	if err != nil {
		prog.Fatal(err)
	}
	b := &bench{tmp: tmp, seconds: *seconds, size: *size, rate: *rate, runs: *runs, rounds: *rounds}
	err = b.run(ctx, todo, conv)
	if *keep {
		prog.Logf("kept %s", tmp)
	} else {
		os.RemoveAll(tmp)
	}
	if err != nil {
		prog.Fatal(err)
	}
	table := b.table()
	fmt.Print(table)
	if err := os.MkdirAll(*out, 0o755); err == nil {
		if err := os.WriteFile(filepath.Join(*out, "video.md"), []byte(table), 0o644); err != nil {
			prog.Logf("writing the table: %v", err)
		}
	}
}

type bench struct {
	tmp           string
	seconds       float64
	size          string
	rate, runs    int
	rounds        int
	rows          [][4]string // figure, Shoebox, reference, ratio
	start         time.Time
	loads         []string
	made, madeCPU time.Duration
}

func (b *bench) add(figure, shoebox, ref, ratio string) {
	b.rows = append(b.rows, [4]string{figure, shoebox, ref, ratio})
}

func (b *bench) run(ctx context.Context, todo, conv []clip) error {
	b.start = time.Now()
	t0, c0 := time.Now(), cpu()
	for _, c := range todo {
		if err := b.make(ctx, c); err != nil {
			return err
		}
	}
	b.made, b.madeCPU = time.Since(t0), cpu()-c0
	prog.Logf("made %d clips (%s, %d fps, %.0f s) in %.1f s", len(todo), b.size, b.rate, b.seconds, b.made.Seconds())
	for _, c := range todo {
		if err := b.poster(ctx, c); err != nil {
			return err
		}
	}
	for _, c := range conv {
		if err := b.transcode(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// make writes clip c into the scratch folder.
func (b *bench) make(ctx context.Context, c clip) error {
	dur := strconv.FormatFloat(b.seconds, 'f', -1, 64)
	args := []string{"-hide_banner", "-nostdin", "-v", "error", "-y",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%s:rate=%d", b.size, b.rate),
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", dur}
	args = append(append(args, c.enc...), filepath.Join(b.tmp, c.name))
	if out, err := exec.CommandContext(ctx, "ffmpeg", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("make %s: %w\n%s", c.name, err, out)
	}
	return nil
}

// poster measures media.ProcessVideo against ffprobe + ffmpeg to a JPEG,
// in alternating runs.
func (b *bench) poster(ctx context.Context, c clip) error {
	path := filepath.Join(b.tmp, c.name)
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	b.load("poster " + c.codec)
	var sbWall, sbCPU, refWall, refCPU []time.Duration
	var res *media.Result
	ref := filepath.Join(b.tmp, "poster.jpg")
	for i := 0; i < b.runs; i++ {
		t0, c0 := time.Now(), cpu()
		r, err := media.ProcessVideo(ctx, path, media.Options{})
		if err != nil {
			return fmt.Errorf("poster %s: %w", c.name, err)
		}
		sbWall, sbCPU = append(sbWall, time.Since(t0)), append(sbCPU, cpu()-c0)
		res = r

		t0, c0 = time.Now(), cpu()
		if err := refPoster(ctx, path, ref, r.Video.Duration); err != nil {
			return fmt.Errorf("poster %s (ffmpeg): %w", c.name, err)
		}
		refWall, refCPU = append(refWall, time.Since(t0)), append(refCPU, cpu()-c0)
	}
	refSize, err := jpegSize(ref)
	if err != nil {
		return err
	}
	sw, rw := median(sbWall), median(refWall)
	prog.Logf("poster %s: shoebox %s, ffmpeg %s", c.codec, ms(sw), ms(rw))
	b.add(fmt.Sprintf("Poster of a %s %s %.0f s clip (%s, %.1f MB): median of %d, wall / CPU",
		c.codec, b.size, b.seconds, filepath.Ext(c.name)[1:], float64(st.Size())/1e6, b.runs),
		fmt.Sprintf("**%s** / %s (probe + %dx%d preview + %dx%d thumbnail + ThumbHash)",
			ms(sw), ms(median(sbCPU)), res.PreviewWidth, res.PreviewHeight, res.ThumbWidth, res.ThumbHeight),
		fmt.Sprintf("%s / %s (ffprobe + ffmpeg, one %s JPEG)", ms(rw), ms(median(refCPU)), refSize),
		ratios(rw, sw, median(refCPU), median(sbCPU)))
	return nil
}

// ratios says how many times the reference's wall and CPU time Shoebox's
// are (above 1: Shoebox is faster). CPU moves less than wall time when
// neighbours load the machine.
func ratios(refWall, sbWall, refCPU, sbCPU time.Duration) string {
	return fmt.Sprintf("wall %.2f×, CPU %.2f×", refWall.Seconds()/sbWall.Seconds(), refCPU.Seconds()/sbCPU.Seconds())
}

// refPoster is the command line's poster: ffprobe of the streams and
// format as JSON, then one frame at Shoebox's seek (10% in, at most 1 s),
// into the same 1440 px box, as a JPEG of quality about 80.
func refPoster(ctx context.Context, path, dst string, duration float64) error {
	if out, err := exec.CommandContext(ctx, "ffprobe", "-hide_banner", "-v", "error", "-print_format", "json",
		"-show_format", "-show_streams", path).Output(); err != nil || len(out) == 0 {
		return fmt.Errorf("ffprobe: %w", err)
	}
	at := strconv.FormatFloat(min(duration/10, 1), 'f', 3, 64)
	out, err := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y",
		"-ss", at, "-i", path, "-frames:v", "1", "-an",
		"-vf", "scale=w='min(iw,1440)':h='min(ih,1440)':force_original_aspect_ratio=decrease",
		"-q:v", "4", dst).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ffmpeg: %w\n%s", err, out)
	}
	return nil
}

// jpegSize asks ffprobe the frame size of the reference poster.
func jpegSize(path string) (string, error) {
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0",
		"-show_entries", "stream=width,height", "-of", "csv=s=x:p=0", path).Output()
	if err != nil {
		return "", fmt.Errorf("ffprobe %s: %w", path, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// transcode measures media.Transcode against ffmpeg run with the same
// arguments on the same clip, in b.rounds rounds whose order alternates
// (Shoebox first, then ffmpeg first), so neither side always runs on the
// warmer or the busier moment; the figures are the rounds' means.
func (b *bench) transcode(ctx context.Context, c clip) error {
	path := filepath.Join(b.tmp, c.name)
	v, _, err := media.ProbeVideo(ctx, path, media.DefaultVideoTimeout)
	if err != nil {
		return err
	}
	b.load("transcode " + c.codec)
	shoebox := func(dst string) error {
		src, err := os.Open(path)
		if err != nil {
			return err
		}
		defer src.Close()
		return media.Transcode(ctx, src, v.Duration, dst, media.TranscodeOptions{})
	}
	ffmpeg := func(dst string) error {
		out, err := exec.CommandContext(ctx, "ffmpeg", media.TranscodeArgs("file:"+path, "file:"+dst, "veryfast")...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ffmpeg: %w\n%s", err, out)
		}
		return nil
	}
	type side struct {
		name      string
		do        func(string) error
		wall, cpu time.Duration
		speeds    []string
		size      int64
	}
	sides := []*side{{name: "shoebox", do: shoebox}, {name: "ffmpeg", do: ffmpeg}}
	for r := 0; r < b.rounds; r++ {
		for i := range sides {
			s := sides[(i+r)%2]
			dst := filepath.Join(b.tmp, s.name+".mp4")
			t0, c0 := time.Now(), cpu()
			if err := s.do(dst); err != nil {
				return fmt.Errorf("transcode %s (%s): %w", c.name, s.name, err)
			}
			w := time.Since(t0)
			s.wall, s.cpu = s.wall+w, s.cpu+cpu()-c0
			s.speeds = append(s.speeds, fmt.Sprintf("%.2f", v.Duration/w.Seconds()))
			st, err := os.Stat(dst)
			if err != nil {
				return err
			}
			s.size = st.Size()
			os.Remove(dst)
			prog.Logf("transcode %s, round %d: %s %.1f s", c.codec, r+1, s.name, w.Seconds())
		}
	}
	n := time.Duration(b.rounds)
	fig := func(s *side) string {
		w, c := s.wall/n, s.cpu/n
		return fmt.Sprintf("%.2f× (rounds: %s); %.1f s, %.1f s CPU (%.1f MB out)",
			v.Duration/w.Seconds(), strings.Join(s.speeds, ", "), w.Seconds(), c.Seconds(), float64(s.size)/1e6)
	}
	sb, ref := sides[0], sides[1]
	b.add(fmt.Sprintf("Transcode a %s %s %.0f s clip to H.264/AAC MP4 (veryfast, CRF 23): × real time; wall, CPU; mean of %d alternating rounds",
		c.codec, b.size, v.Duration, b.rounds),
		"**"+fig(sb)+"**", fig(ref)+"; the same arguments (media.TranscodeArgs)",
		ratios(ref.wall, sb.wall, ref.cpu, sb.cpu))
	return nil
}

// cpu is the user+system time of this process and its reaped children
// (ffmpeg, ffprobe) so far.
func cpu() time.Duration {
	var self, kids syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(self.Utime) + tv(self.Stime) + tv(kids.Utime) + tv(kids.Stime)
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/1e6) }

func (b *bench) load(phase string) { b.loads = append(b.loads, phase+": "+benchrun.LoadAvg()) }

func (b *bench) table() string {
	var s strings.Builder
	fmt.Fprintf(&s, "\n## Video (%s)\n\n", time.Now().Format("2006-01-02 15:04"))
	fmt.Fprintf(&s, "- Machine: %d cores; %s; clips made in %.1f s (%.1f s CPU); whole run %.0f s\n",
		runtime.NumCPU(), ffmpegVersion(), b.made.Seconds(), b.madeCPU.Seconds(), time.Since(b.start).Seconds())
	fmt.Fprintf(&s, "- Load average when each phase began: %s\n\n", strings.Join(b.loads, "; "))
	s.WriteString("| Figure | Shoebox | ffmpeg command line (same run) | ffmpeg / Shoebox |\n|---|---|---|---|\n")
	for _, r := range b.rows {
		fmt.Fprintf(&s, "| %s | %s | %s | %s |\n", r[0], r[1], r[2], r[3])
	}
	return s.String()
}

func ffmpegVersion() string {
	out, err := exec.Command("ffmpeg", "-version").Output()
	if err != nil {
		return "ffmpeg ?"
	}
	first, _, _ := strings.Cut(string(out), "\n")
	if f := strings.Fields(first); len(f) >= 3 {
		return "ffmpeg " + f[2]
	}
	return first
}
