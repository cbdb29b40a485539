package ai

import (
	"math"
	"sort"
)

// Tagging: each photo keeps its best labels from the built-in vocabulary
// (Labels), scored as CLIP zero-shot classification: the softmax over all
// labels of 100 × cosine similarity, as CLIP was trained.
const (
	maxTags      = 3
	tagThreshold = 0.10 // probability a label needs to be kept
	tagScale     = 100  // CLIP's logit scale
)

// LabelScore is a label and its probability for one photo.
type LabelScore struct {
	Label string
	Score float64
}

// TopLabels scores a photo's vector v against the vocabulary (names and
// their text vectors, in the same order) and returns its best labels, best
// first: at most 3, each with a probability of at least 0.10.
func TopLabels(v []float32, names []string, vecs [][]float32) []LabelScore {
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
	var out []LabelScore
	for i, l := range logits {
		if p := l / sum; p >= tagThreshold {
			out = append(out, LabelScore{Label: names[i], Score: p})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	if len(out) > maxTags {
		out = out[:maxTags]
	}
	return out
}

// GroupDuplicates joins pairs of near-identical photos transitively
// (union-find) into groups: each group sorted, the groups by their first id.
func GroupDuplicates(pairs [][2]string) [][]string {
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
	return groups
}
