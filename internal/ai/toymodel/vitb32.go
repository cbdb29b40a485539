package toymodel

import (
	"fmt"
	"math"
	"path/filepath"
)

// ViT-B/32 (OpenAI CLIP, open_clip "ViT-B-32") hyper-parameters.
const (
	vitImage  = 224
	vitPatch  = 32
	vitGrid   = vitImage / vitPatch // 7
	vitTokens = vitGrid*vitGrid + 1 // 49 patches + class token
	vitWidth  = 768
	vitHeads  = 12
	vitLayers = 12
	vitMLP    = 4 * vitWidth
	embedDim  = 512

	txtContext = 77
	txtWidth   = 512
	txtHeads   = 8
	txtLayers  = 12
	txtMLP     = 4 * txtWidth
)

// WriteViTB32 writes into dir a model folder of ViT-B/32's size and
// structure, with deterministic random weights: for measuring speed and
// memory, not for meaning. Both graphs take a fixed batch of 1, as current
// Immich exports do, and declare the same inputs/outputs as the real ones.
//
// Visual (~88M parameters, ~350 MB): Conv 3->768 kernel 32 stride 32 on
// 224x224, class token + position embeddings, pre-LN, 12 pre-LN transformer
// blocks (12-head self-attention, MLP 768->3072->768 with QuickGELU as in
// OpenAI's CLIP), LN on the class token, projection 768->512, L2 normalise.
//
// Textual (~63M parameters, ~250 MB): token embedding 49408x512 + position
// embeddings, 12 blocks of width 512 with 8 heads and a causal mask, final
// LN, the row at the <|endoftext|> position (argmax of the ids),
// projection 512->512, L2 normalise.
//
// textual/ gets no tokenizer files (there is no BPE vocabulary to hand
// here); feed it any ids below 49408.
func WriteViTB32(dir string) error {
	r := rng(32)
	if err := writeViTVisual(filepath.Join(dir, "visual", "model.onnx"), &r); err != nil {
		return err
	}
	if err := writeViTTextual(filepath.Join(dir, "textual", "model.onnx"), &r); err != nil {
		return err
	}
	return writeConfigs(dir, embedDim, vitImage, txtContext,
		map[string]any{"layers": vitLayers, "width": vitWidth, "patch_size": vitPatch},
		map[string]any{"vocab_size": vocabSize, "width": txtWidth, "heads": txtHeads, "layers": txtLayers})
}

// weight scale: uniform in [-a, a) has standard deviation 0.02 (CLIP's init).
const wScale = 0.02 * 1.7320508

func (b *builder) layerNorm(x, prefix string, width int) string {
	g := b.floats(prefix+".weight", constant(width, 1), int64(width))
	bb := b.floats(prefix+".bias", make([]float32, width), int64(width))
	return b.op("LayerNormalization", []string{x, g, bb}, aInt("axis", -1), aFloat("epsilon", 1e-5))
}

// linear: x @ W [in,out] (+ bias).
func (b *builder) linear(x, prefix string, in, out int, bias bool, r *rng) string {
	w := b.floats(prefix+".weight", r.fill(in*out, wScale), int64(in), int64(out))
	y := b.op("MatMul", []string{x, w})
	if bias {
		bv := b.floats(prefix+".bias", r.fill(out, wScale), int64(out))
		y = b.op("Add", []string{y, bv})
	}
	return y
}

// block appends one pre-LN residual attention block on x [B,T,W]; mask
// (optional) is added to the attention scores [B,H,T,T].
func (b *builder) block(x, prefix string, width, heads, mlp int, mask string, r *rng) string {
	hd := width / heads
	h := b.layerNorm(x, prefix+".ln_1", width)
	qkv := b.linear(h, prefix+".attn.in_proj", width, 3*width, true, r)
	split := b.ints(prefix+".attn.split", []int64{int64(width), int64(width), int64(width)}, 3)
	parts := b.opN("Split", []string{qkv, split}, 3, aInt("axis", 2))
	headShape := b.ints(prefix+".attn.head_shape", []int64{0, 0, int64(heads), int64(hd)}, 4)
	q := b.op("Reshape", []string{parts[0], headShape})
	k := b.op("Reshape", []string{parts[1], headShape})
	v := b.op("Reshape", []string{parts[2], headShape})
	q = b.op("Transpose", []string{q}, aInts("perm", 0, 2, 1, 3)) // [B,H,T,hd]
	k = b.op("Transpose", []string{k}, aInts("perm", 0, 2, 3, 1)) // [B,H,hd,T]
	v = b.op("Transpose", []string{v}, aInts("perm", 0, 2, 1, 3)) // [B,H,T,hd]
	scale := b.floats(prefix+".attn.scale", []float32{float32(1 / math.Sqrt(float64(hd)))})
	q = b.op("Mul", []string{q, scale})
	s := b.op("MatMul", []string{q, k}) // [B,H,T,T]
	if mask != "" {
		s = b.op("Add", []string{s, mask})
	}
	s = b.op("Softmax", []string{s}, aInt("axis", -1))
	a := b.op("MatMul", []string{s, v})                           // [B,H,T,hd]
	a = b.op("Transpose", []string{a}, aInts("perm", 0, 2, 1, 3)) // [B,T,H,hd]
	merge := b.ints(prefix+".attn.merge_shape", []int64{0, 0, int64(width)}, 3)
	a = b.op("Reshape", []string{a, merge})
	a = b.linear(a, prefix+".attn.out_proj", width, width, true, r)
	x = b.op("Add", []string{x, a})

	h = b.layerNorm(x, prefix+".ln_2", width)
	h = b.linear(h, prefix+".mlp.c_fc", width, mlp, true, r)
	k1702 := b.floats(prefix+".mlp.gelu_k", []float32{1.702})
	h = b.op("Mul", []string{h, b.op("Sigmoid", []string{b.op("Mul", []string{h, k1702})})}) // QuickGELU
	h = b.linear(h, prefix+".mlp.c_proj", mlp, width, true, r)
	return b.op("Add", []string{x, h})
}

