package face

import (
	"context"
	"fmt"
	"math"

	ort "github.com/yalue/onnxruntime_go"
)

// LandmarkSize is the side of the square input of the 68-point landmark net.
const LandmarkSize = 112

// Point is a position in pixels.
type Point struct{ X, Y float64 }

// BuildLandmarksONNX builds face-api's 68-point landmark network
// (FaceLandmark68Net: four dense blocks of depthwise-separable convs, a 7x7
// average pool and a fully connected layer) from the weights in
// face_landmark_68_model-weights_manifest.json.
//
// Input "image": float32 [B, 112, 112, 3], RGB 0..255. Output "landmarks":
// float32 [B, 136], x0, y0, x1, y1, ... relative to the (square) input.
func BuildLandmarksONNX(w map[string]Tensor) ([]byte, error) {
	d := newNetBuilder("face_landmark_68", w)
	x := d.input("image", -1, LandmarkSize, LandmarkSize, 3)
	x = d.op("Sub", []string{x, d.floats("mean_rgb", recognitionMeanRGB, 1, 1, 1, 3)})
	x = d.op("Div", []string{x, d.floats("c255", []float32{255})})
	x = d.op("Transpose", []string{x}, aInts("perm", 0, 3, 1, 2))
	size := int64(LandmarkSize)
	for i := 0; i < 4; i++ {
		x, size = d.denseBlock4(x, size, fmt.Sprintf("dense%d", i), i == 0)
	}
	if size != 7 {
		return nil, fmt.Errorf("face: landmarks: feature map %dx%d, want 7x7", size, size)
	}
	x = d.op("AveragePool", []string{x}, aInts("kernel_shape", 7, 7), aInts("strides", 2, 2))
	x = d.op("Flatten", []string{x}, aInt("axis", 1))
	fw := d.get("fc/weights", 2)
	fb := d.get("fc/bias", 1)
	if d.err != nil {
		return nil, d.err
	}
	x = d.op("MatMul", []string{x, d.floats("fc_w", fw.Data, int64(fw.Shape[0]), int64(fw.Shape[1]))})
	d.op("Add", []string{x, d.floats("fc_b", fb.Data, int64(len(fb.Data)))})
	d.rename("landmarks")
	d.output("landmarks", -1, 136)
	if d.err != nil {
		return nil, d.err
	}
	return d.marshal("face-api face_landmark_68_model, built by shoebox internal/face")
}

// denseBlock4 is face-api's denseBlock4 (faceFeatureExtractor/denseBlock.ts),
// scaling down by 2.
func (d *netBuilder) denseBlock4(x string, size int64, prefix string, first bool) (string, int64) {
	var out1 string
	var osize int64
	if first {
		data, dims := d.filters(prefix + "/conv0/filters")
		bias := d.get(prefix+"/conv0/bias", 1)
		if d.err != nil {
			return x, size
		}
		b, a, out := samePads(size, dims[2], 2)
		out1 = d.op("Conv", []string{x, d.floats(prefix+"/conv0/w", data, dims...), d.floats(prefix+"/conv0/b", bias.Data, dims[0])},
			aInts("kernel_shape", dims[2], dims[3]), aInts("strides", 2, 2), aInts("pads", b, b, a, a))
		osize = out
	} else {
		out1, osize = d.separable(x, size, prefix+"/conv0", 2)
	}
	out1 = d.op("Relu", []string{out1})
	out2, _ := d.separable(out1, osize, prefix+"/conv1", 1)
	in3 := d.op("Relu", []string{d.op("Add", []string{out1, out2})})
	out3, _ := d.separable(in3, osize, prefix+"/conv2", 1)
	in4 := d.op("Relu", []string{d.op("Add", []string{out1, d.op("Add", []string{out2, out3})})})
	out4, _ := d.separable(in4, osize, prefix+"/conv3", 1)
	sum := d.op("Add", []string{out1, d.op("Add", []string{out2, d.op("Add", []string{out3, out4})})})
	return d.op("Relu", []string{sum}), osize
}

