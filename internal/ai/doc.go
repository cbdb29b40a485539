// Package ai runs CLIP models in-process so photos can be found by what they
// show: a text query and every photo are embedded into the same vector space
// and compared by cosine similarity (pgvector in the database).
//
// Models are folders in Immich's Hugging Face layout (for example
// immich-app/ViT-B-32__openai): config.json, visual/ (model.onnx,
// preprocess_cfg.json) and textual/ (model.onnx and the tokenizer files).
// LoadModelConfig reads the sizes and normalisation of such a folder; nothing
// about a particular model is hard-coded.
//
// The pieces, each written to match the Python reference (open_clip, OpenAI's
// simple_tokenizer.py) so that embeddings agree with it:
//
//   - Tokenizer: CLIP's byte-level BPE tokenizer (LoadTokenizer for a
//     textual/ folder, NewTokenizerFromBPE for OpenAI's
//     bpe_simple_vocab_16e6.txt.gz). Encode gives the fixed-length id
//     sequence the text model takes.
//   - Preprocess: resize (Pillow's bicubic, ported), centre crop and
//     normalise an image into the 3×S×S input the image model takes.
//   - ONNX Runtime sessions for the two encoders (onnx*.go).
//
// internal/ai/toymodel writes small random-weight model folders in the same
// layout, for tests that need a model without downloading one.
package ai
