package face

import (
	"fmt"
)

// CropSize is the side of the square RGB crop the recognition network takes.
const CropSize = 150

// DescriptorDim is the length of a face descriptor.
const DescriptorDim = 128

// recognitionMeanRGB is face-api's per-channel mean (FaceRecognitionNet.ts):
// the input is (pixel - mean) / 255.
var recognitionMeanRGB = []float32{122.782, 117.001, 104.298}

// BuildRecognitionONNX builds face-api's face-recognition network (a
// ResNet-34 variant derived from dlib's) as an ONNX model from the weights in
// face_recognition_model-weights_manifest.json, following
// src/faceRecognitionNet of @vladmandic/face-api op for op.
//
// Input "image": float32 [B, 150, 150, 3], RGB values 0..255 (NHWC, as
// face-api's batch tensor). Output "descriptor": float32 [B, 128], not
// normalised (face-api returns it as is).
func BuildRecognitionONNX(w map[string]Tensor) ([]byte, error) {
	r := newNetBuilder("face_recognition", w)
	x := r.input("image", -1, CropSize, CropSize, 3)
	mean := r.floats("mean_rgb", recognitionMeanRGB, 1, 1, 1, 3)
	x = r.op("Sub", []string{x, mean})
	x = r.op("Div", []string{x, r.floats("c255", []float32{255})})
	x = r.op("Transpose", []string{x}, aInts("perm", 0, 3, 1, 2))
	size := int64(CropSize)

	x, size = r.convLayer(x, size, "conv32_down", 2, true, false)
	x = r.op("MaxPool", []string{x}, aInts("kernel_shape", 3, 3), aInts("strides", 2, 2))
	size = (size-3)/2 + 1

	type step struct {
		name string
		down bool
	}
	for _, s := range []step{
		{"conv32_1", false}, {"conv32_2", false}, {"conv32_3", false},
		{"conv64_down", true}, {"conv64_1", false}, {"conv64_2", false}, {"conv64_3", false},
		{"conv128_down", true}, {"conv128_1", false}, {"conv128_2", false},
		{"conv256_down", true}, {"conv256_1", false}, {"conv256_2", false},
		{"conv256_down_out", true},
	} {
		if s.down {
			x, size = r.residualDown(x, size, s.name)
		} else {
			x = r.residual(x, size, s.name)
		}
		if r.err != nil {
			return nil, r.err
		}
	}
	x = r.op("ReduceMean", []string{x}, aInts("axes", 2, 3), aInt("keepdims", 0))
	fc, ok := w["fc"]
	if !ok || len(fc.Shape) != 2 || fc.Shape[0] != 256 || fc.Shape[1] != DescriptorDim {
		return nil, fmt.Errorf("face: recognition weights: fc missing or not [256 %d]", DescriptorDim)
	}
	r.op("MatMul", []string{x, r.floats("fc", fc.Data, 256, DescriptorDim)})
	r.rename("descriptor")
	r.output("descriptor", -1, DescriptorDim)
	if r.err != nil {
		return nil, r.err
	}
	return r.marshal("face-api face_recognition_model (ResNet-34 from dlib), built by shoebox internal/face")
}

// convLayer is face-api's convLayer: conv2d + bias, then the scale layer
// (x*weights + biases), then an optional ReLU. "valid" padding when down
// (stride 2), else "same" (the filters are odd, so symmetric).
func (r *netBuilder) convLayer(x string, size int64, prefix string, stride int64, relu, same bool) (string, int64) {
	data, dims := r.filters(prefix + "/conv/filters")
	bias := r.get(prefix+"/conv/bias", 1)
	sw := r.get(prefix+"/scale/weights", 1)
	sb := r.get(prefix+"/scale/biases", 1)
	if r.err != nil {
		return x, size
	}
	k, co := dims[2], dims[0]
	pad := int64(0)
	if same {
		pad = (k - 1) / 2
	}
	x = r.op("Conv", []string{x, r.floats(prefix+"/filters", data, dims...), r.floats(prefix+"/bias", bias.Data, co)},
		aInts("kernel_shape", k, k), aInts("strides", stride, stride), aInts("pads", pad, pad, pad, pad))
	x = r.op("Mul", []string{x, r.floats(prefix+"/scale_w", sw.Data, 1, co, 1, 1)})
	x = r.op("Add", []string{x, r.floats(prefix+"/scale_b", sb.Data, 1, co, 1, 1)})
	if relu {
		x = r.op("Relu", []string{x})
	}
	if same {
		return x, size
	}
	return x, (size-k)/stride + 1
}

func (r *netBuilder) residual(x string, size int64, prefix string) string {
	out, _ := r.convLayer(x, size, prefix+"/conv1", 1, true, true)
	out, _ = r.convLayer(out, size, prefix+"/conv2", 1, false, true)
	out = r.op("Add", []string{out, x})
	return r.op("Relu", []string{out})
}

// residualDown is face-api's residualDown: the shortcut is a 2x2 average pool,
// zero-padded in channels when the block widens; when the strided "valid"
// conv comes out one smaller than the pool, the conv output gets a zero row
// and column at the end (bottom, right).
func (r *netBuilder) residualDown(x string, size int64, prefix string) (string, int64) {
	inC := r.get(prefix+"/conv1/conv/filters", 4)
	if r.err != nil {
		return x, size
	}
	cin, cout := int64(inC.Shape[2]), int64(inC.Shape[3])
	out, osize := r.convLayer(x, size, prefix+"/conv1", 2, true, false)
	out, _ = r.convLayer(out, osize, prefix+"/conv2", 1, false, true)
	pooled := r.op("AveragePool", []string{x}, aInts("kernel_shape", 2, 2), aInts("strides", 2, 2))
	psize := size / 2
	if psize != osize {
		if psize != osize+1 {
			r.err = fmt.Errorf("face: %s: pooled %d vs conv %d, face-api pads by exactly one", prefix, psize, osize)
			return x, size
		}
		out = r.op("Pad", []string{out, r.ints("pads", 0, 0, 0, 0, 0, 0, 1, 1)})
	}
	if cin != cout {
		if cout != 2*cin {
			r.err = fmt.Errorf("face: %s: %d -> %d channels, face-api doubles them", prefix, cin, cout)
			return x, size
		}
		pooled = r.op("Pad", []string{pooled, r.ints("pads", 0, 0, 0, 0, 0, cin, 0, 0)})
	}
	out = r.op("Add", []string{pooled, out})
	return r.op("Relu", []string{out}), psize
}
