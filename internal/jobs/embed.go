package jobs

import (
	"context"
	"errors"
	"io/fs"

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
	n, err := r.st.EnqueueMissingEmbeddings(ctx, e.Name(), job(KindEmbed, "", nil))
	if err != nil {
		r.log.Warn("jobs: enqueue embeddings", "err", err)
		return
	}
	if n > 0 {
		r.log.Info("jobs: photos to embed", "model", e.Name(), "photos", n)
	}
}

// embed runs a batch of embed jobs: one model call for the batch's
// previews (made at index time: no second decode of the originals), one
// transaction to save the vectors.
func (r *Runner) embed(ctx context.Context, js []storage.Job) {
	e := r.opts.Embedder
	var (
		todo  []storage.Job
		files []string
	)
	for _, j := range js {
		if e == nil {
			r.finish(ctx, j, nil, errors.New("no model configured in this process"))
			continue
		}
		p, done, err := r.store.Local(ctx, j.Key, thumbs.Preview)
		if errors.Is(err, fs.ErrNotExist) {
			r.finish(ctx, j, nil, nil) // removed or failed since: nothing to embed
			continue
		}
		if err != nil {
			r.finish(ctx, j, nil, err) // the media store out of reach: retried
			continue
		}
		defer done()
		todo = append(todo, j)
		files = append(files, p)
	}
	if len(todo) == 0 {
		return
	}
	vecs, err := e.EmbedImages(ctx, files)
	if err == nil {
		es := make([]storage.Embedding, len(todo))
		for i, j := range todo {
			es[i] = storage.Embedding{PhotoID: j.Key, Vector: vecs[i]}
		}
		err = r.st.SaveEmbeddings(ctx, e.Name(), es)
		if err == nil {
			err = r.tag(ctx, es)
		}
		if err == nil {
			// Regroup near-duplicates once the queue's embeddings are done.
			err = r.st.Enqueue(ctx, job(KindDuplicates, e.Name(), nil))
		}
	}
	if ctx.Err() != nil {
		return
	}
	if err == nil && len(vecs) > 0 {
		r.indexOnce.Do(func() {
			if err := r.st.EnsureVectorIndex(ctx, len(vecs[0])); err != nil {
				r.log.Warn("jobs: vector index", "err", err)
			}
		})
	}
	for _, j := range todo {
		r.finish(ctx, j, nil, err)
	}
	if err == nil {
		r.count(func(p *Progress) { p.Embedded += len(todo) })
		r.met.embedded.Add(float64(len(todo)))
	}
}
