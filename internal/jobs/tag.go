package jobs

import (
	"context"
	"math"
	"sort"

	"shoebox/internal/ai"
	"shoebox/internal/storage"
)

// Tagging: each photo keeps its best labels from the built-in vocabulary
// (ai.Labels), scored as CLIP zero-shot classification: the softmax over all
// labels of 100 × cosine similarity, as CLIP was trained.
const (
	maxTags      = 3
	tagThreshold = 0.10 // probability a label needs to be kept
	tagScale     = 100  // CLIP's logit scale
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

// tagsFor scores one photo's vector against the vocabulary.
func tagsFor(v []float32, names []string, vecs [][]float32) []storage.Tag {
	logits := make([]float64, len(vecs))
	maxL := math.Inf(-1)
	for i, lv := range vecs {
		var dot float64
		for k := range v {
			if k < len(lv) {
				dot += float64(v[k]) * float64(lv[k])
			}
		}
		logits[i] = tagScale * dot
		maxL = math.Max(maxL, logits[i])
	}
	var sum float64
	for i := range logits {
		logits[i] = math.Exp(logits[i] - maxL)
		sum += logits[i]
	}
	var tags []storage.Tag
	for i, l := range logits {
		if p := l / sum; p >= tagThreshold {
			tags = append(tags, storage.Tag{Label: names[i], Score: p})
		}
	}
	sort.Slice(tags, func(i, j int) bool { return tags[i].Score > tags[j].Score })
	if len(tags) > maxTags {
		tags = tags[:maxTags]
	}
	return tags
}

// tag gives the photos just embedded their tags.
func (r *Runner) tag(ctx context.Context, es []storage.Embedding) error {
	names, vecs, err := r.labelVectors(ctx)
	if err != nil {
		return err
	}
	tags := make(map[string][]storage.Tag, len(es))
	for _, e := range es {
		tags[e.PhotoID] = tagsFor(e.Vector, names, vecs)
	}
	return r.st.SaveTags(ctx, r.opts.Embedder.Name(), tags)
}

// duplicates regroups photos whose embeddings are nearly identical: pairs
// closer than DuplicateDistance, joined transitively (union-find).
func (r *Runner) duplicates(ctx context.Context) error {
	e := r.opts.Embedder
	if e == nil {
		return nil
	}
	pairs, err := r.st.DuplicatePairs(ctx, e.Name(), r.opts.DuplicateDistance)
	if err != nil {
		return err
	}
	parent := map[string]string{}
	var find func(string) string
	find = func(x string) string {
		if p, ok := parent[x]; ok && p != x {
			parent[x] = find(p)
			return parent[x]
		}
		parent[x] = x
		return x
	}
	for _, p := range pairs {
		a, b := find(p[0]), find(p[1])
		if a != b {
			if b < a {
				a, b = b, a
			}
			parent[b] = a
		}
	}
	byRoot := map[string][]string{}
	for x := range parent {
		root := find(x)
		byRoot[root] = append(byRoot[root], x)
	}
	var groups [][]string
	for _, g := range byRoot {
		sort.Strings(g)
		groups = append(groups, g)
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i][0] < groups[j][0] })
	return r.st.ReplaceDuplicateGroups(ctx, e.Name(), groups)
}
