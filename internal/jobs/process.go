package jobs

import (
	"context"
	"errors"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/riverqueue/river"

	"shoebox/internal/library"
	"shoebox/internal/media"
	"shoebox/internal/objstore"
	"shoebox/internal/storage"
	"shoebox/internal/thumbs"
)

// process makes a photo's thumbnail, preview and placeholder and reads its
// metadata, from one decode, then saves them; a video's come from its
// poster frame and ffprobe, and its note says whether browsers play it. A truncated or corrupt photo
// is saved as far as it decodes, marked damaged; one of which nothing can
// be decoded is marked failed with the reason (no retry can fix a corrupt
// file); database errors are returned, to be retried.
func (r *Runner) process(ctx context.Context, id string) error {
	sources, err := r.st.PhotoSources(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil // removed since it was queued
	}
	if err != nil {
		return err
	}
	var (
		res  *media.Result
		perr error
		src  string
		obj  *fetched // src is an upload on S3, read from this copy
	)
	for _, p := range sources {
		local := p
		if library.IsObjects(p) {
			f, err := r.fetch(ctx, p)
			if errors.Is(err, objstore.ErrNotFound) {
				perr = err // gone, as a file can be
				continue
			}
			if err != nil {
				// The store out of reach, or this process not set up for
				// it: retried (here, or by a worker that can reach it).
				return err
			}
			defer os.Remove(f.path)
			obj, local = f, f.path
		} else if _, err := os.Stat(p); err != nil {
			perr = err
			continue
		}
		src = p
		opt := media.Options{MaxPixels: r.opts.MaxPixels}
		if library.IsVideo(p) {
			res, perr = media.ProcessVideo(ctx, local, opt)
		} else {
			res, perr = media.Process(ctx, local, opt)
		}
		if perr != nil && obj != nil { // named as the object, not its copy
			perr = errors.New(strings.ReplaceAll(strings.TrimPrefix(perr.Error(), "media: "+local+": "), local, path.Base(p)))
		}
		break
	}
	if ctx.Err() != nil {
		return ctx.Err() // shut down mid-way (ffprobe or ffmpeg killed): retried
	}
	if perr != nil || res == nil {
		if perr == nil {
			perr = errors.New("no readable file")
		}
		r.count(func(p *Progress) { p.Processed++; p.Failed++ })
		r.met.failed.Inc()
		return r.st.FailPhoto(ctx, id, reason(perr, src))
	}
	for _, w := range []struct {
		kind thumbs.Kind
		data []byte
	}{{thumbs.Thumb, res.Thumb}, {thumbs.Preview, res.Preview}} {
		if err := r.store.Write(id, w.kind, w.data); err != nil {
			return err
		}
	}
	var (
		note  *thumbs.Video
		video *storage.VideoResult
	)
	if v := res.Video; v != nil {
		note = &thumbs.Video{Playable: v.Playable(), MIME: v.MIME()}
		video = &storage.VideoResult{Duration: v.Duration, VideoCodec: v.VideoCodec, AudioCodec: v.AudioCodec}
	}
	if obj != nil {
		err = r.store.WriteSourceObject(id, src, obj.key, obj.info, note)
	} else {
		err = r.store.WriteSource(id, src, note)
	}
	if err != nil {
		return err
	}
	m := res.Meta
	pl, plVersion := r.placeOf(m.Lat, m.Lon)
	err = r.st.SavePhotoResult(ctx, id, storage.PhotoResult{
		Format: res.Format, Width: res.Width, Height: res.Height,
		ThumbWidth: res.ThumbWidth, ThumbHeight: res.ThumbHeight, Placeholder: res.Placeholder,
		TakenAt: m.TakenAt, TakenOffset: m.TakenAtOffset, TakenSource: m.TakenAtSource,
		Make: m.Make, Model: m.Model, Lens: m.Lens, LensMake: m.LensMake,
		Exposure: m.ExposureTime, ExposureSec: m.ExposureSeconds,
		FNumber: m.FNumber, FocalLength: m.FocalLength, ISO: m.ISO,
		Lat: m.Lat, Lon: m.Lon, Alt: m.Alt, Orientation: m.Orientation, Place: pl, PlaceVersion: plVersion,
		MetaVersion: media.MetaVersion, ContentID: m.ContentID,
		Damage: res.Damage,
		Video:  video,
	})
	if err != nil {
		return err
	}
	if v := res.Video; v != nil && !v.Playable() {
		if err := r.queueTranscode(ctx, id, v.Duration); err != nil {
			return err
		}
	}
	r.count(func(p *Progress) { p.Processed++ })
	r.met.indexed.Inc()
	var next []river.JobArgs
	if r.opts.Embedder != nil {
		next = append(next, EmbedJob(id))
	}
	if r.facesOn() {
		next = append(next, FacesJob(id))
	}
	if len(next) == 0 {
		return nil
	}
	return r.st.Enqueue(ctx, next...)
}

// fetched is a temporary copy of an original kept as an object.
type fetched struct {
	key  string
	info objstore.Info // the version copied
	path string        // the copy; the caller removes it
}

// fetch copies the object at url (an upload library's file on S3) into
// the media cache's folder, for the decoders that read files by name.
func (r *Runner) fetch(ctx context.Context, url string) (*fetched, error) {
	key, err := library.KeyOf(r.bucket(), url)
	if err != nil {
		return nil, err
	}
	p, info, err := library.Fetch(ctx, r.bucket(), key, r.store.Cache().Dir())
	if err != nil {
		return nil, err
	}
	return &fetched{key: key, info: info, path: p}, nil
}

// reason is a failure as shown next to the file's path: without the path
// repeated in it.
func reason(err error, path string) string {
	msg := err.Error()
	if path == "" {
		return msg
	}
	msg = strings.TrimPrefix(msg, "media: "+path+": ")
	return strings.ReplaceAll(msg, path, filepath.Base(path))
}
