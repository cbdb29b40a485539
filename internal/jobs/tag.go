package jobs

import (
	"context"

	"shoebox/internal/ai"
	"shoebox/internal/storage"
)

// labelVectors returns the vocabulary's embeddings for the model, computing
// and storing them once per model (a few hundred text encodings).
func (r *Runner) labelVectors(ctx context.Context) ([]string, [][]float32, error) {
	r.labelsMu.Lock()
	defer r.labelsMu.Unlock()
	if r.labelNames != nil {
		return r.labelNames, r.labelVecs, nil
	}
	e := r.opts.Embedder
	stored, err := r.st.LabelVectors(ctx, e.Name())
	if err != nil {
		return nil, nil, err
	}
	missing := map[string][]float32{}
	for _, l := range ai.Labels {
		if _, ok := stored[l.Name]; ok {
			continue
		}
		v, err := e.EmbedText(ctx, l.Prompt())
		if err != nil {
			return nil, nil, err
		}
		missing[l.Name] = v
	}
	if len(missing) > 0 {
		if err := r.st.SaveLabelVectors(ctx, e.Name(), missing); err != nil {
			return nil, nil, err
		}
		r.log.Info("jobs: tag vocabulary embedded", "model", e.Name(), "labels", len(missing))
	}
	for _, l := range ai.Labels {
		v := stored[l.Name]
		if v == nil {
			v = missing[l.Name]
		}
		r.labelNames = append(r.labelNames, l.Name)
		r.labelVecs = append(r.labelVecs, v)
	}
	return r.labelNames, r.labelVecs, nil
}

// tag gives the photos just embedded their tags.
func (r *Runner) tag(ctx context.Context, es []storage.Embedding) error {
	names, vecs, err := r.labelVectors(ctx)
	if err != nil {
		return err
	}
	tags := make(map[string][]storage.Tag, len(es))
	for _, e := range es {
		for _, l := range ai.TopLabels(e.Vector, names, vecs) {
			tags[e.PhotoID] = append(tags[e.PhotoID], storage.Tag{Label: l.Label, Score: l.Score})
		}
	}
	return r.st.SaveTags(ctx, r.opts.Embedder.Name(), tags)
}

// duplicates regroups photos whose embeddings are nearly identical: pairs
// closer than DuplicateDistance, joined transitively (ai.GroupDuplicates).
func (r *Runner) duplicates(ctx context.Context) error {
	e := r.opts.Embedder
	if e == nil {
		return nil
	}
	pairs, err := r.st.DuplicatePairs(ctx, e.Name(), r.opts.DuplicateDistance)
	if err != nil {
		return err
	}
	return r.st.ReplaceDuplicateGroups(ctx, e.Name(), ai.GroupDuplicates(pairs))
}
