package jobs_test

// Bad input for faces, through the real process and faces jobs: hundreds
// of faces on one photo keep the highest-scoring 100; faces smaller than
// the minimum are skipped; a huge photo's faces are found on its preview
// (at most 1440 pixels a side), never on the original.

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/image/draw"

	"shoebox/internal/face"
	"shoebox/internal/thumbs"
)

// Bounds of the faces job (faces.go), as a photo's page sees them.
const (
	wantMaxFaces  = 100
	wantMinPixels = 20
	previewSide   = 1440
)

// tiled is n×n copies of crop of src, each side pixels, on grey with a
// margin of 40 pixels (no face touches the border).
func tiled(src image.Image, crop image.Rectangle, n, side int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, n*side+80, n*side+80))
	draw.Draw(img, img.Bounds(), &image.Uniform{color.Gray{Y: 128}}, image.Point{}, draw.Src)
	for i := range n {
		for j := range n {
			r := image.Rect(40+i*side, 40+j*side, 40+(i+1)*side, 40+(j+1)*side)
			draw.ApproxBiLinear.Scale(img, r, src, crop, draw.Src, nil)
		}
	}
	return img
}

func previewSize(t *testing.T, path string) (int, int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := jpeg.DecodeConfig(f)
	if err != nil {
		t.Fatalf("preview %s: %v", path, err)
	}
	return c.Width, c.Height
}

func TestFacesBoundedOnBadInput(t *testing.T) {
	dir := faceModels(t)
	sample := filepath.Join(dir, "..", "demo", "sample1.jpg")
	src := readJPEG(t, sample)
	e := setup(t)
	ctx := context.Background()
	p, err := face.NewPipeline(dir, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	// The largest face of sample1 (the woman in front), with a margin.
	rgb, w, h := rgbOf(src)
	found, err := p.Faces(ctx, rgb, w, h, face.DetectOptions{})
	if err != nil || len(found) == 0 {
		t.Fatalf("sample1: %d faces, %v", len(found), err)
	}
	b := found[0].Box
	for _, f := range found {
		if f.Box.W > b.W {
			b = f.Box
		}
	}
	m := b.W * 0.4
	crop := image.Rect(int(b.X-m), int(b.Y-m), int(b.X+b.W+m), int(b.Y+b.H+m))

	// many.jpg: 400 faces of 72 pixels (the preview scales them to 68);
	// tiny.jpg: 400 faces of 30 pixels (the detector's boxes on them are
	// under 20); huge.jpg: sample1 at 12000×8000 (96 megapixels: more
	// than the faces job decodes, so faces come from the preview only).
	writeJPEG(t, tiled(src, crop, 20, 72), filepath.Join(e.lib, "many.jpg"))
	writeJPEG(t, tiled(src, crop, 20, 30), filepath.Join(e.lib, "tiny.jpg"))
	if out, err := exec.Command("vips", "resize", sample, filepath.Join(e.lib, "huge.jpg"), "6.25").CombinedOutput(); err != nil {
		t.Fatalf("vips resize: %v %s", err, out)
	}
	e.runFaces(t, true)
	if n := e.count(t, `SELECT count(*) FROM photos WHERE state = 'ready' AND faces_version = 1`); n != 3 {
		t.Fatalf("%d of 3 photos ready and looked at for faces", n)
	}

	for _, c := range []struct {
		rel             string
		rawMin, keptMin int // what the detector finds on the preview; faces kept
		keptMax         int
		original        int // the original's width
	}{
		{"many.jpg", wantMaxFaces + 1, wantMaxFaces, wantMaxFaces, 20*72 + 80},
		{"tiny.jpg", 1, 0, 0, 20*30 + 80},
		{"huge.jpg", 1, 1, wantMaxFaces, 12000},
	} {
		t.Run(c.rel, func(t *testing.T) {
			id := e.photoOf(t, c.rel)
			if n := e.count(t, fmt.Sprintf(`SELECT width FROM photos WHERE id = '%s'`, id)); n != c.original {
				t.Fatalf("original %d pixels wide, want %d", n, c.original)
			}
			pw, ph := previewSize(t, e.store.Path(id, thumbs.Preview))
			if max(pw, ph) > previewSide {
				t.Fatalf("preview %d×%d: more than %d a side", pw, ph, previewSide)
			}
			// The detector's boxes on the preview, before the job's bounds.
			prgb, w, h := rgbOf(readJPEG(t, e.store.Path(id, thumbs.Preview)))
			raw, err := p.Detector.Detect(ctx, prgb, w, h, face.DetectOptions{MaxResults: 1000})
			if err != nil {
				t.Fatal(err)
			}
			small := 0
			for _, d := range raw {
				if d.Box.W < wantMinPixels || d.Box.H < wantMinPixels {
					small++
				}
			}
			got, err := e.st.PhotoFaces(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("preview %d×%d: the detector finds %d (%d under %d px), the job kept %d", pw, ph, len(raw), small, wantMinPixels, len(got))
			if len(raw) < c.rawMin {
				t.Fatalf("the detector finds %d on the preview, want at least %d: the test image does not test the bound", len(raw), c.rawMin)
			}
			if c.rel == "tiny.jpg" && small == 0 {
				t.Fatal("no face under the minimum on the preview: the test image does not test the bound")
			}
			if len(got) < c.keptMin || len(got) > c.keptMax {
				t.Errorf("%d faces kept, want %d to %d", len(got), c.keptMin, c.keptMax)
			}
			for _, f := range got {
				// Boxes are fractions of the upright image: in the
				// preview's pixels, none under the minimum.
				if fw, fh := float64(f.Box[2])*float64(pw), float64(f.Box[3])*float64(ph); fw < wantMinPixels-0.1 || fh < wantMinPixels-0.1 {
					t.Errorf("face %v: %.1f×%.1f preview pixels, under %d", f.Box, fw, fh, wantMinPixels)
				}
			}
			if c.rel == "huge.jpg" {
				// The faces are those of the pipeline on the preview.
				want, err := p.Faces(ctx, prgb, w, h, face.DetectOptions{MaxResults: wantMaxFaces, MinSize: wantMinPixels})
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(want) {
					t.Errorf("%d faces kept, the pipeline finds %d on the preview", len(got), len(want))
				}
			}
		})
	}
}
