package media

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Video is what ffprobe says about a video file.
type Video struct {
	// Container is "mp4", "mov", "m4v", "3gp", "matroska", "webm" or
	// "avi" (the QuickTime family told apart by its major brand).
	Container string
	// Duration in seconds; 0 when the file does not say.
	Duration float64
	// VideoCodec and AudioCodec are ffmpeg's names ("h264", "hevc", "vp9",
	// "av1", "mpeg4"; "aac", "mp3", "opus"); AudioCodec is "" without sound.
	VideoCodec, AudioCodec string
	// Width and Height are as displayed: after Rotation.
	Width, Height int
	// Rotation is how far the stored frames are turned clockwise to be
	// shown upright: 0, 90, 180 or 270 (from the display matrix, which
	// ffprobe gives counterclockwise, or an old "rotate" tag).
	Rotation int
	Streams  int // how many streams the container holds
}

// Playable says whether browsers play the file as it is: H.264 video
// with AAC, MP3 or no sound, in an MP4-family container.
func (v Video) Playable() bool {
	switch v.Container {
	case "mp4", "m4v", "mov":
	default:
		return false
	}
	return v.VideoCodec == "h264" && (v.AudioCodec == "" || v.AudioCodec == "aac" || v.AudioCodec == "mp3")
}

// MIME is the type the file is served as. A playable QuickTime file is
// served as MP4: its structure is the same, and browsers refuse
// video/quicktime.
func (v Video) MIME() string {
	if v.Playable() {
		return "video/mp4"
	}
	switch v.Container {
	case "mp4", "m4v":
		return "video/mp4"
	case "mov":
		return "video/quicktime"
	case "3gp":
		return "video/3gpp"
	case "webm":
		return "video/webm"
	case "matroska":
		return "video/x-matroska"
	case "avi":
		return "video/x-msvideo"
	}
	return "application/octet-stream"
}

// Bounds on what a video may claim and on what ffprobe and ffmpeg may do
// with it. A hostile file can claim anything in its header; these turn
// the claims into refusals before any frame is decoded.
const (
	// DefaultVideoTimeout bounds each ffprobe and ffmpeg run.
	DefaultVideoTimeout = 60 * time.Second
	// maxStreams: phones write 2 to 6 streams, a film with many subtitle
	// languages a few dozen. More is refused (ffprobe itself stops
	// reading at this count, so hundreds cost nothing).
	maxStreams = 64
	// maxDuration: longer is refused. Ten hours of video is a plausible
	// recording and costs no more to index than ten seconds (nothing is
	// decoded beyond the poster frame); 24 hours is a claim, not a clip.
	maxDuration = 24 * 3600
	// maxProbeOutput bounds ffprobe's JSON (a few kB for a real file;
	// huge metadata tags would otherwise be read into memory).
	maxProbeOutput = 4 << 20
	// maxPoster bounds the poster frame ffmpeg writes to its pipe: an RGB
	// PNG of at most PreviewSize² pixels is far below it.
	maxPoster = 64 << 20
)

// demuxers are the only ones ffprobe and ffmpeg may use on a library
// file (ffmpeg's -format_whitelist): the containers of VideoExtensions.
// A playlist (HLS), a concat list, an image sequence or any other format
// that reads further files is refused however the file is named.
const demuxers = "mov,matroska,avi"

// protocols: only the file itself (and ffmpeg's output pipe). No network,
// no "concat:", "subfile:" or other protocol that reaches elsewhere.
const protocols = "file,pipe"

// ProcessVideo probes the video at path with ffprobe, takes a poster
// frame with ffmpeg (a short way in, upright, at most PreviewSize), and
// makes the thumbnail, preview and ThumbHash from it exactly as Process
// does for a photo. Result.Video holds the probe; Result.Meta the date and
// place the container records; Format is the container. A file ffprobe
// cannot read, with no video stream, too many streams, too long, or of
// too many pixels is refused (ErrUnsupported, ErrDecode, ErrTooLarge)
// with the reason; ffprobe and ffmpeg are killed past opt.VideoTimeout.
// Nothing is written anywhere: both answer on pipes.
func ProcessVideo(ctx context.Context, path string, opt Options) (*Result, error) {
	opt = opt.withDefaults()
	if _, err := checkFile(path); err != nil {
		return nil, err
	}
	v, meta, stream, err := probe(ctx, path, opt.VideoTimeout)
	if err != nil {
		return nil, fmt.Errorf("media: %s: %w", path, err)
	}
	px := int64(v.Width) * int64(v.Height)
	switch {
	case v.Width > maxSide || v.Height > maxSide:
		return nil, fmt.Errorf("media: %s: %dx%d: a side over %d pixels: %w", path, v.Width, v.Height, maxSide, ErrTooLarge)
	case px > opt.MaxPixels:
		return nil, fmt.Errorf("media: %s: %dx%d frames are over the %.1f megapixel limit: %w",
			path, v.Width, v.Height, float64(opt.MaxPixels)/1e6, ErrTooLarge)
	}
	img, err := poster(ctx, path, v, stream, opt)
	if err != nil {
		return nil, fmt.Errorf("media: %s: %w", path, err)
	}
	r, err := processImage(path, img, opt)
	if err != nil {
		return nil, err
	}
	r.Width, r.Height, r.Format = v.Width, v.Height, v.Container
	r.Meta, r.Video = meta, &v
	return r, nil
}

