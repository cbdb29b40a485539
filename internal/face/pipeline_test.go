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
	paths := demoPhotos(t, dir)
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

// BenchmarkPipeline runs the whole chain over face-api's demo photos
// (1920 pixels wide; detection works at 512x512 whatever the size) with
// two ONNX Runtime threads, and reports faces and photos a second.
func BenchmarkPipeline(b *testing.B) {
	dir := face.DefaultModelDir()
	paths, _ := filepath.Glob(filepath.Join(dir, "..", "demo", "sample*.jpg"))
	if dir == "" || len(paths) == 0 {
		b.Fatal(face.ErrModelsNotFound)
	}
	p, err := face.NewPipeline(dir, 2)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	type img struct {
		rgb  []byte
		w, h int
	}
	var imgs []img
	for _, path := range paths {
		rgb, w, h := decodeRGB(b, path)
		imgs = append(imgs, img{rgb, w, h})
	}
	faces := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, m := range imgs {
			f, err := p.Faces(context.Background(), m.rgb, m.w, m.h, face.DetectOptions{})
			if err != nil {
				b.Fatal(err)
			}
			faces += len(f)
		}
	}
	s := b.Elapsed().Seconds()
	b.ReportMetric(float64(faces)/s, "faces/s")
	b.ReportMetric(float64(b.N*len(imgs))/s, "photos/s")
}
