// Package toymodel writes CLIP-shaped ONNX model folders for tests and
// benchmarks: the same file layout, input/output names, shapes and dtypes as
// the Immich exports that internal/ai loads, with deterministic weights.
//
// Write makes a tiny model with a checkable meaning: an image embeds as its
// colour cast, and the words red/green/blue (and a few synonyms) embed along
// the same three axes, so a reddish photo is nearest to "a photo of something
// red". WriteViTB32 makes a model of ViT-B/32's size and structure with
// random weights, for speed and memory measurements.
package toymodel

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"shoebox/internal/ai"
	"shoebox/internal/ai/clipvocab"
)

// vocabSize is the size of CLIP's vocabulary (the ViT-B/32 token table).
const vocabSize = 49408

// OpenAI CLIP's normalisation, as in the real exports' preprocess_cfg.json.
var (
	clipMean = [3]float32{0.48145466, 0.4578275, 0.40821073}
	clipStd  = [3]float32{0.26862954, 0.26130258, 0.27577711}
)

// Words lists, for embedding dimension 0 (red), 1 (green) and 2 (blue), the
// words whose tokens the toy textual model maps onto that dimension.
var Words = [3][]string{
	{"red", "crimson", "scarlet"},
	{"green", "forest", "grass", "emerald"},
	{"blue", "sky", "ocean", "navy", "azure"},
}

// Options for Write. Zero values take the defaults.
type Options struct {
	Dim           int    // embedding size D (default 8; at least 3)
	ImageSize     int    // S of the visual input (default 32; real models: 224)
	ContextLength int    // L of the textual input (default 77)
	DynamicBatch  bool   // batch axis "batch_size" (older exports) instead of fixed 1
	TextInt64     bool   // textual input int64 instead of int32 (some exports)
	BPEPath       string // bpe_simple_vocab_16e6.txt.gz; empty: the copy built in (clipvocab)
}

func (o *Options) defaults() error {
	if o.Dim == 0 {
		o.Dim = 8
	}
	if o.ImageSize == 0 {
		o.ImageSize = 32
	}
	if o.ContextLength == 0 {
		o.ContextLength = 77
	}
	if o.Dim < 3 {
		return fmt.Errorf("toymodel: Dim %d < 3", o.Dim)
	}
	if o.ImageSize < 1 || o.ContextLength < 3 {
		return fmt.Errorf("toymodel: bad ImageSize %d / ContextLength %d", o.ImageSize, o.ContextLength)
	}
	return nil
}

func (o Options) batchDim() dim {
	if o.DynamicBatch {
		return dim{param: "batch_size"}
	}
	return fixed(1)
}

// Write writes the toy model folder into dir (created if needed):
//
//	config.json, visual/model.onnx, visual/preprocess_cfg.json,
//	textual/model.onnx and the tokenizer files of textual/ (written by
//	(*ai.Tokenizer).WriteFolder).
//
// Visual graph: image [B,3,S,S] float32 -> GlobalAveragePool -> [B,3] ->
// *std + mean (mean RGB in [0,1]) -> minus the mean of the three (the colour
// cast) -> MatMul W [3,D] (identity into dims 0,1,2; small values elsewhere)
// + a small bias in dims >= 3 -> L2 normalise -> embedding [B,D].
//
// Textual graph: text [B,L] int32 -> Cast int64 -> Gather from E [vocab,D] ->
// ReduceSum over L -> L2 normalise -> embedding [B,D]. E's rows for the
// tokens of Words[i] are the unit vector of dim i; every other row
// (<|startoftext|>, <|endoftext|>, padding included) is a small value in one
// dim >= 3.
func Write(dir string, opt Options) error {
	if err := opt.defaults(); err != nil {
		return err
	}
	var tok *ai.Tokenizer
	var err error
	if opt.BPEPath == "" {
		tok, err = ai.NewTokenizerFromBPEReader(clipvocab.Open(), clipvocab.Name, opt.ContextLength)
	} else {
		tok, err = ai.NewTokenizerFromBPE(opt.BPEPath, opt.ContextLength)
	}
	if err != nil {
		return fmt.Errorf("toymodel: tokenizer: %w", err)
	}
	if err := writeToyVisual(filepath.Join(dir, "visual", "model.onnx"), opt); err != nil {
		return err
	}
	table, err := toyTokenTable(tok, opt.Dim)
	if err != nil {
		return err
	}
	if err := writeToyTextual(filepath.Join(dir, "textual", "model.onnx"), opt, table, tok.VocabSize()); err != nil {
		return err
	}
	if err := tok.WriteFolder(filepath.Join(dir, "textual")); err != nil {
		return fmt.Errorf("toymodel: tokenizer files: %w", err)
	}
	return writeConfigs(dir, opt.Dim, opt.ImageSize, opt.ContextLength,
		map[string]any{"image_size": opt.ImageSize, "layers": 0, "width": 3, "patch_size": opt.ImageSize},
		map[string]any{"context_length": opt.ContextLength, "vocab_size": tok.VocabSize(), "width": opt.Dim, "heads": 1, "layers": 0})
}

