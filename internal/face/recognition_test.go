package face_test

// Equivalence of the ONNX face-recognition network built here with
// @vladmandic/face-api itself: the same 150x150 crops of face-api's own demo
// photos go through face-api in Node (TensorFlow.js, pure-JS cpu backend;
// testdata/reference.mjs) and through ONNX Runtime, and the descriptors must
// agree. The tests fail (not skip) when face-api, its TensorFlow.js reference
// or ONNX Runtime is missing: run scripts/setup.sh --test.

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	xdraw "golang.org/x/image/draw"

	"shoebox/internal/face"
)

// Tolerances of the equivalence (measured: see README "Faces").
const (
	maxAbsDiff = 1e-5
	minCosine  = 0.999999
)

func modelDir(t *testing.T) string {
	t.Helper()
	d := face.DefaultModelDir()
	if d == "" {
		t.Fatalf("%v", face.ErrModelsNotFound)
	}
	return d
}

// demoPhotos are face-api's demo photos (sample*.jpg, at least 3) beside
// its models in dir.
func demoPhotos(t *testing.T, dir string) []string {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(dir, "..", "demo", "sample*.jpg"))
	if len(paths) < 3 {
		t.Fatalf("face-api demo photos missing under %s/../demo (run scripts/setup.sh)", dir)
	}
	return paths
}

// demoCrops returns centred square crops of face-api's demo photos, resized to
// 150x150 RGB.
func demoCrops(t *testing.T, dir string) ([]string, [][]byte) {
	t.Helper()
	paths := demoPhotos(t, dir)
	var crops [][]byte
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		img, err := jpeg.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		b := img.Bounds()
		s := min(b.Dx(), b.Dy())
		src := image.Rect(b.Min.X+(b.Dx()-s)/2, b.Min.Y+(b.Dy()-s)/2, 0, 0)
		src.Max = src.Min.Add(image.Pt(s, s))
		dst := image.NewRGBA(image.Rect(0, 0, face.CropSize, face.CropSize))
		xdraw.BiLinear.Scale(dst, dst.Bounds(), img, src, xdraw.Src, nil)
		rgb := make([]byte, 0, face.CropSize*face.CropSize*3)
		for i := 0; i < len(dst.Pix); i += 4 {
			rgb = append(rgb, dst.Pix[i], dst.Pix[i+1], dst.Pix[i+2])
		}
		crops = append(crops, rgb)
	}
	return paths, crops
}

type reference struct {
	Backend     string      `json:"backend"`
	TFJS        string      `json:"tfjs"`
	Descriptors [][]float64 `json:"descriptors"`
}

// node runs testdata/reference.mjs with args after the command and decodes
// its JSON output.
func node(t *testing.T, dir, backend, cmd string, args []string, out any) {
	t.Helper()
	all := append([]string{filepath.Join("testdata", "reference.mjs"),
		filepath.Clean(filepath.Join(dir, "..", "..", "..")), backend, cmd}, args...)
	raw, err := exec.Command("node", all...).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("node reference: %v\n%s\n(run scripts/setup.sh --test: it installs @tensorflow/tfjs)", err, ee.Stderr)
		}
		t.Fatalf("node reference: %v", err)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("node reference output: %v\n%s", err, raw)
	}
}

// runReference runs face-api's recognition net in Node on the crops.
func runReference(t *testing.T, dir, backend string, crops [][]byte) reference {
	t.Helper()
	tmp := t.TempDir()
	var args []string
	for i, c := range crops {
		p := filepath.Join(tmp, fmt.Sprintf("crop%d.rgb", i))
		if err := os.WriteFile(p, c, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, p)
	}
	var ref reference
	node(t, dir, backend, "recognize", args, &ref)
	if len(ref.Descriptors) != len(crops) {
		t.Fatalf("node reference: %d descriptors for %d crops", len(ref.Descriptors), len(crops))
	}
	return ref
}

func compare(a []float32, b []float64) (maxAbs, cos float64) {
	var dot, na, nb float64
	for i := range a {
		x, y := float64(a[i]), b[i]
		maxAbs = max(maxAbs, math.Abs(x-y))
		dot += x * y
		na += x * x
		nb += y * y
	}
	return maxAbs, dot / math.Sqrt(na*nb)
}