// ProbeVideo runs ffprobe on path (see ProcessVideo for the bounds).
func ProbeVideo(ctx context.Context, path string, timeout time.Duration) (Video, Meta, error) {
	v, m, _, err := probe(ctx, path, timeout)
	if err != nil {
		return v, m, fmt.Errorf("media: %s: %w", path, err)
	}
	return v, m, nil
}

// probeOutput is the part of ffprobe's JSON that Shoebox reads.
type probeOutput struct {
	Streams []struct {
		Index       int               `json:"index"`
		CodecType   string            `json:"codec_type"`
		CodecName   string            `json:"codec_name"`
		Width       int               `json:"width"`
		Height      int               `json:"height"`
		Disposition map[string]int    `json:"disposition"`
		Tags        map[string]string `json:"tags"`
		SideData    []struct {
			Rotation *float64 `json:"rotation"`
		} `json:"side_data_list"`
	} `json:"streams"`
	Format struct {
		FormatName string            `json:"format_name"`
		Duration   string            `json:"duration"`
		NbStreams  int               `json:"nb_streams"`
		Tags       map[string]string `json:"tags"`
	} `json:"format"`
}

// probe runs ffprobe and reads its answer; stream is the index of the
// video stream the poster is taken from.
func probe(ctx context.Context, path string, timeout time.Duration) (v Video, m Meta, stream int, err error) {
	m.Orientation = 1
	out, err := run(ctx, timeout, maxProbeOutput, "ffprobe", "-hide_banner", "-v", "error",
		"-protocol_whitelist", protocols, "-format_whitelist", demuxers, "-max_streams", strconv.Itoa(maxStreams),
		"-print_format", "json", "-show_format", "-show_streams", "file:"+path)
	if err != nil {
		return v, m, 0, err
	}
	var p probeOutput
	if err := json.Unmarshal(out, &p); err != nil {
		return v, m, 0, fmt.Errorf("%w: ffprobe: %v", ErrDecode, err)
	}
	v.Streams = max(p.Format.NbStreams, len(p.Streams))
	if v.Streams > maxStreams {
		return v, m, 0, fmt.Errorf("%w: %d streams, over the limit of %d", ErrUnsupported, v.Streams, maxStreams)
	}
	if d, err := strconv.ParseFloat(p.Format.Duration, 64); err == nil && d > 0 && !math.IsInf(d, 0) {
		v.Duration = d
	}
	if v.Duration > maxDuration {
		return v, m, 0, fmt.Errorf("%w: claims %.0f hours, over the limit of %d", ErrUnsupported, v.Duration/3600, maxDuration/3600)
	}
	stream = -1
	var streamTags map[string]string
	for _, s := range p.Streams {
		switch {
		case s.CodecType == "video" && stream < 0 && s.Disposition["attached_pic"] == 0:
			stream, v.VideoCodec, v.Width, v.Height, streamTags = s.Index, s.CodecName, s.Width, s.Height, s.Tags
			v.Rotation = rotation(s.Tags["rotate"], s.SideData)
		case s.CodecType == "audio" && v.AudioCodec == "":
			v.AudioCodec = s.CodecName
		}
	}
	if stream < 0 {
		return v, m, 0, fmt.Errorf("%w: no video stream", ErrUnsupported)
	}
	if v.Width <= 0 || v.Height <= 0 {
		return v, m, 0, fmt.Errorf("%w: %dx%d: zero dimensions", ErrDecode, v.Width, v.Height)
	}
	if v.Rotation == 90 || v.Rotation == 270 {
		v.Width, v.Height = v.Height, v.Width
	}
	v.Container = container(p.Format.FormatName, p.Format.Tags["major_brand"], path)
	m.TakenAt, m.TakenAtOffset, m.TakenAtSource = videoTime(p.Format.Tags, streamTags)
	for _, k := range []string{"com.apple.quicktime.location.ISO6709", "location", "location-eng"} {
		if lat, lon, alt, ok := parseISO6709(p.Format.Tags[k]); ok {
			m.Lat, m.Lon, m.Alt = &lat, &lon, alt
			break
		}
	}
	m.ContentID = contentID(p.Format.Tags["com.apple.quicktime.content.identifier"])
	m.Make = p.Format.Tags["com.apple.quicktime.make"]
	m.Model = p.Format.Tags["com.apple.quicktime.model"]
	return v, m, stream, nil
}

