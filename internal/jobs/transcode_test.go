package jobs_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"shoebox/internal/database"
	"shoebox/internal/jobs"
	"shoebox/internal/media"
	"shoebox/internal/media/videotest"
)

// transcoders lists this process's ffmpeg children that are converting
// (not taking a poster), by their command line.
func transcoders(t *testing.T) []int {
	t.Helper()
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var pids []int
	for _, c := range cmdlines {
		b, err := os.ReadFile(c)
		if err != nil || !strings.Contains(string(b), "libx264") || !strings.HasSuffix(strings.SplitN(string(b), "\x00", 2)[0], "ffmpeg") {
			continue
		}
		dir := filepath.Dir(c)
		st, err := os.ReadFile(filepath.Join(dir, "stat"))
		if err != nil {
			continue
		}
		fields := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+1:]))
		if len(fields) > 1 && fields[0] != "Z" && fields[1] == strconv.Itoa(os.Getpid()) {
			pid, _ := strconv.Atoi(filepath.Base(dir))
			pids = append(pids, pid)
		}
	}
	return pids
}

// A VP9 video is indexed, then converted by its job into the MP4 beside
// its thumbnail; the marker is gone; a rescan queues nothing more.
func TestTranscodeJob(t *testing.T) {
	e := setup(t)
	clips := t.TempDir()
	videotest.Write(t, clips)
	copyFile(t, filepath.Join(clips, "vp9.webm"), filepath.Join(e.lib, "vp9.webm"))
	copyFile(t, filepath.Join(clips, "h264.mp4"), filepath.Join(e.lib, "h264.mp4"))
	e.run()
	vp9, h264 := e.photoOf(t, "vp9.webm"), e.photoOf(t, "h264.mp4")
	if !exists(e.store.Path(vp9, "video.mp4")) || exists(e.store.Path(vp9, "converting")) {
		t.Fatalf("vp9: converted %v, marker %v", exists(e.store.Path(vp9, "video.mp4")), exists(e.store.Path(vp9, "converting")))
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", e.store.Path(vp9, "video.mp4")).Output()
	if err != nil || strings.Fields(string(out))[0] != "h264" {
		t.Errorf("converted file: %q %v", out, err)
	}
	if exists(e.store.Path(h264, "video.mp4")) {
		t.Error("a playable video was converted")
	}
	if n := e.count(t, `SELECT count(*) FROM river_job WHERE kind = 'transcode' AND state = 'completed'`); n != 1 {
		t.Errorf("%d transcode jobs done, want 1", n)
	}
	e.run()
	if n := e.count(t, `SELECT count(*) FROM river_job WHERE kind = 'transcode'`); n != 1 {
		t.Errorf("a rescan queued transcodes again: %d jobs", n)
	}
}

// Shutdown mid-conversion kills ffmpeg (none left), leaves no file, and
// puts the job back in the queue (available) with its attempt not counted; the next
// start runs it again (here under a tiny time limit: killed, recorded
// with its reason, the marker removed so /video says 415).
func TestTranscodeShutdownRetried(t *testing.T) {
	e := setup(t)
	long := filepath.Join(e.lib, "long.avi") // 20 hours of 16x16 MPEG-4: seconds to convert
	if out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=size=16x16:rate=1", "-t", "72000", "-c:v", "mpeg4", long).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	r := jobs.New(e.db, e.store, jobs.Options{Workers: 1, Poll: 20 * time.Millisecond, Logger: log})
	ctx, cancel := context.WithCancel(context.Background())
	if err := r.EnqueueScan(ctx, e.lib); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	deadline := time.Now().Add(2 * time.Minute)
	for len(transcoders(t)) == 0 {
		if time.Now().After(deadline) {
			cancel()
			t.Fatal("the conversion never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if pids := transcoders(t); len(pids) > 0 {
		t.Errorf("ffmpeg left running after shutdown: %v", pids)
	}
	id := e.photoOf(t, "long.avi")
	if n := e.count(t, `SELECT count(*) FROM river_job WHERE kind = 'transcode' AND state = 'available' AND attempt = 0`); n != 1 {
		t.Errorf("transcode job not back to pending (%d)", n)
	}
	if exists(e.store.Path(id, "video.mp4")) || !exists(e.store.Path(id, "converting")) {
		t.Errorf("after shutdown: converted %v, marker %v", exists(e.store.Path(id, "video.mp4")), exists(e.store.Path(id, "converting")))
	}
	tmps, _ := filepath.Glob(filepath.Join(e.store.Dir, id[:2], ".tmp-*"))
	if len(tmps) > 0 {
		t.Errorf("half-written files left: %v", tmps)
	}

	r = jobs.New(e.db, e.store, jobs.Options{Workers: 1, Poll: 20 * time.Millisecond, Logger: log,
		Transcode: media.TranscodeOptions{TimeFactor: 1e-9, MinTime: 200 * time.Millisecond}})
	ctx, cancel = context.WithCancel(context.Background())
	done = make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	for e.count(t, `SELECT count(*) FROM river_job WHERE kind = 'transcode' AND state = 'completed'`) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the job was not run again")
		}
		time.Sleep(20 * time.Millisecond)
	}
	var res string
	e.db.Do(ctx, func(q database.Querier) error {
		return q.QueryRow(ctx, `SELECT (metadata->'output')::text FROM river_job WHERE kind = 'transcode'`).Scan(&res)
	})
	if !strings.Contains(res, "time limit") || exists(e.store.Path(id, "converting")) || exists(e.store.Path(id, "video.mp4")) {
		t.Errorf("after the time limit: result %s, marker %v", res, exists(e.store.Path(id, "converting")))
	}
}
