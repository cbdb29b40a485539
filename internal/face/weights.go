package face

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
)

// Tensor is one dequantised weight tensor from a TensorFlow.js manifest, in
// TensorFlow's layout (conv filters [h, w, in, out]).
type Tensor struct {
	Shape []int
	Data  []float32
}

type manifestGroup struct {
	Paths   []string         `json:"paths"`
	Weights []manifestWeight `json:"weights"`
}

type manifestWeight struct {
	Name         string `json:"name"`
	Shape        []int  `json:"shape"`
	Dtype        string `json:"dtype"`
	Quantization *struct {
		Dtype string   `json:"dtype"`
		Scale float64  `json:"scale"`
		Min   float64  `json:"min"`
		Range *float64 `json:"range,omitempty"`
	} `json:"quantization,omitempty"`
}

// LoadWeights reads dir/NAME-weights_manifest.json and its shards and returns
// every weight by name, dequantised to float32 the way TensorFlow.js does
// (uint8/uint16: q*scale + min, rounded for int32 weights; float16: IEEE half
// to float32). int32 weights are returned as float32 values.
func LoadWeights(dir, name string) (map[string]Tensor, error) {
	mpath := filepath.Join(dir, name+"-weights_manifest.json")
	raw, err := os.ReadFile(mpath)
	if err != nil {
		return nil, fmt.Errorf("face: %w", err)
	}
	var groups []manifestGroup
	if err := json.Unmarshal(raw, &groups); err != nil {
		return nil, fmt.Errorf("face: %s: %w", mpath, err)
	}
	out := map[string]Tensor{}
	for _, g := range groups {
		var buf []byte
		for _, p := range g.Paths {
			b, err := os.ReadFile(filepath.Join(dir, p))
			if err != nil {
				return nil, fmt.Errorf("face: %s: %w", mpath, err)
			}
			buf = append(buf, b...)
		}
		off := 0
		for _, w := range g.Weights {
			n := 1
			for _, d := range w.Shape {
				n *= d
			}
			t := Tensor{Shape: w.Shape, Data: make([]float32, n)}
			size, err := decode(w, buf[min(off, len(buf)):], t.Data)
			if err != nil {
				return nil, fmt.Errorf("face: %s: %s: %w", mpath, w.Name, err)
			}
			off += size
			out[w.Name] = t
		}
		if off != len(buf) {
			return nil, fmt.Errorf("face: %s: %d bytes in shards, manifest accounts for %d", mpath, len(buf), off)
		}
	}
	return out, nil
}

// decode fills dst from src as w describes and returns the bytes it used.
func decode(w manifestWeight, src []byte, dst []float32) (int, error) {
	n := len(dst)
	if w.Dtype != "float32" && w.Dtype != "int32" {
		return 0, fmt.Errorf("dtype %q not supported", w.Dtype)
	}
	if q := w.Quantization; q != nil && w.Dtype == "int32" {
		// TensorFlow.js rounds dequantised int32 values.
		if q.Dtype != "uint8" || len(src) < n {
			return 0, fmt.Errorf("int32 quantised as %q not supported", q.Dtype)
		}
		for i := range dst {
			dst[i] = float32(math.Round(float64(src[i])*q.Scale + q.Min))
		}
		return n, nil
	}
	if q := w.Quantization; q != nil {
		switch q.Dtype {
		case "uint8":
			if len(src) < n {
				return 0, fmt.Errorf("shard too short")
			}
			for i := range dst {
				dst[i] = float32(float64(src[i])*q.Scale + q.Min)
			}
			return n, nil
		case "uint16":
			if len(src) < 2*n {
				return 0, fmt.Errorf("shard too short")
			}
			for i := range dst {
				dst[i] = float32(float64(binary.LittleEndian.Uint16(src[2*i:]))*q.Scale + q.Min)
			}
			return 2 * n, nil
		case "float16":
			if len(src) < 2*n {
				return 0, fmt.Errorf("shard too short")
			}
			for i := range dst {
				dst[i] = halfToFloat(binary.LittleEndian.Uint16(src[2*i:]))
			}
			return 2 * n, nil
		default:
			return 0, fmt.Errorf("quantization %q not supported", q.Dtype)
		}
	}
	if len(src) < 4*n {
		return 0, fmt.Errorf("shard too short")
	}
	if w.Dtype == "int32" {
		for i := range dst {
			dst[i] = float32(int32(binary.LittleEndian.Uint32(src[4*i:])))
		}
		return 4 * n, nil
	}
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
	return 4 * n, nil
}

// halfToFloat converts an IEEE 754 binary16 value to float32.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal
		f := float32(frac) / 1024 * float32(math.Pow(2, -14))
		if sign != 0 {
			f = -f
		}
		return f
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
}
