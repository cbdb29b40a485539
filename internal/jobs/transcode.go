package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"time"

	"shoebox/internal/media"
	"shoebox/internal/thumbs"
)

// transcodeResult is what a transcode job records.
type transcodeResult struct {
	Seconds float64 `json:"seconds,omitempty"` // how long ffmpeg took
	Skipped string  `json:"skipped,omitempty"` // why nothing was made
}

// queueTranscode asks for video id to be converted unless it is already:
// the marker first, so /video says "being converted" as soon as the job
// exists.
func (r *Runner) queueTranscode(ctx context.Context, id string, duration float64) error {
	if r.store.Has(id, thumbs.Transcode) {
		return nil
	}
	if err := r.store.Write(id, thumbs.Converting, nil); err != nil {
		return err
	}
	return r.st.Enqueue(ctx, TranscodeJob(id, duration))
}

// transcode converts one video (the job's key) into the MP4 /video
// serves, beside its thumbnail. The original is opened only if it is
// still the file indexed (the same check as /original). A file ffmpeg
// cannot convert, or that runs past its time limit, is recorded as done
// with the reason (a retry would fail alike) and /video keeps answering
// 415; other errors (the data folder) are retried. A shutdown kills
// ffmpeg and returns ctx's error: the job goes back to the queue.
func (r *Runner) transcode(ctx context.Context, args TranscodeArgs, last bool) (any, error) {
	id := args.ID
	if r.store.Has(id, thumbs.Transcode) {
		r.store.RemoveKind(id, thumbs.Converting)
		return transcodeResult{Skipped: "already converted"}, nil
	}
	src, o, err := r.store.OpenSource(ctx, id)
	if err != nil && o.Object != "" && !errors.Is(err, thumbs.ErrChanged) && !errors.Is(err, os.ErrNotExist) {
		return nil, err // the store out of reach: retried
	}
	if err != nil {
		// Gone or changed since indexed: the next scan indexes what is
		// there now (a changed file is another id).
		r.store.RemoveKind(id, thumbs.Converting)
		return transcodeResult{Skipped: err.Error()}, nil
	}
	defer src.Close()
	if o.Video == nil || o.Video.Playable {
		r.store.RemoveKind(id, thumbs.Converting)
		return transcodeResult{Skipped: "plays as it is"}, nil
	}
	f, ok := src.(*os.File)
	if !ok { // an object: ffmpeg reads a copy on this machine's disk
		if f, err = r.copyOriginal(src, o); err != nil {
			return nil, err
		}
		defer os.Remove(f.Name())
		defer f.Close()
	}
	start := time.Now()
	err = r.store.WriteWith(id, thumbs.Transcode, func(path string) error {
		return media.Transcode(ctx, f, args.Duration, path, r.opts.Transcode)
	})
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if errors.Is(err, media.ErrDecode) || errors.Is(err, media.ErrUnsupported) {
		r.log.Warn("video not converted for browsers", "path", o.Path, "err", reason(err, o.Real))
		r.store.RemoveKind(id, thumbs.Converting)
		return transcodeResult{Skipped: reason(err, o.Real)}, nil
	}
	if err != nil {
		if last { // failing for good: /video says 415, not "being converted" forever
			r.store.RemoveKind(id, thumbs.Converting)
		}
		return nil, err
	}
	r.store.RemoveKind(id, thumbs.Converting)
	took := time.Since(start)
	r.log.Info("video converted for browsers", "path", o.Path, "seconds", took.Seconds(), "duration", args.Duration)
	return transcodeResult{Seconds: took.Seconds()}, nil
}

// copyOriginal copies an original read from the bucket into a temporary
// file in the media cache's folder, opened at its start; the caller closes
// and removes it.
func (r *Runner) copyOriginal(src io.Reader, o thumbs.Original) (*os.File, error) {
	f, err := os.CreateTemp(r.store.Cache().Dir(), ".orig-*"+path.Ext(o.Path))
	if err != nil {
		return nil, fmt.Errorf("copy original: %w", err)
	}
	if _, err = io.Copy(f, src); err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("copy original %s: %w", o.Path, err)
	}
	return f, nil
}
