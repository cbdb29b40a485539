package jobs

import (
	"context"
	"errors"
	"io/fs"
	"time"

	"github.com/riverqueue/river"

	"shoebox/internal/storage"
	"shoebox/internal/thumbs"
)

// prepareEmbeddings makes sure the vector index exists for the model's
// dimension and that every indexed photo without a vector from this model
// has a job: after a model is installed or changed, the library is
// (re-)embedded in the background.
func (r *Runner) prepareEmbeddings(ctx context.Context) {
	e := r.opts.Embedder
	if e == nil {
		return
	}
	if d := e.Dim(); d > 0 {
		if err := r.st.EnsureVectorIndex(ctx, d); err != nil {
			r.log.Warn("jobs: vector index", "err", err)
		}
	}
	ids, err := r.st.MissingEmbeddings(ctx, e.Name())
	if err != nil {
		r.log.Warn("jobs: enqueue embeddings", "err", err)
		return
	}
	for rest := ids; len(rest) > 0; {
		n := min(len(rest), 1000)
		jobs := make([]river.JobArgs, n)
		for i, id := range rest[:n] {
			jobs[i] = EmbedJob(id)
		}
		if err := r.st.Enqueue(ctx, jobs...); err != nil {
			r.log.Warn("jobs: enqueue embeddings", "err", err)
			return
		}
		rest = rest[n:]
	}
	if len(ids) > 0 {
		r.log.Info("jobs: photos to embed", "model", e.Name(), "photos", len(ids))
	}
}

// embedJob embeds photo id and, in the same model call, up to
// embedBatch-1 photos whose embed jobs are waiting: it takes their jobs
// over (running, on this process's heartbeat), and completes them with
// its own, or hands them back if it fails. A photo embedded since its job
// was queued is not embedded again.
func (r *Runner) embedJob(ctx context.Context, id string) error {
	e := r.opts.Embedder
	if done, err := r.st.HasEmbedding(ctx, e.Name(), id); err != nil {
		return err
	} else if done {
		return nil
	}
	taken, err := r.st.TakeJobs(ctx, KindEmbed, r.id, embedBatch-1)
	if err != nil {
		r.log.Warn("jobs: take embed jobs for a batch", "err", err)
		taken = nil
	}
	ids := []string{id}
	tids := make([]int64, len(taken))
	for i, t := range taken {
		tids[i] = t.ID
		if t.Key != id {
			ids = append(ids, t.Key)
		}
	}
	err = r.embed(ctx, ids)
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if ferr := r.st.FinishTakenJobs(fctx, tids, err == nil && ctx.Err() == nil); ferr != nil {
		r.log.Warn("jobs: finish embed batch", "err", ferr) // rescued as a dead worker's would be
	}
	return err
}

// embed embeds a batch of photos: one model call for the batch's
// previews (made at index time: no second decode of the originals), one
// transaction to save the vectors. A photo without a preview (removed or
// failed since) has nothing to embed.
func (r *Runner) embed(ctx context.Context, ids []string) error {
	e := r.opts.Embedder
	var (
		todo  []string
		files []string
	)
	for _, id := range ids {
		p, done, err := r.store.Local(ctx, id, thumbs.Preview)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed or failed since: nothing to embed
		}
		if err != nil {
			return err // the media store out of reach: retried
		}
		defer done()
		todo = append(todo, id)
		files = append(files, p)
	}
	if len(todo) == 0 {
		return nil
	}
	vecs, err := e.EmbedImages(ctx, files)
	if err != nil {
		return err
	}
	es := make([]storage.Embedding, len(todo))
	for i, id := range todo {
		es[i] = storage.Embedding{PhotoID: id, Vector: vecs[i]}
	}
	if err := r.st.SaveEmbeddings(ctx, e.Name(), es); err != nil {
		return err
	}
	if err := r.tag(ctx, es); err != nil {
		return err
	}
	// Regroup near-duplicates once the queue's embeddings are done.
	if err := r.st.Enqueue(ctx, DuplicatesArgs{Model: e.Name()}); err != nil {
		return err
	}
	if len(vecs) > 0 {
		r.indexOnce.Do(func() {
			if err := r.st.EnsureVectorIndex(ctx, len(vecs[0])); err != nil {
				r.log.Warn("jobs: vector index", "err", err)
			}
		})
	}
	r.count(func(p *Progress) { p.Embedded += len(todo) })
	r.met.embedded.Add(float64(len(todo)))
	return nil
}
