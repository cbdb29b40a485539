// Command mktoy writes the toy CLIP model (and, with -photos, a library of
// predominantly red, green, blue and grey photos it can tell apart) for
// end-to-end tests and demos: go run ./internal/ai/toymodel/mktoy -model DIR [-photos DIR].
package main

import (
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"

	"shoebox/internal/ai/toymodel"
)

func main() {
	model := flag.String("model", "", "folder to write the toy model into")
	photos := flag.String("photos", "", "folder to write colour photos into (optional)")
	bpe := flag.String("bpe", os.Getenv("SHOEBOX_CLIP_BPE"), "OpenAI's bpe_simple_vocab_16e6.txt.gz")
	flag.Parse()
	if *model == "" || *bpe == "" {
		fmt.Fprintln(os.Stderr, "usage: mktoy -model DIR -bpe bpe_simple_vocab_16e6.txt.gz [-photos DIR]")
		os.Exit(2)
	}
	if err := toymodel.Write(*model, toymodel.Options{Dim: 8, ImageSize: 32, DynamicBatch: true, BPEPath: *bpe}); err != nil {
		fmt.Fprintln(os.Stderr, "mktoy:", err)
		os.Exit(1)
	}
	if *photos == "" {
		return
	}
	colours := []struct {
		name string
		c    color.RGBA
	}{{"a", color.RGBA{200, 30, 30, 255}}, {"b", color.RGBA{30, 170, 40, 255}}, {"c", color.RGBA{30, 50, 210, 255}}, {"d", color.RGBA{128, 128, 128, 255}}}
	if err := os.MkdirAll(*photos, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "mktoy:", err)
		os.Exit(1)
	}
	for _, c := range colours {
		for i := 0; i < 6; i++ {
			if err := writeJPEG(filepath.Join(*photos, fmt.Sprintf("img_%s%d.jpg", c.name, i)), c.c, i); err != nil {
				fmt.Fprintln(os.Stderr, "mktoy:", err)
				os.Exit(1)
			}
		}
	}
}

// writeJPEG writes a photo that is predominantly c, with a pattern that
// makes each file distinct.
func writeJPEG(path string, c color.RGBA, seed int) error {
	img := image.NewRGBA(image.Rect(0, 0, 240+seed*8, 180))
	for y := 0; y < img.Bounds().Dy(); y++ {
		for x := 0; x < img.Bounds().Dx(); x++ {
			d := uint8((x*7 + y*3 + seed*11) % 24)
			img.SetRGBA(x, y, color.RGBA{add(c.R, d), add(c.G, d), add(c.B, d), 255})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := jpeg.Encode(f, img, &jpeg.Options{Quality: 90}); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func add(v, d uint8) uint8 {
	if int(v)+int(d) > 255 {
		return 255
	}
	return v + d
}