// rotation turns a display matrix's counterclockwise angle (or an old
// "rotate" tag's clockwise one) into clockwise degrees: 0, 90, 180, 270.
func rotation(tag string, side []struct {
	Rotation *float64 `json:"rotation"`
}) int {
	cw := 0.0
	if n, err := strconv.ParseFloat(tag, 64); err == nil {
		cw = n
	}
	for _, sd := range side {
		if sd.Rotation != nil {
			cw = -*sd.Rotation
		}
	}
	return ((int(math.Round(cw/90))%4 + 4) % 4) * 90
}

// container names the container: the demuxer's family, the QuickTime
// family told apart by the major brand it declares (or, without one, the
// file's extension).
func container(format, brand, path string) string {
	ext := strings.ToLower(strings.TrimPrefix(filepath.Ext(path), "."))
	switch {
	case strings.HasPrefix(format, "matroska"):
		if ext == "webm" {
			return "webm"
		}
		return "matroska"
	case format == "avi":
		return "avi"
	}
	b := strings.TrimSpace(brand)
	switch {
	case b == "qt":
		return "mov"
	case strings.HasPrefix(b, "M4V"):
		return "m4v"
	case strings.HasPrefix(b, "3gp") || strings.HasPrefix(b, "3g2"):
		return "3gp"
	case b != "":
		return "mp4"
	case ext == "mov" || ext == "m4v" || ext == "3gp":
		return ext
	}
	return "mp4"
}

// videoTime reads when a video was made: QuickTime's creationdate (the
// local time with its zone, as iPhones write it), else the container's
// creation_time (UTC by the MP4 and Matroska specifications). Dates
// before 1971 are an unset field (MP4 counts from 1904), not a date.
func videoTime(format, stream map[string]string) (time.Time, *int, string) {
	if s := format["com.apple.quicktime.creationdate"]; s != "" {
		for _, layout := range []string{"2006-01-02T15:04:05-0700", time.RFC3339Nano, "2006-01-02T15:04:05.999999999-0700"} {
			if t, err := time.Parse(layout, s); err == nil && t.Year() > 1970 {
				_, off := t.Zone()
				off /= 60
				return t, &off, "quicktime"
			}
		}
	}
	for _, tags := range []map[string]string{format, stream} {
		if t, err := time.Parse(time.RFC3339Nano, tags["creation_time"]); err == nil && t.Year() > 1970 {
			zero := 0
			return t.UTC(), &zero, "container"
		}
	}
	return time.Time{}, nil, ""
}

// iso6709 is a point as QuickTime and MP4 store it: "+48.8584+002.2945/"
// or with an altitude, "+48.8584+002.2945+035.000/". Degrees may also be
// written as ±DDMM.M or ±DDMMSS.S.
var iso6709 = regexp.MustCompile(`^([+-])(\d+(?:\.\d*)?)([+-])(\d+(?:\.\d*)?)(?:([+-]\d+(?:\.\d*)?))?(?:CRS[^/]*)?/?$`)

// parseISO6709 reads a point; ok is false for anything else or a point
// off the globe.
func parseISO6709(s string) (lat, lon float64, alt *float64, ok bool) {
	g := iso6709.FindStringSubmatch(strings.TrimSpace(s))
	if g == nil {
		return 0, 0, nil, false
	}
	lat, ok1 := sexagesimal(g[2], 2)
	lon, ok2 := sexagesimal(g[4], 3)
	if !ok1 || !ok2 || lat > 90 || lon > 180 {
		return 0, 0, nil, false
	}
	if g[1] == "-" {
		lat = -lat
	}
	if g[3] == "-" {
		lon = -lon
	}
	if g[5] != "" {
		if a, err := strconv.ParseFloat(g[5], 64); err == nil {
			alt = &a
		}
	}
	return lat, lon, alt, true
}

// sexagesimal reads degrees written as D, DMM or DMMSS (with a fraction on
// the last part), where D has deg digits.
func sexagesimal(s string, deg int) (float64, bool) {
	whole, _, _ := strings.Cut(s, ".")
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false
	}
	switch len(whole) - deg {
	case 0:
		return v, true
	case 2: // DDMM.M
		d := math.Floor(v / 100)
		return d + (v-d*100)/60, true
	case 4: // DDMMSS.S
		d := math.Floor(v / 10000)
		mm := math.Floor((v - d*10000) / 100)
		return d + mm/60 + (v-d*10000-mm*100)/3600, true
	}
	return 0, false
}

