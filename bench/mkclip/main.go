// Command mkclip writes a ViT-B/32-sized CLIP model folder that Shoebox can
// load (SHOEBOX_CLIP_MODEL=DIR): the ONNX graphs with random weights from
// toymodel.WriteViTB32 (for speed and memory figures, not for meaning), and
// the tokenizer files in textual/ made from CLIP's BPE vocabulary.
//
//	go run ./bench/mkclip [-bpe bpe_simple_vocab_16e6.txt.gz] DIR
//
// What is already there is kept: the model is written only when
// DIR/visual/model.onnx or DIR/textual/model.onnx is missing, the tokenizer
// only when DIR/textual/tokenizer_config.json is. Files are written into a
// temporary sibling first and moved into place, so an interrupted run leaves
// no half-written model that a later run would take as complete.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"shoebox/internal/ai"
	"shoebox/internal/ai/clipvocab"
	"shoebox/internal/ai/toymodel"
)

const bpeName = "bpe_simple_vocab_16e6.txt.gz"

func main() {
	bpe := flag.String("bpe", os.Getenv("SHOEBOX_CLIP_BPE"), "CLIP's "+bpeName+" (env SHOEBOX_CLIP_BPE; default: the copy built in)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: mkclip [-bpe FILE] DIR\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *bpe); err != nil {
		fmt.Fprintf(os.Stderr, "mkclip: error: %v\n", err)
		os.Exit(1)
	}
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func run(dir, bpe string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if !exists(filepath.Join(dir, "visual", "model.onnx")) || !exists(filepath.Join(dir, "textual", "model.onnx")) {
		tmp := dir + ".tmp"
		os.RemoveAll(tmp)
		t0 := time.Now()
		if err := toymodel.WriteViTB32(tmp); err != nil {
			os.RemoveAll(tmp)
			return fmt.Errorf("write model: %w", err)
		}
		os.RemoveAll(dir)
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return err
		}
		if err := os.Rename(tmp, dir); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "mkclip: wrote ViT-B/32-sized model to %s in %s\n", dir, time.Since(t0).Round(time.Millisecond))
	}
	textual := filepath.Join(dir, "textual")
	if exists(filepath.Join(textual, "tokenizer_config.json")) {
		return nil
	}
	var tok *ai.Tokenizer
	if bpe == "" {
		bpe = "the built-in vocabulary"
		tok, err = ai.NewTokenizerFromBPEReader(clipvocab.Open(), clipvocab.Name, 77)
	} else {
		tok, err = ai.NewTokenizerFromBPE(bpe, 77)
	}
	if err != nil {
		return err
	}
	// Written beside, then moved in: tokenizer_config.json last, as the marker.
	tmp, err := os.MkdirTemp(dir, ".tok-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := tok.WriteFolder(tmp); err != nil {
		return err
	}
	ents, err := os.ReadDir(tmp)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.Name() == "tokenizer_config.json" {
			continue
		}
		if err := os.Rename(filepath.Join(tmp, e.Name()), filepath.Join(textual, e.Name())); err != nil {
			return err
		}
	}
	if err := os.Rename(filepath.Join(tmp, "tokenizer_config.json"), filepath.Join(textual, "tokenizer_config.json")); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "mkclip: wrote tokenizer files to %s (from %s)\n", textual, bpe)
	return nil
}
