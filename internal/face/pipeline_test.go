package face_test

// The whole chain against face-api's
// detectAllFaces(img).withFaceLandmarks().withFaceDescriptors() in Node
// (TensorFlow.js wasm backend): boxes, landmarks (shifted into the image),
// the dlib-style aligned crop and its descriptor, on face-api's demo photos.

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"shoebox/internal/face"
)

func TestPipelineMatchesReference(t *testing.T) {
	dir := modelDir(t)
	paths, _ := filepath.Glob(filepath.Join(dir, "..", "demo", "sample*.jpg"))
	if len(paths) < 3 {
		t.Fatalf("face-api demo photos missing under %s/../demo (run scripts/setup.sh)", dir)
	}
	p, err := face.NewPipeline(dir, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	tmp := t.TempDir()
	var args []string
	var got [][]face.Face
	for i, path := range paths {
		rgb, w, h := decodeRGB(t, path)
		f := filepath.Join(tmp, fmt.Sprintf("img%d.rgb", i))
		if err := os.WriteFile(f, rgb, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, fmt.Sprintf("%dx%d:%s", w, h, f))
		faces, err := p.Faces(context.Background(), rgb, w, h, face.DetectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, faces)
	}

	var ref struct {
		Backend string `json:"backend"`
		TFJS    string `json:"tfjs"`
		Faces   [][]struct {
			Score, X, Y, W, H float64
			Landmarks         [][2]float64 `json:"landmarks"`
			Descriptor        []float64    `json:"descriptor"`
		} `json:"faces"`
	}
	node(t, dir, "wasm", "faces", args, &ref)
	if len(ref.Faces) != len(paths) {
		t.Fatalf("node reference: %d results for %d photos", len(ref.Faces), len(paths))
	}
	n, worstBox, worstLm, worstDesc, worstCos := 0, 0.0, 0.0, 0.0, 1.0
	for i := range paths {
		name := filepath.Base(paths[i])
		g, r := got[i], ref.Faces[i]
		if len(g) != len(r) {
			t.Errorf("%s: %d faces, face-api finds %d", name, len(g), len(r))
			continue
		}
		for k := range g {
			n++
			b := g[k].Box
			box := math.Max(math.Max(math.Abs(b.X-r[k].X), math.Abs(b.Y-r[k].Y)),
				math.Max(math.Abs(b.W-r[k].W), math.Abs(b.H-r[k].H)))
			lm := 0.0
			for j, pt := range g[k].Landmarks {
				lm = math.Max(lm, math.Max(math.Abs(pt.X-r[k].Landmarks[j][0]), math.Abs(pt.Y-r[k].Landmarks[j][1])))
			}
			d, c := compare(g[k].Descriptor, r[k].Descriptor)
			worstBox, worstLm = max(worstBox, box), max(worstLm, lm)
			worstDesc, worstCos = max(worstDesc, d), min(worstCos, c)
			if box > maxBoxPixels || lm > maxLandmarkPixels || d > maxAbsDiff || c < minCosine {
				t.Errorf("%s face %d: box %.3g px, landmarks %.3g px, descriptor max abs diff %.3g (cosine %.7f) from face-api",
					name, k, box, lm, d, c)
			}
		}
	}
	if n < len(paths) {
		t.Errorf("%d faces in %d demo photos", n, len(paths))
	}
	t.Logf("face-api %s backend (tfjs %s) vs Shoebox, %d faces in %d photos: box %.3g px, landmarks %.3g px, descriptor max abs diff %.3g, min cosine %.9f",
		ref.Backend, ref.TFJS, n, len(paths), worstBox, worstLm, worstDesc, worstCos)
}
