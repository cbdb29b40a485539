package toymodel

import (
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
)

// PhotoColours are the colours of WritePhotos' library, by the key used in
// its file names: img_<key><n>.jpg.
var PhotoColours = map[string]color.RGBA{
	"a": {200, 30, 30, 255},   // red
	"b": {30, 170, 40, 255},   // green
	"c": {30, 50, 210, 255},   // blue
	"d": {128, 128, 128, 255}, // grey
}

// WritePhotos writes perColour distinct photos of each of PhotoColours into
// dir — what the toy model can tell apart — and returns each file's name
// with its colour key.
func WritePhotos(dir string, perColour int) (map[string]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for key, c := range PhotoColours {
		for i := 0; i < perColour; i++ {
			name := fmt.Sprintf("img_%s%d.jpg", key, i)
			if err := writeJPEG(filepath.Join(dir, name), c, i); err != nil {
				return nil, err
			}
			out[name] = key
		}
	}
	return out, nil
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
