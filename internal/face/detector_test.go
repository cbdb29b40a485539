package face_test

// Equivalence of the ONNX SSD MobileNet v1 and tiny face detectors (plus the
// Go post-processing) with face-api's locateFaces in Node, on
// face-api's demo photos (full size, not square: padding and resizing are
// part of what is compared). The reference runs on TensorFlow.js's wasm
// backend; SHOEBOX_FACE_REFERENCE_CPU=1 adds the pure-JS cpu backend (same
// result, measured, but about a minute and a half on 2 cores).

import (
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"testing"

	"shoebox/internal/face"
)

// Tolerances of the detector equivalence (measured: see README "Faces").
const (
	maxBoxPixels = 0.01   // any box edge, in pixels of the original photo
	maxScoreDiff = 1e-5   // detection confidence
	minIoU       = 0.9999 // each box with its reference box
)

type refDetection struct {
	Score, X, Y, W, H float64
}

func decodeRGB(t testing.TB, path string) ([]byte, int, int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b := img.Bounds()
	rgba := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			rgba.Set(x, y, img.At(b.Min.X+x, b.Min.Y+y))
		}
	}
	rgb := make([]byte, 0, b.Dx()*b.Dy()*3)
	for i := 0; i < len(rgba.Pix); i += 4 {
		rgb = append(rgb, rgba.Pix[i], rgba.Pix[i+1], rgba.Pix[i+2])
	}
	return rgb, b.Dx(), b.Dy()
}

func boxIoU(a face.Box, b refDetection) float64 {
	ix := math.Max(0, math.Min(a.X+a.W, b.X+b.W)-math.Max(a.X, b.X))
	iy := math.Max(0, math.Min(a.Y+a.H, b.Y+b.H)-math.Max(a.Y, b.Y))
	inter := ix * iy
	return inter / (a.W*a.H + b.W*b.H - inter)
}

func TestDetectorMatchesReference(t *testing.T) {
	dir := modelDir(t)
	det, err := face.NewDetector(dir, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer det.Close()
	detectorMatches(t, dir, "detect", func(rgb []byte, w, h int) ([]face.Detection, error) {
		return det.Detect(context.Background(), rgb, w, h, face.DetectOptions{})
	})
}

func TestTinyDetectorMatchesReference(t *testing.T) {
	dir := modelDir(t)
	det, err := face.NewTinyDetector(dir, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer det.Close()
	detectorMatches(t, dir, "tiny", func(rgb []byte, w, h int) ([]face.Detection, error) {
		return det.Detect(context.Background(), rgb, w, h, 0)
	})
}

// detectorMatches runs detect and the reference command cmd on face-api's
// demo photos and compares the detections.
func detectorMatches(t *testing.T, dir, cmd string, detect func(rgb []byte, w, h int) ([]face.Detection, error)) {
	t.Helper()
	paths := demoPhotos(t, dir)
	tmp := t.TempDir()
	var args []string
	var got [][]face.Detection
	total := 0
	for i, p := range paths {
		rgb, w, h := decodeRGB(t, p)
		f := filepath.Join(tmp, fmt.Sprintf("img%d.rgb", i))
		if err := os.WriteFile(f, rgb, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, fmt.Sprintf("%dx%d:%s", w, h, f))
		d, err := detect(rgb, w, h)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, d)
		total += len(d)
	}
	// The demo photos are photos of people: faces must be found.
	if total < len(paths) {
		t.Errorf("%d faces in %d demo photos", total, len(paths))
	}

	backends := []string{"wasm"}
	if os.Getenv("SHOEBOX_FACE_REFERENCE_CPU") == "1" {
		backends = append(backends, "cpu")
	}
	for _, backend := range backends {
		var ref struct {
			Backend    string           `json:"backend"`
			TFJS       string           `json:"tfjs"`
			Detections [][]refDetection `json:"detections"`
		}
		node(t, dir, backend, cmd, args, &ref)
		if len(ref.Detections) != len(paths) {
			t.Fatalf("node reference: %d results for %d photos", len(ref.Detections), len(paths))
		}
		worstPx, worstScore, worstIoU, n := 0.0, 0.0, 1.0, 0
		for i := range paths {
			g, r := got[i], ref.Detections[i]
			if len(g) != len(r) {
				t.Errorf("%s (%s): %d faces, face-api finds %d", filepath.Base(paths[i]), backend, len(g), len(r))
				continue
			}
			for k := range g {
				b := g[k].Box
				px := math.Max(math.Max(math.Abs(b.X-r[k].X), math.Abs(b.Y-r[k].Y)),
					math.Max(math.Abs(b.X+b.W-r[k].X-r[k].W), math.Abs(b.Y+b.H-r[k].Y-r[k].H)))
				sd := math.Abs(g[k].Score - r[k].Score)
				iou := boxIoU(b, r[k])
				worstPx, worstScore, worstIoU = max(worstPx, px), max(worstScore, sd), min(worstIoU, iou)
				n++
				if px > maxBoxPixels || sd > maxScoreDiff || iou < minIoU {
					t.Errorf("%s (%s) face %d: %+v score %.6f vs face-api %+v: edge diff %.3g px, score diff %.3g, IoU %.6f",
						filepath.Base(paths[i]), backend, k, b, g[k].Score, r[k], px, sd, iou)
				}
			}
		}
		t.Logf("%s: face-api %s backend (tfjs %s) vs ONNX Runtime, %d faces in %d photos: max edge diff %.3g px, max score diff %.3g, min IoU %.6f",
			cmd, ref.Backend, ref.TFJS, n, len(paths), worstPx, worstScore, worstIoU)
	}
}
