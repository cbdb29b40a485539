package face

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	ort "github.com/yalue/onnxruntime_go"
)

// ErrModelsNotFound is returned (wrapped) when face-api's model folder is not
// where DefaultModelDir looks.
var ErrModelsNotFound = errors.New("face-api models not found: run scripts/setup.sh, " +
	"or set SHOEBOX_FACEAPI_MODELS to the package's model/ folder")

// modelRel is the model folder relative to a checkout or install root.
var modelRel = filepath.Join("third_party", "faceapi", "node_modules", "@vladmandic", "face-api", "model")

// DefaultModelDir returns face-api's model/ folder: $SHOEBOX_FACEAPI_MODELS
// (as is), else third_party/faceapi/... next to the executable's parent,
// else in the working directory or the enclosing checkout; "" if none.
func DefaultModelDir() string {
	if p := os.Getenv("SHOEBOX_FACEAPI_MODELS"); p != "" {
		return p
	}
	has := func(root string) string {
		d := filepath.Join(root, modelRel)
		if _, err := os.Stat(filepath.Join(d, "face_recognition_model-weights_manifest.json")); err == nil {
			return d
		}
		return ""
	}
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		if d := has(filepath.Join(filepath.Dir(exe), "..")); d != "" {
			return d
		}
	}
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; {
			if d := has(dir); d != "" {
				return d
			}
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return ""
}

// Recognizer computes face descriptors with face-api's recognition network
// in ONNX Runtime. Safe for concurrent use (runs are serialised).
type Recognizer struct {
	sess *session
}

// NewRecognizer loads the weights from modelDir (DefaultModelDir() when
// empty), builds the ONNX graph and opens a session with threads intra-op
// threads (<= 0: all cores). The ONNX Runtime library is loaded as
// ai.InitORT does.
func NewRecognizer(modelDir string, threads int) (*Recognizer, error) {
	if modelDir == "" {
		if modelDir = DefaultModelDir(); modelDir == "" {
			return nil, ErrModelsNotFound
		}
	}
	w, err := LoadWeights(modelDir, "face_recognition_model")
	if err != nil {
		return nil, err
	}
	model, err := BuildRecognitionONNX(w)
	if err != nil {
		return nil, err
	}
	sess, err := newSession("recognizer", model, []string{"image"}, []string{"descriptor"}, threads)
	if err != nil {
		return nil, err
	}
	return &Recognizer{sess: sess}, nil
}

// Close releases the session.
func (r *Recognizer) Close() { r.sess.close() }

// Describe returns the descriptor of the face in an RGB crop of any size (3
// bytes a pixel, width x height; typically a detection box): as face-api
// does, the crop is padded to a square (centred) and resized to 150x150
// (bilinear, TensorFlow's resize without half-pixel centres) first.
func (r *Recognizer) Describe(ctx context.Context, rgb []byte, width, height int) ([]float32, error) {
	if width <= 0 || height <= 0 || len(rgb) != width*height*3 {
		return nil, fmt.Errorf("face: describe: %d bytes for %dx%d RGB", len(rgb), width, height)
	}
	out, err := r.run(ctx, squareResize(rgb, width, height, CropSize, true), 1)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// Descriptors returns one 128-d descriptor per crop; each crop is a
// CropSize x CropSize RGB image, 3 bytes a pixel, row by row (what face-api
// gets from an aligned face box resized to 150x150).
func (r *Recognizer) Descriptors(ctx context.Context, crops [][]byte) ([][]float32, error) {
	if len(crops) == 0 {
		return nil, nil
	}
	const px = CropSize * CropSize * 3
	in := make([]float32, 0, len(crops)*px)
	for i, c := range crops {
		if len(c) != px {
			return nil, fmt.Errorf("face: crop %d: %d bytes, want %d", i, len(c), px)
		}
		for _, v := range c {
			in = append(in, float32(v))
		}
	}
	return r.run(ctx, in, len(crops))
}

// run runs the network on n float32 NHWC 150x150 RGB images.
func (r *Recognizer) run(ctx context.Context, in []float32, n int) ([][]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b := int64(n)
	inT, err := ort.NewTensor(ort.NewShape(b, CropSize, CropSize, 3), in)
	if err != nil {
		return nil, fmt.Errorf("face: input tensor: %w", err)
	}
	defer inT.Destroy()
	outT, err := ort.NewEmptyTensor[float32](ort.NewShape(b, DescriptorDim))
	if err != nil {
		return nil, fmt.Errorf("face: output tensor: %w", err)
	}
	defer outT.Destroy()
	if err := r.sess.run([]ort.Value{inT}, []ort.Value{outT}); err != nil {
		return nil, err
	}
	flat := outT.GetData()
	out := make([][]float32, n)
	for i := range out {
		out[i] = append([]float32(nil), flat[i*DescriptorDim:(i+1)*DescriptorDim]...)
	}
	return out, nil
}

// Distance is the Euclidean distance between two descriptors: face-api's
// euclideanDistance, and pgvector's <-> on the faces table. The same
// person is about 0.6 or nearer (face-api's threshold); people form
// within storage.FaceDistance.
func Distance(a, b []float32) float64 {
	var s float64
	for i := range a {
		d := float64(a[i] - b[i])
		s += d * d
	}
	return math.Sqrt(s)
}
