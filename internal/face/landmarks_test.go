package face_test

// Equivalence of the ONNX 68-point landmark net (plus face-api's padding,
// resizing and post-processing, done in Go) with face-api's
// faceLandmark68Net.detectLandmarks in Node (TensorFlow.js wasm backend; cpu
// too with SHOEBOX_FACE_REFERENCE_CPU=1), on the faces the detector finds in
// face-api's demo photos.

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"shoebox/internal/face"
)

// maxLandmarkPixels is the tolerance of the landmark equivalence, in pixels
// of the face crop (measured: see README "Faces").
const maxLandmarkPixels = 0.01

// cropRGB cuts the box (rounded outwards, clipped) out of an RGB image.
func cropRGB(rgb []byte, w, h int, b face.Box) ([]byte, int, int) {
	x0, y0 := max(0, int(math.Floor(b.X))), max(0, int(math.Floor(b.Y)))
	x1, y1 := min(w, int(math.Ceil(b.X+b.W))), min(h, int(math.Ceil(b.Y+b.H)))
	out := make([]byte, 0, (x1-x0)*(y1-y0)*3)
	for y := y0; y < y1; y++ {
		out = append(out, rgb[(y*w+x0)*3:(y*w+x1)*3]...)
	}
	return out, x1 - x0, y1 - y0
}

func TestLandmarksMatchReference(t *testing.T) {
	dir := modelDir(t)
	paths := demoPhotos(t, dir)
	paths = paths[:3]
	det, err := face.NewDetector(dir, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer det.Close()
	lm, err := face.NewLandmarker(dir, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer lm.Close()

	tmp := t.TempDir()
	var args []string
	var got [][68]face.Point
	for i, p := range paths {
		rgb, w, h := decodeRGB(t, p)
		dets, err := det.Detect(context.Background(), rgb, w, h, face.DetectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for k, d := range dets {
			crop, cw, ch := cropRGB(rgb, w, h, d.Box)
			f := filepath.Join(tmp, fmt.Sprintf("face%d_%d.rgb", i, k))
			if err := os.WriteFile(f, crop, 0o644); err != nil {
				t.Fatal(err)
			}
			args = append(args, fmt.Sprintf("%dx%d:%s", cw, ch, f))
			pts, err := lm.Landmarks(context.Background(), crop, cw, ch)
			if err != nil {
				t.Fatal(err)
			}
			// The landmarks lie on the face: their centre is inside its crop
			// (single points may stick out where the box cuts the face).
			var cx, cy float64
			for _, p := range pts {
				cx, cy = cx+p.X/68, cy+p.Y/68
			}
			if cx < 0 || cx > float64(cw) || cy < 0 || cy > float64(ch) {
				t.Errorf("%s face %d: landmarks centred at (%.1f, %.1f), outside the %dx%d crop",
					filepath.Base(paths[i]), k, cx, cy, cw, ch)
			}
			got = append(got, pts)
		}
	}
	if len(got) < len(paths) {
		t.Fatalf("%d faces in %d demo photos", len(got), len(paths))
	}

	backends := []string{"wasm"}
	if os.Getenv("SHOEBOX_FACE_REFERENCE_CPU") == "1" {
		backends = append(backends, "cpu")
	}
	for _, backend := range backends {
		var ref struct {
			Backend   string         `json:"backend"`
			TFJS      string         `json:"tfjs"`
			Landmarks [][][2]float64 `json:"landmarks"`
		}
		node(t, dir, backend, "landmarks", args, &ref)
		if len(ref.Landmarks) != len(got) {
			t.Fatalf("node reference: %d results for %d faces", len(ref.Landmarks), len(got))
		}
		worst := 0.0
		for i := range got {
			if len(ref.Landmarks[i]) != 68 {
				t.Fatalf("node reference: face %d: %d landmarks", i, len(ref.Landmarks[i]))
			}
			for j, p := range got[i] {
				r := ref.Landmarks[i][j]
				d := math.Max(math.Abs(p.X-r[0]), math.Abs(p.Y-r[1]))
				worst = max(worst, d)
				if d > maxLandmarkPixels {
					t.Errorf("face %d landmark %d: %+v, face-api (%s) %v: %.3g px apart", i, j, p, ref.Backend, r, d)
				}
			}
		}
		t.Logf("face-api %s backend (tfjs %s) vs ONNX Runtime, %d faces x 68 landmarks: max diff %.3g px",
			ref.Backend, ref.TFJS, len(got), worst)
	}
}
