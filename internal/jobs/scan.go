package jobs

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/riverqueue/river"

	"shoebox/internal/library"
	"shoebox/internal/media"
	"shoebox/internal/objstore"
	"shoebox/internal/storage"
	"shoebox/internal/thumbs"
)

// ScanResult is what one scan found; it is kept as the job's result.
type ScanResult struct {
	Root      string `json:"root"`
	Seen      int    `json:"seen"`
	Unchanged int    `json:"unchanged"`
	Changed   int    `json:"changed"` // new or modified files, hashed
	New       int    `json:"new"`     // photos never seen before
	Removed   int    `json:"removed"`
	Failed    int    `json:"failed"` // unreadable files
	Reread    int    `json:"reread"` // unchanged photos queued to read their metadata again (a newer reader)
	Placed    int    `json:"placed"` // photos indexed before given their place (newer places data), files not read
}

const scanBatch = 64

// scan walks a library, hashes new and changed files, records them in
// batches (each enqueueing its new photos' processing in the same
// transaction), then forgets what is gone. Unchanged files (same size and
// modification time) are not read again, so a rescan is cheap.
func (r *Runner) scan(ctx context.Context, root string) (*ScanResult, error) {
	a := ScanArgs{Root: root}
	res := &ScanResult{Root: a.Root}
	src, err := library.Open(a.Root, r.bucket())
	if err != nil {
		return nil, err
	}
	libID, err := r.st.EnsureLibrary(ctx, a.Root)
	if err != nil {
		return nil, err
	}
	if err := r.deletePurged(ctx, libID, src); err != nil {
		return nil, err
	}
	known, err := r.st.LibraryFiles(ctx, libID)
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(known))
	// The first scan of a root in this process also checks the notes of
	// unchanged files (notes of an older Shoebox gain the file's identity).
	_, checked := r.notesChecked.LoadOrStore(a.Root, true)
	firstScan := !checked
	var batch []storage.ScannedFile
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		// The files, their new photos and the jobs that process them are
		// saved together: a crash never leaves a photo nobody will index.
		var newIDs []string
		err := r.st.Tx(ctx, func(tx *storage.Storage) error {
			var err error
			if newIDs, err = tx.SaveScanned(ctx, libID, batch); err != nil {
				return err
			}
			jobs := make([]river.JobArgs, len(newIDs))
			for i, id := range newIDs {
				jobs[i] = ProcessJob(id)
			}
			return tx.Enqueue(ctx, jobs...)
		})
		if err != nil {
			return err
		}
		res.New += len(newIDs)
		r.relinkSources(ctx, src, batch, newIDs)
		batch = batch[:0]
		return nil
	}
	err = src.Walk(ctx, library.WalkOptions{Skip: r.opts.Skip, StayInside: r.opts.StayInside}, func(e library.Entry) error {
		if e.RelPath == "" {
			return nil
		}
		res.Seen++
		r.count(func(p *Progress) { p.Scanned++ })
		r.met.scanned.Inc()
		seen[e.RelPath] = true
		k, ok := known[e.RelPath]
		if e.Err == nil && ok && !k.Failed && k.PhotoID != "" && k.Size == e.Size && k.MTime.Equal(e.MTime) {
			res.Unchanged++
			r.count(func(p *Progress) { p.Unchanged++ })
			r.met.unchanged.Inc()
			if firstScan {
				r.renote(ctx, k.PhotoID, src, e.RelPath, e.ETag)
			}
			return nil
		}
		f := storage.ScannedFile{RelPath: e.RelPath, Size: e.Size, MTime: e.MTime}
		if e.Err != nil {
			f.Error = e.Err.Error()
		} else if id, sum, err := src.Hash(ctx, e.RelPath); err != nil {
			f.Error = err.Error()
		} else {
			f.PhotoID, f.Hash = id, sum
		}
		if f.Error != "" {
			if f.MTime.IsZero() {
				f.MTime = time.Unix(0, 0).UTC()
			}
			res.Failed++
		} else {
			res.Changed++
		}
		batch = append(batch, f)
		if len(batch) >= scanBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", a.Root, err)
	}
	// Photos whose metadata an older reader extracted are read again
	// (their files are unchanged, so nothing above queued them).
	stale, err := r.st.StaleMeta(ctx, libID, media.MetaVersion)
	if err != nil {
		return nil, err
	}
	for len(stale) > 0 {
		n := min(len(stale), 1000)
		jobs := make([]river.JobArgs, n)
		for i, id := range stale[:n] {
			jobs[i] = ProcessJob(id)
		}
		if err := r.st.Enqueue(ctx, jobs...); err != nil {
			return nil, err
		}
		res.Reread += n
		stale = stale[n:]
	}
	// Located photos that older places data (or none) placed are placed
	// now, from their stored position.
	if res.Placed, err = r.placeLibrary(ctx, libID); err != nil {
		return nil, err
	}
	var gone []string
	for rel := range known {
		if !seen[rel] {
			gone = append(gone, rel)
		}
	}
	for len(gone) > 0 {
		n := min(len(gone), 1000)
		if err := r.st.RemoveFiles(ctx, libID, gone[:n]); err != nil {
			return nil, err
		}
		res.Removed += n
		gone = gone[n:]
	}
	var orphans []string
	err = r.st.Tx(ctx, func(tx *storage.Storage) error {
		var err error
		if orphans, err = tx.DeleteOrphanPhotos(ctx); err != nil || len(orphans) == 0 {
			return err
		}
		return tx.DeletePendingJobs(ctx, []string{KindProcess, KindEmbed}, orphans)
	})
	if err != nil {
		return nil, err
	}
	for _, id := range orphans {
		r.store.Remove(id)
	}
	r.log.Info("scan done", "root", a.Root, "seen", res.Seen, "unchanged", res.Unchanged,
		"changed", res.Changed, "new_photos", res.New, "removed", res.Removed, "failed", res.Failed,
		"reread", res.Reread, "placed", res.Placed)
	return res, nil
}

