// Command mktoy writes the toy CLIP model (and, with -photos, a library of
// predominantly red, green, blue and grey photos it can tell apart) for
// end-to-end tests and demos: go run ./internal/ai/toymodel/mktoy -model DIR [-photos DIR].
package main

import (
	"flag"
	"fmt"
	"os"

	"shoebox/internal/ai/toymodel"
)

func main() {
	model := flag.String("model", "", "folder to write the toy model into")
	photos := flag.String("photos", "", "folder to write colour photos into (optional)")
	bpe := flag.String("bpe", "", "OpenAI's bpe_simple_vocab_16e6.txt.gz (default: the copy built in)")
	flag.Parse()
	if *model == "" {
		fmt.Fprintln(os.Stderr, "usage: mktoy -model DIR [-bpe bpe_simple_vocab_16e6.txt.gz] [-photos DIR]")
		os.Exit(2)
	}
	if err := toymodel.Write(*model, toymodel.Options{Dim: 8, ImageSize: 32, DynamicBatch: true, BPEPath: *bpe}); err != nil {
		fmt.Fprintln(os.Stderr, "mktoy:", err)
		os.Exit(1)
	}
	if *photos == "" {
		return
	}
	if _, err := toymodel.WritePhotos(*photos, 6); err != nil {
		fmt.Fprintln(os.Stderr, "mktoy:", err)
		os.Exit(1)
	}
}