// separable is tf.separableConv2d ("same") + bias.
func (d *netBuilder) separable(x string, size int64, prefix string, stride int64) (string, int64) {
	dw := d.get(prefix+"/depthwise_filter", 4)
	pdata, pdims := d.filters(prefix + "/pointwise_filter")
	bias := d.get(prefix+"/bias", 1)
	if d.err != nil {
		return x, size
	}
	data := depthwiseToONNX(dw)
	k, C := int64(dw.Shape[0]), int64(dw.Shape[2])
	b, a, out := samePads(size, k, stride)
	x = d.op("Conv", []string{x, d.floats(prefix+"/dw", data, C, 1, k, k)},
		aInts("kernel_shape", k, k), aInts("strides", stride, stride), aInts("pads", b, b, a, a), aInt("group", C))
	x = d.op("Conv", []string{x, d.floats(prefix+"/pw", pdata, pdims...), d.floats(prefix+"/b", bias.Data, pdims[0])},
		aInts("kernel_shape", 1, 1))
	return x, out
}

// Landmarker finds 68 face landmarks with face-api's FaceLandmark68Net in
// ONNX Runtime. Safe for concurrent use (runs are serialised).
type Landmarker struct {
	sess *session
}

// NewLandmarker loads face_landmark_68_model from modelDir (DefaultModelDir()
// when empty), builds the ONNX graph and opens a session.
func NewLandmarker(modelDir string, threads int) (*Landmarker, error) {
	if modelDir == "" {
		if modelDir = DefaultModelDir(); modelDir == "" {
			return nil, ErrModelsNotFound
		}
	}
	w, err := LoadWeights(modelDir, "face_landmark_68_model")
	if err != nil {
		return nil, err
	}
	model, err := BuildLandmarksONNX(w)
	if err != nil {
		return nil, err
	}
	sess, err := newSession("landmarker", model, []string{"image"}, []string{"landmarks"}, threads)
	if err != nil {
		return nil, err
	}
	return &Landmarker{sess: sess}, nil
}

// Close releases the session.
func (l *Landmarker) Close() { l.sess.close() }

// Landmarks returns the 68 landmarks of the face in an RGB crop (3 bytes a
// pixel, width x height; typically a detection box), in the crop's pixels.
// As face-api does, the crop is padded to a square (centred) and resized to
// 112x112 first.
func (l *Landmarker) Landmarks(ctx context.Context, rgb []byte, width, height int) ([68]Point, error) {
	var pts [68]Point
	if width <= 0 || height <= 0 || len(rgb) != width*height*3 {
		return pts, fmt.Errorf("face: landmarks: %d bytes for %dx%d RGB", len(rgb), width, height)
	}
	in := squareResize(rgb, width, height, LandmarkSize, true)
	if err := ctx.Err(); err != nil {
		return pts, err
	}
	inT, err := ort.NewTensor(ort.NewShape(1, LandmarkSize, LandmarkSize, 3), in)
	if err != nil {
		return pts, fmt.Errorf("face: input tensor: %w", err)
	}
	defer inT.Destroy()
	outT, err := ort.NewEmptyTensor[float32](ort.NewShape(1, 136))
	if err != nil {
		return pts, fmt.Errorf("face: output tensor: %w", err)
	}
	defer outT.Destroy()
	if err := l.sess.run([]ort.Value{inT}, []ort.Value{outT}); err != nil {
		return pts, err
	}
	// face-api's FaceLandmark68NetBase.postProcess, then FaceLandmarks68
	// scales the relative positions by the crop's size.
	out := outT.GetData()
	scale := float64(LandmarkSize) / float64(max(width, height))
	iw, ih := float64(width)*scale, float64(height)*scale
	var padX, padY float64
	if iw < ih {
		padX = math.Abs(iw-ih) / 2
	}
	if ih < iw {
		padY = math.Abs(iw-ih) / 2
	}
	// (float32 arithmetic, as face-api's tensors).
	for i := range pts {
		rx := (out[2*i]*LandmarkSize - float32(padX)) / float32(iw)
		ry := (out[2*i+1]*LandmarkSize - float32(padY)) / float32(ih)
		pts[i] = Point{X: float64(rx) * float64(width), Y: float64(ry) * float64(height)}
	}
	return pts, nil
}