func writeViTVisual(path string, r *rng) error {
	b := newBuilder("vit_b_32_visual")
	x := b.input("image", tFloat, fixed(1), fixed(3), fixed(vitImage), fixed(vitImage))

	conv := b.floats("conv1.weight", r.fill(vitWidth*3*vitPatch*vitPatch, wScale), vitWidth, 3, vitPatch, vitPatch)
	y := b.op("Conv", []string{x, conv}, aInts("kernel_shape", vitPatch, vitPatch), aInts("strides", vitPatch, vitPatch))
	y = b.op("Reshape", []string{y, b.ints("patch_shape", []int64{0, vitWidth, vitGrid * vitGrid}, 3)})
	y = b.op("Transpose", []string{y}, aInts("perm", 0, 2, 1)) // [B,49,768]

	// class token, expanded to the batch
	cls := b.floats("class_embedding", r.fill(vitWidth, wScale), 1, 1, vitWidth)
	batch := b.op("Slice", []string{b.op("Shape", []string{x}), b.ints("zero1", []int64{0}, 1), b.ints("one1", []int64{1}, 1)})
	clsShape := b.op("Concat", []string{batch, b.ints("cls_tail", []int64{1, vitWidth}, 2)}, aInt("axis", 0))
	cls = b.op("Expand", []string{cls, clsShape})
	y = b.op("Concat", []string{cls, y}, aInt("axis", 1)) // [B,50,768]
	pos := b.floats("positional_embedding", r.fill(vitTokens*vitWidth, wScale), vitTokens, vitWidth)
	y = b.op("Add", []string{y, pos})
	y = b.layerNorm(y, "ln_pre", vitWidth)
	for i := 0; i < vitLayers; i++ {
		y = b.block(y, fmt.Sprintf("transformer.resblocks.%d", i), vitWidth, vitHeads, vitMLP, "", r)
	}
	first := b.ints("class_index", []int64{0})              // scalar
	y = b.op("Gather", []string{y, first}, aInt("axis", 1)) // [B,768]
	y = b.layerNorm(y, "ln_post", vitWidth)
	y = b.linear(y, "proj", vitWidth, embedDim, false, r)
	b.l2norm(y)
	b.rename("embedding")
	b.output("embedding", tFloat, fixed(1), fixed(embedDim))
	return b.write(path, "shoebox ViT-B/32-shaped CLIP visual (random weights)")
}

func writeViTTextual(path string, r *rng) error {
	b := newBuilder("vit_b_32_textual")
	text := b.input("text", tInt32, fixed(1), fixed(txtContext))

	ids := b.op("Cast", []string{text}, aInt("to", int64(tInt64)))
	emb := b.floats("token_embedding.weight", r.fill(vocabSize*txtWidth, wScale), vocabSize, txtWidth)
	y := b.op("Gather", []string{emb, ids}, aInt("axis", 0)) // [B,77,512]
	pos := b.floats("positional_embedding", r.fill(txtContext*txtWidth, wScale), txtContext, txtWidth)
	y = b.op("Add", []string{y, pos})

	maskData := make([]float32, txtContext*txtContext)
	for i := 0; i < txtContext; i++ {
		for j := i + 1; j < txtContext; j++ {
			maskData[i*txtContext+j] = float32(math.Inf(-1))
		}
	}
	mask := b.floats("attn_mask", maskData, txtContext, txtContext)
	for i := 0; i < txtLayers; i++ {
		y = b.block(y, fmt.Sprintf("transformer.resblocks.%d", i), txtWidth, txtHeads, txtMLP, mask, r)
	}
	y = b.layerNorm(y, "ln_final", txtWidth)

	// y[arange(B), text.argmax(-1)] as a one-hot row times y.
	eot := b.op("ArgMax", []string{text}, aInt("axis", 1), aInt("keepdims", 0)) // [B] int64
	depth := b.ints("context_length", []int64{txtContext}, 1)
	onOff := b.floats("one_hot_values", []float32{0, 1}, 2)
	oh := b.op("OneHot", []string{eot, depth, onOff}, aInt("axis", -1))  // [B,77]
	oh = b.op("Unsqueeze", []string{oh, b.ints("axis1", []int64{1}, 1)}) // [B,1,77]
	y = b.op("MatMul", []string{oh, y})                                  // [B,1,512]
	y = b.op("Reshape", []string{y, b.ints("pooled_shape", []int64{0, txtWidth}, 2)})
	y = b.linear(y, "text_projection", txtWidth, embedDim, false, r)
	b.l2norm(y)
	b.rename("embedding")
	b.output("embedding", tFloat, fixed(1), fixed(embedDim))
	return b.write(path, "shoebox ViT-B/32-shaped CLIP textual (random weights)")
}
