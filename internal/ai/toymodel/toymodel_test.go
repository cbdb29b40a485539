package toymodel

// Structure and determinism of the written files, without ONNX Runtime (the
// runtime tests are internal/ai's onnx_test.go).

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"

	"shoebox/internal/ai"
)

// bpe is the repository's copy of CLIP's vocabulary (internal/ai/clipvocab).
func bpe(t *testing.T) string {
	t.Helper()
	p := filepath.Join("..", "clipvocab", "bpe_simple_vocab_16e6.txt.gz")
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func readModel(t *testing.T, path string) *onnx.ModelProto {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m onnx.ModelProto
	if err := proto.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &m
}

func shapeOf(v *onnx.ValueInfoProto) (int32, []string) {
	tt := v.GetType().GetTensorType()
	var dims []string
	for _, d := range tt.GetShape().GetDim() {
		if p := d.GetDimParam(); p != "" {
			dims = append(dims, p)
		} else {
			dims = append(dims, strconv.FormatInt(d.GetDimValue(), 10))
		}
	}
	return tt.GetElemType(), dims
}

func TestWriteLayoutAndDeterminism(t *testing.T) {
	p := bpe(t)
	a, b := t.TempDir(), t.TempDir()
	opt := Options{DynamicBatch: true, BPEPath: p}
	if err := Write(a, opt); err != nil {
		t.Fatal(err)
	}
	if err := Write(b, opt); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"config.json", "visual/model.onnx", "visual/preprocess_cfg.json", "textual/model.onnx"} {
		x, err1 := os.ReadFile(filepath.Join(a, f))
		y, err2 := os.ReadFile(filepath.Join(b, f))
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v %v", f, err1, err2)
		}
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between two writes", f)
		}
	}

	cfg, err := ai.LoadModelConfig(a)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.EmbedDim != 8 || cfg.ImageSize != 32 || cfg.ContextLength != 77 {
		t.Errorf("config %+v", cfg)
	}
	if _, err := ai.LoadTokenizer(cfg.TextualDir()); err != nil {
		t.Errorf("LoadTokenizer on the written textual/: %v", err)
	}

	for _, tc := range []struct {
		file, in string
		inType   int32
		inDims   []string
	}{
		{"visual/model.onnx", "image", tFloat, []string{"batch_size", "3", "32", "32"}},
		{"textual/model.onnx", "text", tInt32, []string{"batch_size", "77"}},
	} {
		m := readModel(t, filepath.Join(a, tc.file))
		if m.IrVersion != irVersion || len(m.OpsetImport) != 1 || m.OpsetImport[0].Version != opset {
			t.Errorf("%s: ir %d opset %v", tc.file, m.IrVersion, m.OpsetImport)
		}
		g := m.Graph
		if len(g.Input) != 1 || g.Input[0].Name != tc.in || len(g.Output) != 1 || g.Output[0].Name != "embedding" {
			t.Fatalf("%s: inputs %v outputs %v", tc.file, g.Input, g.Output)
		}
		typ, dims := shapeOf(g.Input[0])
		if typ != tc.inType || len(dims) != len(tc.inDims) {
			t.Fatalf("%s: input type %d dims %v", tc.file, typ, dims)
		}
		for i := range dims {
			if dims[i] != tc.inDims[i] {
				t.Errorf("%s: input dims %v, want %v", tc.file, dims, tc.inDims)
				break
			}
		}
		typ, dims = shapeOf(g.Output[0])
		if typ != tFloat || len(dims) != 2 || dims[0] != "batch_size" || dims[1] != "8" {
			t.Errorf("%s: output type %d dims %v", tc.file, typ, dims)
		}
	}
}

func TestWriteRejectsBadOptions(t *testing.T) {
	if err := Write(t.TempDir(), Options{BPEPath: filepath.Join(t.TempDir(), "missing.gz")}); err == nil {
		t.Fatal("Write with a missing BPEPath succeeded")
	}
	if err := Write(t.TempDir(), Options{Dim: 2}); err == nil {
		t.Fatal("Write with Dim 2 succeeded")
	}
}

// The vocabulary built in is the one in the repository (the tests read the
// file; the toy model reads the embedded copy).
func TestBuiltInVocabularyMatchesFile(t *testing.T) {
	dir := t.TempDir()
	if err := Write(filepath.Join(dir, "a"), Options{}); err != nil {
		t.Fatal(err)
	}
	if err := Write(filepath.Join(dir, "b"), Options{BPEPath: bpe(t)}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"textual/vocab.json", "textual/merges.txt"} {
		a, errA := os.ReadFile(filepath.Join(dir, "a", f))
		b, errB := os.ReadFile(filepath.Join(dir, "b", f))
		if errA != nil || errB != nil || len(a) == 0 || string(a) != string(b) {
			t.Errorf("%s differs between the built-in vocabulary and the file (%v, %v)", f, errA, errB)
		}
	}
}
