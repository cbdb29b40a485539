package face

// A small builder over the ONNX protobuf types (the same generated types the
// toy CLIP models in internal/ai/toymodel use).

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"
)

const (
	irVersion = 8  // read by every ONNX Runtime since 1.10
	opset     = 13 // Pad takes its pads as an input from 11 on

	tFloat = int32(onnx.TensorProto_FLOAT)
	tInt64 = int32(onnx.TensorProto_INT64)
)

type builder struct {
	g *onnx.GraphProto
	n int
}

func newBuilder(name string) *builder { return &builder{g: &onnx.GraphProto{Name: name}} }

func (b *builder) fresh(prefix string) string {
	b.n++
	return fmt.Sprintf("%s_%d", prefix, b.n)
}

// valueInfo declares a float tensor; a dim <= 0 is the symbolic batch axis.
func valueInfo(name string, dims ...int64) *onnx.ValueInfoProto {
	shape := &onnx.TensorShapeProto{}
	for _, d := range dims {
		sd := &onnx.TensorShapeProto_Dimension{}
		if d > 0 {
			sd.Value = &onnx.TensorShapeProto_Dimension_DimValue{DimValue: d}
		} else {
			sd.Value = &onnx.TensorShapeProto_Dimension_DimParam{DimParam: "batch"}
		}
		shape.Dim = append(shape.Dim, sd)
	}
	return &onnx.ValueInfoProto{
		Name: name,
		Type: &onnx.TypeProto{Value: &onnx.TypeProto_TensorType{
			TensorType: &onnx.TypeProto_Tensor{ElemType: tFloat, Shape: shape},
		}},
	}
}

func (b *builder) input(name string, dims ...int64) string {
	b.g.Input = append(b.g.Input, valueInfo(name, dims...))
	return name
}

func (b *builder) output(name string, dims ...int64) {
	b.g.Output = append(b.g.Output, valueInfo(name, dims...))
}

// floats adds a float32 initializer (raw little-endian data).
func (b *builder) floats(prefix string, data []float32, dims ...int64) string {
	n := int64(1)
	for _, d := range dims {
		n *= d
	}
	if n != int64(len(data)) {
		panic(fmt.Sprintf("face: initializer %s: %d values for dims %v", prefix, len(data), dims))
	}
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	name := b.fresh(prefix)
	b.g.Initializer = append(b.g.Initializer, &onnx.TensorProto{
		Name: name, Dims: dims, DataType: tFloat, RawData: raw,
	})
	return name
}

func (b *builder) ints(prefix string, data ...int64) string {
	name := b.fresh(prefix)
	b.g.Initializer = append(b.g.Initializer, &onnx.TensorProto{
		Name: name, Dims: []int64{int64(len(data))}, DataType: tInt64, Int64Data: data,
	})
	return name
}

// op adds a node with one output and returns the output's name.
func (b *builder) op(opType string, inputs []string, attrs ...*onnx.AttributeProto) string {
	out := b.fresh(opType)
	b.g.Node = append(b.g.Node, &onnx.NodeProto{
		Name: b.fresh(opType + "_node"), OpType: opType, Input: inputs, Output: []string{out}, Attribute: attrs,
	})
	return out
}

// rename makes the last node's single output carry the graph output's name.
func (b *builder) rename(to string) {
	b.g.Node[len(b.g.Node)-1].Output[0] = to
}

func aInt(name string, v int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_INT, I: v}
}

func aInts(name string, v ...int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_INTS, Ints: v}
}

func (b *builder) marshal(doc string) ([]byte, error) {
	m := &onnx.ModelProto{
		IrVersion:       irVersion,
		OpsetImport:     []*onnx.OperatorSetIdProto{{Domain: "", Version: opset}},
		ProducerName:    "shoebox-face",
		ProducerVersion: "1",
		DocString:       doc,
		Graph:           b.g,
	}
	data, err := proto.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("face: marshal graph: %w", err)
	}
	return data, nil
}

// netBuilder builds one of face-api's nets from its weights. The first
// weight missing or of the wrong rank is kept in err; a layer method
// returns its input unchanged once err is set, and the Build function
// reports err.
type netBuilder struct {
	*builder
	w   map[string]Tensor
	err error
}

func newNetBuilder(name string, w map[string]Tensor) *netBuilder {
	return &netBuilder{builder: newBuilder(name), w: w}
}

// get is the named weight, checked to have rank dimensions.
func (d *netBuilder) get(name string, rank int) Tensor {
	t, ok := d.w[name]
	if !ok && d.err == nil {
		d.err = fmt.Errorf("face: %s weights: %s missing", d.g.Name, name)
	}
	if ok && len(t.Shape) != rank && d.err == nil {
		d.err = fmt.Errorf("face: %s weights: %s has shape %v", d.g.Name, name, t.Shape)
	}
	return t
}

// filters is the named conv filter, TensorFlow's [h, w, in, out], as
// ONNX's [out, in, h, w] with those dims; nil once err is set.
func (d *netBuilder) filters(name string) ([]float32, []int64) {
	t := d.get(name, 4)
	if d.err != nil {
		return nil, nil
	}
	return hwioToOIHW(t)
}

// hwioToOIHW turns a TensorFlow conv filter [h, w, in, out] (rank checked
// by get) into ONNX's [out, in, h, w].
func hwioToOIHW(t Tensor) ([]float32, []int64) {
	h, w, ci, co := t.Shape[0], t.Shape[1], t.Shape[2], t.Shape[3]
	out := make([]float32, len(t.Data))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for i := 0; i < ci; i++ {
				for o := 0; o < co; o++ {
					out[((o*ci+i)*h+y)*w+x] = t.Data[((y*w+x)*ci+i)*co+o]
				}
			}
		}
	}
	return out, []int64{int64(co), int64(ci), int64(h), int64(w)}
}

// depthwiseToONNX turns a TensorFlow depthwise filter [h, w, channels, 1]
// into ONNX's grouped conv weight [channels, 1, h, w].
func depthwiseToONNX(t Tensor) []float32 {
	h, w, ch := t.Shape[0], t.Shape[1], t.Shape[2]
	out := make([]float32, len(t.Data))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			for c := 0; c < ch; c++ {
				out[(c*h+y)*w+x] = t.Data[(y*w+x)*ch+c]
			}
		}
	}
	return out
}

func aFloat(name string, v float32) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_FLOAT, F: v}
}