func writeToyVisual(path string, opt Options) error {
	b := newBuilder("toy_visual")
	d := opt.Dim
	x := b.input("image", tFloat, opt.batchDim(), fixed(3), fixed(int64(opt.ImageSize)), fixed(int64(opt.ImageSize)))

	mean := b.floats("rgb_mean", clipMean[:], 3)
	std := b.floats("rgb_std", clipStd[:], 3)
	w := make([]float32, 3*d)
	r := rng(1)
	for c := 0; c < 3; c++ {
		for j := 0; j < d; j++ {
			switch {
			case j == c:
				w[c*d+j] = 1
			case j >= 3:
				w[c*d+j] = 0.05 * r.uniform()
			}
		}
	}
	bias := make([]float32, d)
	for j := 3; j < d; j++ {
		bias[j] = 0.02
	}
	wv := b.floats("w_visual", w, 3, int64(d))
	bv := b.floats("b_visual", bias, int64(d))

	y := b.op("GlobalAveragePool", []string{x})       // [B,3,1,1]
	y = b.op("Flatten", []string{y}, aInt("axis", 1)) // [B,3]
	y = b.op("Mul", []string{y, std})
	y = b.op("Add", []string{y, mean}) // mean RGB in [0,1]
	grey := b.op("ReduceMean", []string{y}, aInts("axes", 1), aInt("keepdims", 1))
	y = b.op("Sub", []string{y, grey}) // colour cast
	y = b.op("MatMul", []string{y, wv})
	y = b.op("Add", []string{y, bv})
	b.l2norm(y)
	b.rename("embedding")
	b.output("embedding", tFloat, opt.batchDim(), fixed(int64(d)))
	return b.write(path, "shoebox toy CLIP visual: colour cast of the image")
}

// toyTokenTable builds E [vocab, D].
func toyTokenTable(tok *ai.Tokenizer, d int) ([]float32, error) {
	vocab := tok.VocabSize()
	e := make([]float32, vocab*d)
	if d > 3 {
		for id := 0; id < vocab; id++ {
			h := uint64(id) * 0x9e3779b97f4a7c15
			e[id*d+3+id%(d-3)] = 0.01 * (1 + float32(h>>60)/16)
		}
	}
	for c, words := range Words {
		for _, w := range words {
			ids := wordTokens(tok, tok.Encode(w))
			if len(ids) == 0 {
				return nil, fmt.Errorf("toymodel: the tokenizer gives no tokens for %q", w)
			}
			for _, id := range ids {
				if id < 0 || int(id) >= vocab {
					return nil, fmt.Errorf("toymodel: token id %d of %q outside the vocabulary", id, w)
				}
				row := e[int(id)*d : int(id+1)*d]
				clear(row)
				row[c] = 1
			}
		}
	}
	return e, nil
}

// wordTokens returns the ids between <|startoftext|> and <|endoftext|>.
func wordTokens(tok *ai.Tokenizer, ids []int32) []int32 {
	var out []int32
	for i, id := range ids {
		if id == tok.EndID() {
			break
		}
		if i == 0 && id == tok.StartID() {
			continue
		}
		out = append(out, id)
	}
	return out
}

func writeToyTextual(path string, opt Options, table []float32, vocab int) error {
	b := newBuilder("toy_textual")
	d := opt.Dim
	dtype := tInt32
	if opt.TextInt64 {
		dtype = tInt64
	}
	x := b.input("text", dtype, opt.batchDim(), fixed(int64(opt.ContextLength)))
	e := b.floats("token_table", table, int64(vocab), int64(d))
	axes := b.ints("seq_axis", []int64{1}, 1)

	ids := x
	if !opt.TextInt64 {
		ids = b.op("Cast", []string{x}, aInt("to", int64(tInt64)))
	}
	y := b.op("Gather", []string{e, ids}, aInt("axis", 0))        // [B,L,D]
	y = b.op("ReduceSum", []string{y, axes}, aInt("keepdims", 0)) // [B,D]
	b.l2norm(y)
	b.rename("embedding")
	b.output("embedding", tFloat, opt.batchDim(), fixed(int64(d)))
	return b.write(path, "shoebox toy CLIP textual: sum of token vectors")
}

// writeConfigs writes config.json and visual/preprocess_cfg.json as Immich's
// export does.
func writeConfigs(dir string, embedDim, imageSize, contextLength int, vision, text map[string]any) error {
	vision["image_size"] = imageSize
	text["context_length"] = contextLength
	cfg := map[string]any{"embed_dim": embedDim, "vision_cfg": vision, "text_cfg": text}
	pre := map[string]any{
		"size":          imageSize,
		"mode":          "RGB",
		"mean":          clipMean,
		"std":           clipStd,
		"interpolation": "bicubic",
		"resize_mode":   "shortest",
		"fill_color":    0,
	}
	if err := writeJSON(filepath.Join(dir, "config.json"), cfg); err != nil {
		return err
	}
	return writeJSON(filepath.Join(dir, "visual", "preprocess_cfg.json"), pre)
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