func TestLoadRecognitionWeights(t *testing.T) {
	w, err := face.LoadWeights(modelDir(t), "face_recognition_model")
	if err != nil {
		t.Fatal(err)
	}
	if len(w) != 117 {
		t.Errorf("%d weights, want 117", len(w))
	}
	f := w["conv32_down/conv/filters"]
	if fmt.Sprint(f.Shape) != "[7 7 3 32]" || len(f.Data) != 7*7*3*32 {
		t.Errorf("conv32_down/conv/filters: shape %v, %d values", f.Shape, len(f.Data))
	}
	// uint8-quantised: every value is min + q*scale for q in 0..255.
	const scale, lo = 0.0005260649557207145, -0.07101876902229645
	for i, v := range f.Data {
		q := (float64(v) - lo) / scale
		if q < -1e-3 || q > 255+1e-3 || math.Abs(q-math.Round(q)) > 1e-2 {
			t.Fatalf("conv32_down/conv/filters[%d] = %v is not min + q*scale", i, v)
		}
	}
	// Unquantised float32 entries come through as is (finite, not all zero).
	c := w["conv64_down/conv1/conv/filters"]
	nonzero := 0
	for _, v := range c.Data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("conv64_down/conv1/conv/filters holds %v", v)
		}
		if v != 0 {
			nonzero++
		}
	}
	if nonzero < len(c.Data)/2 {
		t.Errorf("conv64_down/conv1/conv/filters: only %d of %d values non-zero", nonzero, len(c.Data))
	}
}

func TestRecognitionMatchesReference(t *testing.T) {
	dir := modelDir(t)
	paths, crops := demoCrops(t, dir)
	rec, err := face.NewRecognizer(dir, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	got, err := rec.Descriptors(context.Background(), crops)
	if err != nil {
		t.Fatal(err)
	}
	// One at a time gives the same as the batch.
	one, err := rec.Descriptors(context.Background(), crops[:1])
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := compare(one[0], toF64(got[0])); d > 1e-5 {
		t.Errorf("batch of 1 vs batch of %d: max abs diff %g", len(crops), d)
	}

	for _, backend := range []string{"cpu", "wasm"} {
		ref := runReference(t, dir, backend, crops)
		worst, worstCos := 0.0, 1.0
		for i := range crops {
			d, c := compare(got[i], ref.Descriptors[i])
			worst, worstCos = max(worst, d), min(worstCos, c)
			if d > maxAbsDiff || c < minCosine {
				t.Errorf("%s (%s backend): max abs diff %g (limit %g), cosine %.7f (limit %g)",
					filepath.Base(paths[i]), backend, d, maxAbsDiff, c, minCosine)
			}
		}
		t.Logf("face-api %s backend (tfjs %s) vs ONNX Runtime, %d crops: max abs diff %.3g, min cosine %.9f",
			ref.Backend, ref.TFJS, len(crops), worst, worstCos)
	}

	// The descriptors tell photos apart: different photos are not near-identical.
	for i := 1; i < len(got); i++ {
		if _, c := compare(got[0], toF64(got[i])); c > 0.999 {
			t.Errorf("%s and %s: cosine %.5f, descriptors barely differ", paths[0], paths[i], c)
		}
	}
}

func toF64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// TestDescribeDetectedFacesMatchesReference runs the whole chain on real
// faces: the detector's boxes on face-api's demo photos are cut out and
// described (padding and resizing to 150x150 included) by Shoebox and by
// face-api.
func TestDescribeDetectedFacesMatchesReference(t *testing.T) {
	dir := modelDir(t)
	paths := demoPhotos(t, dir)
	paths = paths[:3]
	det, err := face.NewDetector(dir, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer det.Close()
	rec, err := face.NewRecognizer(dir, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()

	tmp := t.TempDir()
	var args []string
	var got [][]float32
	var photo []int // photo index of each face
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
			desc, err := rec.Describe(context.Background(), crop, cw, ch)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, desc)
			photo = append(photo, i)
		}
	}
	if len(got) < len(paths) {
		t.Fatalf("%d faces in %d demo photos", len(got), len(paths))
	}
	var ref reference
	node(t, dir, "wasm", "recognize", args, &ref)
	if len(ref.Descriptors) != len(got) {
		t.Fatalf("node reference: %d descriptors for %d faces", len(ref.Descriptors), len(got))
	}
	worst, worstCos := 0.0, 1.0
	for i := range got {
		d, c := compare(got[i], ref.Descriptors[i])
		worst, worstCos = max(worst, d), min(worstCos, c)
		if d > maxAbsDiff || c < minCosine {
			t.Errorf("face %d: max abs diff %g (limit %g), cosine %.7f (limit %g)", i, d, maxAbsDiff, c, minCosine)
		}
	}
	t.Logf("face-api %s backend (tfjs %s) vs ONNX Runtime, %d detected faces: max abs diff %.3g, min cosine %.9f",
		ref.Backend, ref.TFJS, len(got), worst, worstCos)
	// Two faces in one photo are two people: their descriptors are apart
	// (face-api's usual "same person" threshold is a distance of 0.6).
	pairs := 0
	for i := range got {
		for j := i + 1; j < len(got); j++ {
			if photo[i] != photo[j] {
				continue
			}
			pairs++
			if dist := face.Distance(got[i], got[j]); dist < 0.4 {
				t.Errorf("%s: faces %d and %d at distance %.3f", filepath.Base(paths[photo[i]]), i, j, dist)
			}
		}
	}
	if pairs == 0 {
		t.Errorf("no photo with two faces among %d", len(paths))
	}
}
