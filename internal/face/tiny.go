package face

import (
	"context"
	"fmt"
	"math"
	"sort"

	ort "github.com/yalue/onnxruntime_go"
)

// TinyInputSize is the input size face-api's TinyFaceDetectorOptions use by default.
const TinyInputSize = 416

// tinyAnchors and tinyMeanRGB are face-api's tinyFaceDetector/const.ts.
var (
	tinyAnchors = [5][2]float64{
		{1.603231, 2.094468}, {6.041143, 7.080126}, {2.882459, 3.518061},
		{4.266906, 5.178857}, {9.041765, 10.66308},
	}
	tinyMeanRGB = []float32{117.001, 114.697, 97.404}
)

const tinyIoUThreshold = 0.4

// BuildTinyDetectorONNX builds face-api's tiny face detector (a Tiny YOLO v2
// with depthwise-separable convs, tinyYolov2/TinyYolov2Base.runMobilenet)
// for a size x size input from tiny_face_detector_model's weights.
//
// Input "image": float32 [B, size, size, 3], RGB 0..255. Output "grid":
// float32 [B, size/32, size/32, 25] (5 anchors x [x, y, w, h, score], raw).
func BuildTinyDetectorONNX(w map[string]Tensor, size int) ([]byte, error) {
	if size <= 0 || size%32 != 0 {
		return nil, fmt.Errorf("face: tiny detector: input size %d is not a multiple of 32", size)
	}
	d := newNetBuilder("tiny_face_detector", w)
	x := d.input("image", -1, int64(size), int64(size), 3)
	x = d.op("Sub", []string{x, d.floats("mean_rgb", tinyMeanRGB, 1, 1, 1, 3)})
	x = d.op("Div", []string{x, d.floats("c255", []float32{255})})
	x = d.op("Transpose", []string{x}, aInts("perm", 0, 3, 1, 2))
	s := int64(size)

	// conv0: plain conv, "valid", + bias, leaky.
	data, dims := d.filters("conv0/filters")
	bias := d.get("conv0/bias", 1)
	if d.err != nil {
		return nil, d.err
	}
	x = d.op("Conv", []string{x, d.floats("conv0/w", data, dims...), d.floats("conv0/b", bias.Data, dims[0])},
		aInts("kernel_shape", dims[2], dims[3]))
	x = d.leaky(x)
	s = s - dims[2] + 1
	for i := 1; i <= 5; i++ {
		x, s = d.maxPoolSame(x, s, 2)
		// face-api pads by 1 with zeros and convolves "valid": for a 3x3
		// stride-1 conv that is "same".
		x, _ = d.separable(x, s, fmt.Sprintf("conv%d", i), 1)
		x = d.leaky(x)
	}
	x, _ = d.maxPoolSame(x, s, 1)
	x = d.convBiasNamed(x, "conv8/filters", "conv8/bias")
	d.op("Transpose", []string{x}, aInts("perm", 0, 2, 3, 1))
	d.rename("grid")
	cells := int64(size / 32)
	d.output("grid", -1, cells, cells, 25)
	if d.err != nil {
		return nil, d.err
	}
	return d.marshal("face-api tiny_face_detector_model, built by shoebox internal/face")
}

// leaky is face-api's leaky: m = x*0.1; relu(x - m) + m.
func (d *netBuilder) leaky(x string) string {
	m := d.op("Mul", []string{x, d.floats("c0_1", []float32{0.10000000149011612})})
	return d.op("Add", []string{d.op("Relu", []string{d.op("Sub", []string{x, m})}), m})
}

// maxPoolSame is tf.maxPool(x, 2, stride, "same").
func (d *netBuilder) maxPoolSame(x string, size, stride int64) (string, int64) {
	b, a, out := samePads(size, 2, stride)
	return d.op("MaxPool", []string{x}, aInts("kernel_shape", 2, 2), aInts("strides", stride, stride),
		aInts("pads", b, b, a, a)), out
}

// convBiasNamed is a 1x1 conv + bias from the named weights.
func (d *netBuilder) convBiasNamed(x, filters, biasName string) string {
	data, dims := d.filters(filters)
	bias := d.get(biasName, 1)
	if d.err != nil {
		return x
	}
	return d.op("Conv", []string{x, d.floats(filters, data, dims...), d.floats(biasName, bias.Data, dims[0])},
		aInts("kernel_shape", dims[2], dims[3]))
}

// TinyDetector finds faces with face-api's tiny face detector (input 416,
// score threshold 0.5 by default, NMS at IoU 0.4).
type TinyDetector struct {
	sess *session
	size int
}

