package toymodel

// A small builder over the ONNX protobuf types, just enough for the graphs in
// this package.

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"
)

const (
	irVersion = 8  // ONNX 1.10+; read by every ONNX Runtime since 1.10
	opset     = 17 // LayerNormalization is standard from 17 on

	tFloat = int32(onnx.TensorProto_FLOAT)
	tInt32 = int32(onnx.TensorProto_INT32)
	tInt64 = int32(onnx.TensorProto_INT64)
)

type builder struct {
	g *onnx.GraphProto
	n int
}

func newBuilder(name string) *builder {
	return &builder{g: &onnx.GraphProto{Name: name}}
}

func (b *builder) fresh(prefix string) string {
	b.n++
	return fmt.Sprintf("%s_%d", prefix, b.n)
}

// dim is one axis of a declared input/output: a size, or (size <= 0) the
// symbolic name param.
type dim struct {
	size  int64
	param string
}

func fixed(n int64) dim { return dim{size: n} }

func valueInfo(name string, elem int32, dims ...dim) *onnx.ValueInfoProto {
	shape := &onnx.TensorShapeProto{}
	for _, d := range dims {
		sd := &onnx.TensorShapeProto_Dimension{}
		if d.size > 0 {
			sd.Value = &onnx.TensorShapeProto_Dimension_DimValue{DimValue: d.size}
		} else {
			sd.Value = &onnx.TensorShapeProto_Dimension_DimParam{DimParam: d.param}
		}
		shape.Dim = append(shape.Dim, sd)
	}
	return &onnx.ValueInfoProto{
		Name: name,
		Type: &onnx.TypeProto{Value: &onnx.TypeProto_TensorType{
			TensorType: &onnx.TypeProto_Tensor{ElemType: elem, Shape: shape},
		}},
	}
}

func (b *builder) input(name string, elem int32, dims ...dim) string {
	b.g.Input = append(b.g.Input, valueInfo(name, elem, dims...))
	return name
}

func (b *builder) output(name string, elem int32, dims ...dim) {
	b.g.Output = append(b.g.Output, valueInfo(name, elem, dims...))
}

// floats adds a float32 initializer (raw little-endian data).
func (b *builder) floats(name string, data []float32, dims ...int64) string {
	if n := prod(dims); n != int64(len(data)) {
		panic(fmt.Sprintf("toymodel: initializer %s: %d values for dims %v", name, len(data), dims))
	}
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	b.g.Initializer = append(b.g.Initializer, &onnx.TensorProto{
		Name: name, Dims: dims, DataType: tFloat, RawData: raw,
	})
	return name
}

// ints adds an int64 initializer.
func (b *builder) ints(name string, data []int64, dims ...int64) string {
	b.g.Initializer = append(b.g.Initializer, &onnx.TensorProto{
		Name: name, Dims: dims, DataType: tInt64, Int64Data: data,
	})
	return name
}

func prod(dims []int64) int64 {
	n := int64(1)
	for _, d := range dims {
		n *= d
	}
	return n
}

// op adds a node with one output and returns the output's name.
func (b *builder) op(opType string, inputs []string, attrs ...*onnx.AttributeProto) string {
	return b.opN(opType, inputs, 1, attrs...)[0]
}

// opN adds a node with n outputs.
func (b *builder) opN(opType string, inputs []string, n int, attrs ...*onnx.AttributeProto) []string {
	outs := make([]string, n)
	for i := range outs {
		outs[i] = b.fresh(opType)
	}
	b.g.Node = append(b.g.Node, &onnx.NodeProto{
		Name: b.fresh(opType + "_node"), OpType: opType, Input: inputs, Output: outs, Attribute: attrs,
	})
	return outs
}

// rename makes the last node's single output carry the graph output's name.
func (b *builder) rename(to string) {
	nd := b.g.Node[len(b.g.Node)-1]
	nd.Output[0] = to
}

func aInt(name string, v int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_INT, I: v}
}

func aInts(name string, v ...int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_INTS, Ints: v}
}

func aFloat(name string, v float32) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_FLOAT, F: v}
}

// l2norm appends x / max(||x||_2, 1e-12) over axis 1 of a [B,D] tensor.
func (b *builder) l2norm(x string) string {
	n := b.op("ReduceL2", []string{x}, aInts("axes", 1), aInt("keepdims", 1))
	eps := b.floats(b.fresh("eps"), []float32{1e-12})
	n = b.op("Max", []string{n, eps})
	return b.op("Div", []string{x, n})
}

// write marshals the graph as a model into path (creating its directory).
func (b *builder) write(path, doc string) error {
	m := &onnx.ModelProto{
		IrVersion:       irVersion,
		OpsetImport:     []*onnx.OperatorSetIdProto{{Domain: "", Version: opset}},
		ProducerName:    "shoebox-toymodel",
		ProducerVersion: "1",
		DocString:       doc,
		Graph:           b.g,
	}
	data, err := proto.Marshal(m)
	if err != nil {
		return fmt.Errorf("toymodel: marshal %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// rng is a small deterministic generator (splitmix64), so that weights are
// the same on every machine and run.
type rng uint64

func (r *rng) next() uint64 {
	*r += 0x9e3779b97f4a7c15
	z := uint64(*r)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// uniform returns a value in [-1, 1).
func (r *rng) uniform() float32 {
	return float32(r.next()>>40)/float32(1<<23) - 1
}

// fill returns n values uniform in [-a, a).
func (r *rng) fill(n int, a float32) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = a * r.uniform()
	}
	return out
}

func constant(n int, v float32) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = v
	}
	return out
}
