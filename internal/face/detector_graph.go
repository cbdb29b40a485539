package face

import "fmt"

// DetectorSize is the side of the square input of the SSD MobileNet v1 detector.
const DetectorSize = 512

// detectorAnchors is the number of anchor boxes (32²·3 + 16²·6 + 8²·6 + 4²·6 + 2²·6 + 1·6).
const detectorAnchors = 5118

// BuildDetectorONNX builds face-api's SSD MobileNet v1 face detector (the
// network part, up to the raw box encodings and class logits) as an ONNX
// model from the weights in ssd_mobilenetv1_model-weights_manifest.json,
// following src/ssdMobilenetv1 of @vladmandic/face-api. The box decoding,
// sigmoid and non-maximum suppression are done in Go (Detector.Detect),
// as face-api does them outside its graph too.
//
// Input "image": float32 [B, 512, 512, 3], RGB 0..255. Outputs "boxes":
// float32 [B, 5118, 4] (box encodings) and "classes": float32 [B, 5118, 3]
// (logits; index 1 is "face").
func BuildDetectorONNX(w map[string]Tensor) ([]byte, error) {
	d := newNetBuilder("ssd_mobilenetv1", w)
	x := d.input("image", -1, DetectorSize, DetectorSize, 3)
	x = d.op("Div", []string{x, d.floats("c127_5", []float32{127.5})})
	x = d.op("Sub", []string{x, d.floats("c1", []float32{1})})
	x = d.op("Transpose", []string{x}, aInts("perm", 0, 3, 1, 2))
	size := int64(DetectorSize)

	x, size = d.pointwise(x, size, "MobilenetV1/Conv2d_0_pointwise", 2)
	var conv11 string
	for i := 1; i <= 13; i++ {
		stride := int64(1)
		if i == 2 || i == 4 || i == 6 || i == 12 {
			stride = 2
		}
		x, size = d.depthwise(x, size, fmt.Sprintf("MobilenetV1/Conv2d_%d_depthwise", i), stride)
		x, size = d.pointwise(x, size, fmt.Sprintf("MobilenetV1/Conv2d_%d_pointwise", i), 1)
		if i == 11 {
			conv11 = x
		}
	}
	feats := x
	conv := make([]string, 8)
	c, s := feats, size
	for i := 0; i < 8; i++ {
		stride := int64(1 + i%2) // conv_1, conv_3, conv_5, conv_7 halve
		c, s = d.pointwise(c, s, fmt.Sprintf("Prediction/Conv2d_%d_pointwise", i), stride)
		conv[i] = c
	}
	sources := []string{conv11, feats, conv[1], conv[3], conv[5], conv[7]}
	var boxes, classes []string
	for i, src := range sources {
		b := d.convBias(src, fmt.Sprintf("Prediction/BoxPredictor_%d/BoxEncodingPredictor", i))
		cl := d.convBias(src, fmt.Sprintf("Prediction/BoxPredictor_%d/ClassPredictor", i))
		// back to NHWC, then reshape as face-api does: [B, -1, 4] and [B, -1, 3]
		b = d.op("Transpose", []string{b}, aInts("perm", 0, 2, 3, 1))
		boxes = append(boxes, d.op("Reshape", []string{b, d.ints("shape", 0, -1, 4)}))
		cl = d.op("Transpose", []string{cl}, aInts("perm", 0, 2, 3, 1))
		classes = append(classes, d.op("Reshape", []string{cl, d.ints("shape", 0, -1, 3)}))
	}
	if d.err != nil {
		return nil, d.err
	}
	d.op("Concat", boxes, aInt("axis", 1))
	d.rename("boxes")
	d.op("Concat", classes, aInt("axis", 1))
	d.rename("classes")
	d.output("boxes", -1, detectorAnchors, 4)
	d.output("classes", -1, detectorAnchors, 3)
	return d.marshal("face-api ssd_mobilenetv1_model (SSD MobileNet v1 face detector), built by shoebox internal/face")
}

// samePads returns TensorFlow's "same" padding (extra at the end) for one
// axis, and the output size.
func samePads(in, k, stride int64) (before, after, out int64) {
	out = (in + stride - 1) / stride
	total := max((out-1)*stride+k-in, 0)
	return total / 2, total - total/2, out
}

// pointwise is face-api's pointwiseConvLayer: conv2d "same" + bn offset,
// clipped to [0, 6].
func (d *netBuilder) pointwise(x string, size int64, prefix string, stride int64) (string, int64) {
	data, dims := d.filters(prefix + "/weights")
	off := d.get(prefix+"/convolution_bn_offset", 1)
	if d.err != nil {
		return x, size
	}
	k := dims[2]
	b, a, out := samePads(size, k, stride)
	x = d.op("Conv", []string{x, d.floats(prefix+"/w", data, dims...), d.floats(prefix+"/b", off.Data, dims[0])},
		aInts("kernel_shape", k, k), aInts("strides", stride, stride), aInts("pads", b, b, a, a))
	return d.relu6(x), out
}

// depthwise is face-api's depthwiseConvLayer: depthwise conv "same", batch
// norm (epsilon 0.0010000000474974513), clipped to [0, 6].
func (d *netBuilder) depthwise(x string, size int64, prefix string, stride int64) (string, int64) {
	f := d.get(prefix+"/depthwise_weights", 4)
	gamma := d.get(prefix+"/BatchNorm/gamma", 1)
	beta := d.get(prefix+"/BatchNorm/beta", 1)
	mean := d.get(prefix+"/BatchNorm/moving_mean", 1)
	variance := d.get(prefix+"/BatchNorm/moving_variance", 1)
	if d.err != nil {
		return x, size
	}
	if f.Shape[3] != 1 {
		d.err = fmt.Errorf("face: %s: channel multiplier %d", prefix, f.Shape[3])
		return x, size
	}
	data := depthwiseToONNX(f)
	k := int64(f.Shape[0])
	b, a, out := samePads(size, k, stride)
	C := int64(f.Shape[2])
	x = d.op("Conv", []string{x, d.floats(prefix+"/w", data, C, 1, k, k)},
		aInts("kernel_shape", k, k), aInts("strides", stride, stride), aInts("pads", b, b, a, a), aInt("group", C))
	x = d.op("BatchNormalization", []string{x,
		d.floats(prefix+"/gamma", gamma.Data, C), d.floats(prefix+"/beta", beta.Data, C),
		d.floats(prefix+"/mean", mean.Data, C), d.floats(prefix+"/var", variance.Data, C)},
		aFloat("epsilon", 0.0010000000474974513))
	return d.relu6(x), out
}

func (d *netBuilder) relu6(x string) string {
	return d.op("Clip", []string{x, d.floats("zero", []float32{0}), d.floats("six", []float32{6})})
}

// convBias is face-api's common convLayer: conv2d 1x1 "same" + bias.
func (d *netBuilder) convBias(x, prefix string) string {
	data, dims := d.filters(prefix + "/weights")
	bias := d.get(prefix+"/biases", 1)
	if d.err != nil {
		return x
	}
	if dims[2] != 1 || dims[3] != 1 {
		d.err = fmt.Errorf("face: %s: %dx%d kernel, want 1x1", prefix, dims[2], dims[3])
		return x
	}
	return d.op("Conv", []string{x, d.floats(prefix+"/w", data, dims...), d.floats(prefix+"/b", bias.Data, dims[0])},
		aInts("kernel_shape", 1, 1))
}
