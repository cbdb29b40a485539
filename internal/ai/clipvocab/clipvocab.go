// Package clipvocab carries OpenAI's CLIP byte-pair vocabulary,
// bpe_simple_vocab_16e6.txt.gz, inside the binary: the toy model, the
// benchmark model and the tokenizer tests build their tokenizer files from
// it, so nothing outside the repository is needed. The vocabulary is OpenAI's
// (MIT licence, LICENSE-openai-CLIP.txt beside it).
package clipvocab

import (
	"bytes"
	_ "embed"
	"io"
)

// Name is the vocabulary's file name in OpenAI's CLIP repository.
const Name = "bpe_simple_vocab_16e6.txt.gz"

//go:embed bpe_simple_vocab_16e6.txt.gz
var gz []byte

//go:embed LICENSE-openai-CLIP.txt
var License string

// Open returns the gzip-compressed vocabulary.
func Open() io.Reader { return bytes.NewReader(gz) }