// poster takes one frame, upright and scaled into the preview box, as a
// PNG: at 10% of the video (at most 1 s in, so the first scene), or the
// very start of a clip under half a second. A seek past the last frame
// (a duration that lies) falls back to the start.
func poster(ctx context.Context, path string, v Video, stream int, opt Options) ([]byte, error) {
	at := min(v.Duration/10, 1)
	if v.Duration < 0.5 {
		at = 0
	}
	for {
		box := strconv.Itoa(opt.PreviewSize)
		img, err := run(ctx, opt.VideoTimeout, maxPoster, "ffmpeg", "-hide_banner", "-nostdin", "-v", "error",
			"-protocol_whitelist", protocols, "-format_whitelist", demuxers, "-max_streams", strconv.Itoa(maxStreams),
			"-ss", strconv.FormatFloat(at, 'f', 3, 64), "-i", "file:"+path,
			"-map", "0:"+strconv.Itoa(stream), "-frames:v", "1", "-an", "-sn", "-dn",
			"-vf", "scale=w='min(iw,"+box+")':h='min(ih,"+box+")':force_original_aspect_ratio=decrease,format=rgb24",
			"-c:v", "png", "-f", "image2pipe", "pipe:1")
		switch {
		case err != nil:
			return nil, err
		case len(img) > 0:
			return img, nil
		case at > 0:
			at = 0
			continue
		}
		return nil, fmt.Errorf("%w: ffmpeg: no frame could be decoded", ErrDecode)
	}
}

// errOutput says a tool wrote more than it may.
var errOutput = errors.New("output over its limit")

// run runs ffprobe or ffmpeg with args (no shell), for at most timeout,
// and returns what it wrote to stdout, at most limit bytes: past either
// bound it is killed. It gets no environment (FFREPORT and its kind would
// make it write a log file) and runs in the temporary folder, so it has
// nowhere to write but its pipes. A failure carries what it said on
// stderr; an ended ctx (shutdown) comes back as ctx's error, to be retried.
func run(ctx context.Context, timeout time.Duration, limit int64, tool string, args ...string) ([]byte, error) {
	bin, err := exec.LookPath(tool)
	if err != nil {
		return nil, fmt.Errorf("%s is not installed (scripts/setup.sh installs Debian's ffmpeg): %w", tool, err)
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(rctx, bin, args...)
	cmd.Env = []string{}
	cmd.Dir = os.TempDir()
	cmd.WaitDelay = 5 * time.Second
	stderr := &headBuffer{max: 4 << 10}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", tool, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", tool, err)
	}
	out, _ := io.ReadAll(io.LimitReader(stdout, limit+1))
	over := int64(len(out)) > limit
	if over {
		cancel()
	}
	werr := cmd.Wait()
	switch {
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case over:
		return nil, fmt.Errorf("%w: %s: %w (%d MB)", ErrUnsupported, tool, errOutput, limit>>20)
	case errors.Is(rctx.Err(), context.DeadlineExceeded):
		return nil, fmt.Errorf("%w: %s: timed out after %s, killed", ErrDecode, tool, timeout)
	case werr != nil:
		return nil, toolError(tool, stderr.String(), werr)
	}
	return out, nil
}

// toolPrefix is the "[mov,mp4 @ 0x55d…] " ffmpeg puts before a message.
var toolPrefix = regexp.MustCompile(`(?m)^\[[^\]@]*@ 0x[0-9a-f]+\] `)

// toolError turns what ffprobe or ffmpeg said into a reason: a demuxer
// refused by the whitelist (a playlist, a concat list) is ErrUnsupported,
// anything else the file could not be read (ErrDecode).
func toolError(tool, stderr string, err error) error {
	var lines []string
	for _, l := range strings.Split(toolPrefix.ReplaceAllString(stderr, ""), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "file:/") {
			lines = append(lines, l)
		}
	}
	msg := strings.Join(lines, " | ")
	if msg == "" {
		msg = err.Error()
	}
	if i := strings.Index(stderr, " @ 0x"); strings.Contains(stderr, "not on whitelist") && i > 0 {
		name := stderr[strings.LastIndex(stderr[:i], "[")+1 : i]
		return fmt.Errorf("%w: %s: a %q file, not a video container (playlists and file lists are refused)", ErrUnsupported, tool, name)
	}
	if strings.Contains(msg, "Invalid data found") || strings.Contains(msg, "moov atom not found") {
		return fmt.Errorf("%w: %s: not a readable video: %s", ErrUnsupported, tool, msg)
	}
	return fmt.Errorf("%w: %s: %s", ErrDecode, tool, msg)
}

// headBuffer keeps the first max bytes written to it and drops the rest.
type headBuffer struct {
	bytes.Buffer
	max int
}

func (b *headBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