// deletePurged deletes the files of an upload library whose photos its
// owner emptied from the trash: uploads are the only files Shoebox ever
// deletes (PurgedUploads lists nothing for a folder library). The walk
// that follows no longer finds them, so their rows and orphaned photos go
// as for any file removed. An upload library on S3 loses the objects.
func (r *Runner) deletePurged(ctx context.Context, libID int, src library.Source) error {
	rels, err := r.st.PurgedUploads(ctx, libID)
	if err != nil {
		return err
	}
	for _, rel := range rels {
		if !filepath.IsLocal(filepath.FromSlash(rel)) {
			continue // never outside the library, whatever a row says
		}
		if err := src.Remove(ctx, rel); err != nil {
			return fmt.Errorf("delete purged upload: %w", err)
		}
		r.log.Info("purged upload deleted", "root", src.Root(), "file", rel)
	}
	return nil
}

// bucket is the media bucket, where upload libraries on S3 live; nil when
// media are in a folder.
func (r *Runner) bucket() objstore.Bucket {
	if c := r.store.Cache(); c != nil {
		return c.Bucket()
	}
	return nil
}

// relinkSources points the on-disk note of an already-indexed photo at a
// file just found to hold it when the note no longer names the file indexed
// (moved, replaced, or noted by an older Shoebox without the file's
// identity), so /original keeps working without a query.
func (r *Runner) relinkSources(ctx context.Context, src library.Source, batch []storage.ScannedFile, newIDs []string) {
	isNew := make(map[string]bool, len(newIDs))
	for _, id := range newIDs {
		isNew[id] = true
	}
	for _, f := range batch {
		if f.PhotoID != "" && !isNew[f.PhotoID] {
			r.renote(ctx, f.PhotoID, src, f.RelPath, "")
		}
	}
}

// renote notes rel of src as the original of photo id unless the note
// still names the file indexed. For an object, etag is the version listed
// ("": asked of the store if the note must change).
func (r *Runner) renote(ctx context.Context, id string, src library.Source, rel, etag string) {
	if obj, ok := src.(library.Objects); ok {
		r.renoteObject(ctx, id, obj, rel, etag)
		return
	}
	abs := filepath.Join(src.Root(), filepath.FromSlash(rel))
	f, o, err := r.store.OpenSource(ctx, id)
	if err == nil {
		f.Close()
		return
	}
	if !r.store.Has(id, thumbs.Thumb) {
		return // not processed yet: processing writes the note
	}
	// The same content (the id is its hash): a video stays as playable.
	if err := r.store.WriteSource(id, abs, o.Video); err != nil {
		r.log.Warn("relink original", "id", id, "err", err)
	}
}

// renoteObject is renote for an upload kept as an object: the note is
// compared with what the listing said, not opened.
func (r *Runner) renoteObject(ctx context.Context, id string, src library.Objects, rel, etag string) {
	key := src.Key(rel)
	o, err := r.store.ReadSource(id)
	if err == nil {
		if o.Object == key && etag != "" {
			if o.ETag == etag {
				return
			}
		} else if f, _, err := r.store.OpenSource(ctx, id); err == nil {
			f.Close() // the note names an original still as indexed
			return
		}
	}
	if !r.store.Has(id, thumbs.Thumb) {
		return
	}
	info, err := r.bucket().Stat(ctx, key)
	if err == nil {
		err = r.store.WriteSourceObject(id, src.B.URL(key), key, info, o.Video)
	}
	if err != nil {
		r.log.Warn("relink original", "id", id, "err", err)
	}
}
