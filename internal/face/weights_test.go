package face_test

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"shoebox/internal/face"
)

// TestLoadWeightsDecodes checks every encoding a TensorFlow.js manifest can
// use, on a hand-made manifest split over two shards.
func TestLoadWeightsDecodes(t *testing.T) {
	dir := t.TempDir()
	manifest := `[{"paths": ["m.bin", "m2.bin"], "weights": [
	  {"name": "u8", "shape": [3], "dtype": "float32", "quantization": {"dtype": "uint8", "scale": 0.5, "min": -1}},
	  {"name": "u16", "shape": [2], "dtype": "float32", "quantization": {"dtype": "uint16", "scale": 0.25, "min": 2}},
	  {"name": "f16", "shape": [4], "dtype": "float32", "quantization": {"dtype": "float16"}},
	  {"name": "f32", "shape": [1, 2], "dtype": "float32"},
	  {"name": "i32q", "shape": [1], "dtype": "int32", "quantization": {"dtype": "uint8", "scale": 0.4, "min": 1}},
	  {"name": "i32", "shape": [1], "dtype": "int32"}
	]}]`
	var b []byte
	b = append(b, 0, 2, 255)                                       // u8
	b = binary.LittleEndian.AppendUint16(b, 0)                     // u16
	b = binary.LittleEndian.AppendUint16(b, 1000)                  //
	b = binary.LittleEndian.AppendUint16(b, 0x3c00)                // f16: 1
	b = binary.LittleEndian.AppendUint16(b, 0xc000)                // -2
	b = binary.LittleEndian.AppendUint16(b, 0x3555)                // 0.333251953125
	b = binary.LittleEndian.AppendUint16(b, 0x0001)                // 2^-24 (subnormal)
	b = binary.LittleEndian.AppendUint32(b, math.Float32bits(1.5)) // f32
	b = binary.LittleEndian.AppendUint32(b, math.Float32bits(-7))
	b = append(b, 4)                                            // i32q: round(1 + 1.6) = 3
	b = binary.LittleEndian.AppendUint32(b, uint32(0xfffffff6)) // i32: -10
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("toy-weights_manifest.json", []byte(manifest))
	write("m.bin", b[:5])
	write("m2.bin", b[5:])

	w, err := face.LoadWeights(dir, "toy")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]float32{
		"u8":   {-1, 0, 126.5},
		"u16":  {2, 252},
		"f16":  {1, -2, 0.333251953125, float32(math.Pow(2, -24))},
		"f32":  {1.5, -7},
		"i32q": {3},
		"i32":  {-10},
	}
	for name, vals := range want {
		got, ok := w[name]
		if !ok {
			t.Errorf("%s missing", name)
			continue
		}
		for i := range vals {
			if got.Data[i] != vals[i] {
				t.Errorf("%s[%d] = %v, want %v", name, i, got.Data[i], vals[i])
			}
		}
	}
	if s := w["f32"].Shape; len(s) != 2 || s[0] != 1 || s[1] != 2 {
		t.Errorf("f32 shape %v", s)
	}

	// A shard shorter or longer than the manifest says is an error.
	write("m2.bin", b[5:len(b)-1])
	if _, err := face.LoadWeights(dir, "toy"); err == nil {
		t.Error("short shard: no error")
	}
	write("m2.bin", append(append([]byte(nil), b[5:]...), 0))
	if _, err := face.LoadWeights(dir, "toy"); err == nil || !strings.Contains(err.Error(), "accounts for") {
		t.Errorf("long shard: %v", err)
	}
}