// NewTinyDetector loads tiny_face_detector_model from modelDir
// (DefaultModelDir() when empty) for inputs of size x size (0: 416).
func NewTinyDetector(modelDir string, size, threads int) (*TinyDetector, error) {
	if size == 0 {
		size = TinyInputSize
	}
	if modelDir == "" {
		if modelDir = DefaultModelDir(); modelDir == "" {
			return nil, ErrModelsNotFound
		}
	}
	w, err := LoadWeights(modelDir, "tiny_face_detector_model")
	if err != nil {
		return nil, err
	}
	model, err := BuildTinyDetectorONNX(w, size)
	if err != nil {
		return nil, err
	}
	sess, err := newSession("tiny detector", model, []string{"image"}, []string{"grid"}, threads)
	if err != nil {
		return nil, err
	}
	return &TinyDetector{sess: sess, size: size}, nil
}

// Close releases the session.
func (t *TinyDetector) Close() { t.sess.close() }

// Detect finds the faces in an RGB image (3 bytes a pixel, width x height);
// scoreThreshold <= 0 means face-api's default 0.5. Boxes are not clipped to
// the image (face-api's tiny detector does not clip either).
func (t *TinyDetector) Detect(ctx context.Context, rgb []byte, width, height int, scoreThreshold float64) ([]Detection, error) {
	if width <= 0 || height <= 0 || len(rgb) != width*height*3 {
		return nil, fmt.Errorf("face: detect: %d bytes for %dx%d RGB", len(rgb), width, height)
	}
	if scoreThreshold <= 0 {
		scoreThreshold = 0.5
	}
	in := squareResize(rgb, width, height, t.size, false)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cells := t.size / 32
	inT, err := ort.NewTensor(ort.NewShape(1, int64(t.size), int64(t.size), 3), in)
	if err != nil {
		return nil, fmt.Errorf("face: input tensor: %w", err)
	}
	defer inT.Destroy()
	outT, err := ort.NewEmptyTensor[float32](ort.NewShape(1, int64(cells), int64(cells), 25))
	if err != nil {
		return nil, fmt.Errorf("face: output tensor: %w", err)
	}
	defer outT.Destroy()
	if err := t.sess.run([]ort.Value{inT}, []ort.Value{outT}); err != nil {
		return nil, err
	}
	grid := outT.GetData()

	// face-api's TinyYolov2Base.extractBoxes.
	scale := float64(t.size) / float64(max(width, height))
	rw, rh := math.Round(float64(width)*scale), math.Round(float64(height)*scale)
	side := math.Max(rw, rh)
	corrX, corrY := side/rw, side/rh
	sigmoid := func(v float32) float64 { return 1 / (1 + math.Exp(-float64(v))) }
	type cand struct {
		score          float64
		x0, y0, x1, y1 float64 // relative
	}
	var cs []cand
	n := float64(cells)
	for row := 0; row < cells; row++ {
		for col := 0; col < cells; col++ {
			for a := 0; a < 5; a++ {
				e := grid[((row*cells+col)*5+a)*5:]
				score := sigmoid(e[4])
				if score <= scoreThreshold {
					continue
				}
				cx := (float64(col) + sigmoid(e[0])) / n * corrX
				cy := (float64(row) + sigmoid(e[1])) / n * corrY
				w := math.Exp(float64(e[2])) * tinyAnchors[a][0] / n * corrX
				h := math.Exp(float64(e[3])) * tinyAnchors[a][1] / n * corrY
				x, y := cx-w/2, cy-h/2
				cs = append(cs, cand{score, x, y, x + w, y + h})
			}
		}
	}
	// face-api's ops/nonMaxSuppression: ascending by score, take from the end.
	idx := make([]int, len(cs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return cs[idx[a]].score < cs[idx[b]].score })
	sz := float64(t.size)
	iou := func(a, b cand) float64 {
		iw := math.Max(0, math.Min(a.x1*sz, b.x1*sz)-math.Max(a.x0*sz, b.x0*sz))
		ih := math.Max(0, math.Min(a.y1*sz, b.y1*sz)-math.Max(a.y0*sz, b.y0*sz))
		inter := iw * ih
		areaA := (a.x1*sz - a.x0*sz) * (a.y1*sz - a.y0*sz)
		areaB := (b.x1*sz - b.x0*sz) * (b.y1*sz - b.y0*sz)
		return inter / (areaA + areaB - inter)
	}
	var out []Detection
	for len(idx) > 0 {
		cur := idx[len(idx)-1]
		idx = idx[:len(idx)-1]
		c := cs[cur]
		out = append(out, Detection{Score: c.score, Box: Box{
			X: c.x0 * float64(width), Y: c.y0 * float64(height),
			W: (c.x1 - c.x0) * float64(width), H: (c.y1 - c.y0) * float64(height),
		}})
		rest := idx[:0]
		for _, j := range idx {
			if iou(c, cs[j]) <= tinyIoUThreshold {
				rest = append(rest, j)
			}
		}
		idx = rest
	}
	return out, nil
}
