package media

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// TranscodeOptions bound and tune Transcode.
type TranscodeOptions struct {
	// Preset is x264's trade of speed for size. Default "veryfast": about
	// three times the speed of "medium" for files some 10-20% larger, which
	// on a small home server is the difference between a queue that drains
	// overnight and one that does not.
	Preset string
	// TimeFactor bounds the run: at most MinTime plus TimeFactor seconds
	// of work per second of video, then ffmpeg is killed. Default 10.
	TimeFactor float64
	// MinTime is the floor of the bound (a short clip still needs ffmpeg
	// to start and the muxer to rewrite the file). Default 2 minutes.
	MinTime time.Duration
}

// DefaultTranscodeFactor is TranscodeOptions.TimeFactor's default.
const DefaultTranscodeFactor = 10

func (o TranscodeOptions) withDefaults() TranscodeOptions {
	if o.Preset == "" {
		o.Preset = "veryfast"
	}
	if o.TimeFactor <= 0 {
		o.TimeFactor = DefaultTranscodeFactor
	}
	if o.MinTime <= 0 {
		o.MinTime = 2 * time.Minute
	}
	return o
}

// Limit is how long a transcode of a video of duration seconds may run.
func (o TranscodeOptions) Limit(duration float64) time.Duration {
	o = o.withDefaults()
	return o.MinTime + time.Duration(duration*o.TimeFactor*float64(time.Second))
}

// maxLong and maxShort are the box transcoded videos fit in
// (1920×1080, or 1080×1920 upright): 1080p, what a phone or laptop screen
// shows, at a few megabits a second.
const (
	maxLong  = 1920
	maxShort = 1080
)

// TranscodeArgs are ffmpeg's arguments to turn input (a "file:" URL) into
// a browser-playable MP4 at output: H.264 (yuv420p, so every browser
// decodes it) and AAC, upright (ffmpeg applies the display matrix),
// scaled down to fit 1080p keeping the aspect, the index first
// (+faststart: playback starts before the whole file is read), and no
// metadata at all (no place, no date, no device, not even the muxer's
// name: what a share link that hides metadata may show). The input is read with the same whitelists as
// the probe. The benchmark runs the same arguments.
func TranscodeArgs(input, output, preset string) []string {
	box := fmt.Sprintf("scale=w='if(gte(iw,ih),min(iw,%[1]d),min(iw,%[2]d))':h='if(gte(iw,ih),min(ih,%[2]d),min(ih,%[1]d))'"+
		":force_original_aspect_ratio=decrease:force_divisible_by=2,format=yuv420p", maxLong, maxShort)
	return []string{"-hide_banner", "-nostdin", "-v", "error", "-y",
		"-protocol_whitelist", protocols, "-format_whitelist", demuxers, "-max_streams", fmt.Sprint(maxStreams),
		"-i", input,
		"-map", "0:V:0", "-map", "0:a:0?", "-sn", "-dn",
		"-map_metadata", "-1", "-map_chapters", "-1",
		"-vf", box,
		"-c:v", "libx264", "-preset", preset, "-crf", "23", "-pix_fmt", "yuv420p", "-profile:v", "high",
		"-c:a", "aac", "-b:a", "128k", "-ac", "2",
		"-movflags", "+faststart", "-fflags", "+bitexact", "-f", "mp4", output}
}

// Transcode converts the video src (opened by the caller, who checked it
// is the file indexed: ffmpeg reads that very file through an inherited
// descriptor, never a path that could since lead elsewhere) into a
// browser-playable MP4 at dst (see TranscodeArgs). ffmpeg writes a
// temporary file beside dst, renamed into place only when complete, so
// dst is whole or absent. It runs in its own process group, with no
// environment, for at most opt.Limit(duration): past that the group is
// killed and the error is ErrDecode (a retry would time out again); when
// ctx ends (shutdown) the group is killed too and ctx's error returned,
// so the job is retried. A file ffmpeg cannot convert is ErrUnsupported
// or ErrDecode with what ffmpeg said.
func Transcode(ctx context.Context, src *os.File, duration float64, dst string, opt TranscodeOptions) error {
	opt = opt.withDefaults()
	bin, err := exec.LookPath("ffmpeg")
	if err != nil {
		return fmt.Errorf("media: ffmpeg is not installed (scripts/setup.sh installs Debian's ffmpeg): %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".tmp-*.mp4") // 0600
	if err != nil {
		return fmt.Errorf("media: transcode: %w", err)
	}
	tmp.Close()
	done := false
	defer func() {
		if !done {
			os.Remove(tmp.Name())
		}
	}()
	limit := opt.Limit(duration)
	rctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	// fd 3 in ffmpeg is src (ExtraFiles[0]).
	const input = "file:/dev/fd/3"
	cmd := exec.CommandContext(rctx, bin, TranscodeArgs(input, "file:"+tmp.Name(), opt.Preset)...)
	cmd.ExtraFiles = []*os.File{src}
	cmd.Env = []string{}
	cmd.Dir = os.TempDir()
	// Its own group, so a kill reaches anything it starts; and killed
	// with Shoebox should Shoebox itself be killed (kill -9) mid-way.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	stderr := &headBuffer{max: 4 << 10}
	cmd.Stdout, cmd.Stderr = stderr, stderr
	werr := cmd.Run()
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(rctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("media: transcode: %w: ffmpeg: over its time limit of %s (%.0f s of video), killed", ErrDecode, limit.Round(time.Second), duration)
	case werr != nil:
		return fmt.Errorf("media: transcode: %w", toolError("ffmpeg", strings.ReplaceAll(stderr.String(), input+": ", ""), werr))
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("media: transcode: %w", err)
	}
	done = true
	return nil
}
