package ai

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeModelConfigFolder writes config.json and visual/preprocess_cfg.json
// under dir; a nil map leaves that file out.
func writeModelConfigFolder(t *testing.T, dir string, mainCfg, ppCfg map[string]any) {
	t.Helper()
	if mainCfg != nil {
		writeJSONFile(t, filepath.Join(dir, "config.json"), mainCfg)
	}
	if ppCfg != nil {
		writeJSONFile(t, filepath.Join(dir, "visual", "preprocess_cfg.json"), ppCfg)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

// The files of immich-app/ViT-B-32__openai, as Immich's export writes them.
func vitB32Main() map[string]any {
	return map[string]any{
		"embed_dim":  512,
		"vision_cfg": map[string]any{"image_size": 224, "layers": 12, "width": 768, "patch_size": 32},
		"text_cfg":   map[string]any{"context_length": 77, "vocab_size": 49408, "width": 512, "heads": 8, "layers": 12},
	}
}

func vitB32Preprocess() map[string]any {
	return map[string]any{
		"size":          []int{224, 224},
		"mode":          "RGB",
		"mean":          []float64{0.48145466, 0.4578275, 0.40821073},
		"std":           []float64{0.26862954, 0.26130258, 0.27577711},
		"interpolation": "bicubic",
		"resize_mode":   "shortest",
		"fill_color":    0,
	}
}

func TestLoadModelConfigViTB32(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ViT-B-32__openai")
	writeModelConfigFolder(t, dir, vitB32Main(), vitB32Preprocess())
	cfg, err := LoadModelConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := ModelConfig{
		Name: "ViT-B-32__openai", Dir: dir,
		EmbedDim: 512, ImageSize: 224, ContextLength: 77,
		Mean:          [3]float32{0.48145466, 0.4578275, 0.40821073},
		Std:           [3]float32{0.26862954, 0.26130258, 0.27577711},
		Interpolation: "bicubic", ResizeMode: "shortest",
	}
	if *cfg != want {
		t.Errorf("got  %+v\nwant %+v", *cfg, want)
	}
	if cfg.VisualModelPath() != filepath.Join(dir, "visual", "model.onnx") ||
		cfg.TextualModelPath() != filepath.Join(dir, "textual", "model.onnx") ||
		cfg.TextualDir() != filepath.Join(dir, "textual") {
		t.Errorf("paths: %s %s %s", cfg.VisualModelPath(), cfg.TextualModelPath(), cfg.TextualDir())
	}

	// A trailing slash or "." still names the folder.
	if cfg, err := LoadModelConfig(dir + string(filepath.Separator)); err != nil || cfg.Name != "ViT-B-32__openai" {
		t.Errorf("trailing slash: %v, %+v", err, cfg)
	}
	t.Chdir(dir)
	if cfg, err := LoadModelConfig("."); err != nil || cfg.Name != "ViT-B-32__openai" {
		t.Errorf(`LoadModelConfig("."): %v, %+v`, err, cfg)
	}
}

// Sizes and statistics come from the folder, not from ViT-B-32.
func TestLoadModelConfigOtherModel(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ViT-L-14-336__openai")
	writeModelConfigFolder(t, dir,
		map[string]any{
			"embed_dim":  768,
			"vision_cfg": map[string]any{"image_size": 224}, // preprocess_cfg's size wins
			"text_cfg":   map[string]any{"context_length": 64},
		},
		map[string]any{
			"size": 336, "mean": []float64{0.5, 0.5, 0.5}, "std": []float64{0.25, 0.5, 1},
			"interpolation": "Bilinear", "resize_mode": "squash",
		})
	cfg, err := LoadModelConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.EmbedDim != 768 || cfg.ImageSize != 336 || cfg.ContextLength != 64 ||
		cfg.Mean != [3]float32{0.5, 0.5, 0.5} || cfg.Std != [3]float32{0.25, 0.5, 1} ||
		cfg.Interpolation != InterpolationBilinear || cfg.ResizeMode != ResizeModeSquash {
		t.Errorf("%+v", *cfg)
	}
}

func TestLoadModelConfigDefaultsAndFallbacks(t *testing.T) {
	dir := t.TempDir()
	main := vitB32Main()
	main["vision_cfg"] = map[string]any{"image_size": []int{256, 256}}
	delete(main, "text_cfg")
	writeModelConfigFolder(t, dir, main, map[string]any{
		"mean": 0.5, // one number for all channels, as open_clip accepts
		"std":  []float64{0.1, 0.2, 0.3},
	})
	writeJSONFile(t, filepath.Join(dir, "textual", "tokenizer_config.json"), map[string]any{"model_max_length": 77, "pad_token": "!"})
	cfg, err := LoadModelConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ImageSize != 256 || cfg.ContextLength != 77 || cfg.Mean != [3]float32{0.5, 0.5, 0.5} ||
		cfg.Interpolation != "bicubic" || cfg.ResizeMode != "shortest" {
		t.Errorf("%+v", *cfg)
	}
}

func TestLoadModelConfigErrors(t *testing.T) {
	cases := []struct {
		name     string
		edit     func(main, pp map[string]any) (map[string]any, map[string]any)
		contains []string
	}{
		{"no config.json", func(m, p map[string]any) (map[string]any, map[string]any) { return nil, p }, []string{"config.json"}},
		{"no preprocess_cfg.json", func(m, p map[string]any) (map[string]any, map[string]any) { return m, nil }, []string{"preprocess_cfg.json"}},
		{"no embed_dim", func(m, p map[string]any) (map[string]any, map[string]any) { delete(m, "embed_dim"); return m, p },
			[]string{"config.json", "embed_dim"}},
		{"no mean", func(m, p map[string]any) (map[string]any, map[string]any) { delete(p, "mean"); return m, p },
			[]string{"preprocess_cfg.json", "mean", "missing"}},
		{"std of two", func(m, p map[string]any) (map[string]any, map[string]any) { p["std"] = []float64{1, 2}; return m, p },
			[]string{"preprocess_cfg.json", "std"}},
		{"zero std", func(m, p map[string]any) (map[string]any, map[string]any) { p["std"] = []float64{1, 0, 1}; return m, p },
			[]string{"std[1]"}},
		{"no size anywhere", func(m, p map[string]any) (map[string]any, map[string]any) {
			delete(p, "size")
			delete(m, "vision_cfg")
			return m, p
		}, []string{"size", "vision_cfg.image_size"}},
		{"non-square", func(m, p map[string]any) (map[string]any, map[string]any) { p["size"] = []int{224, 320}; return m, p },
			[]string{"size", "non-square"}},
		{"no context length", func(m, p map[string]any) (map[string]any, map[string]any) { delete(m, "text_cfg"); return m, p },
			[]string{"text_cfg.context_length"}},
		{"bad resize_mode", func(m, p map[string]any) (map[string]any, map[string]any) { p["resize_mode"] = "pad"; return m, p },
			[]string{"resize_mode", "pad"}},
		{"bad interpolation", func(m, p map[string]any) (map[string]any, map[string]any) {
			p["interpolation"] = "lanczos"
			return m, p
		},
			[]string{"interpolation", "lanczos"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			m, p := c.edit(vitB32Main(), vitB32Preprocess())
			writeModelConfigFolder(t, dir, m, p)
			cfg, err := LoadModelConfig(dir)
			if err == nil {
				t.Fatalf("no error; got %+v", *cfg)
			}
			for _, s := range c.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}

	if _, err := LoadModelConfig(filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing folder: %v", err)
	}
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o644)
	if _, err := LoadModelConfig(f); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("file instead of folder: %v", err)
	}
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "config.json"), []byte("{"), 0o644)
	if _, err := LoadModelConfig(bad); err == nil || !strings.Contains(err.Error(), "config.json") {
		t.Errorf("malformed config.json: %v", err)
	}
}

func TestModelConfigValidate(t *testing.T) {
	ok := ModelConfig{EmbedDim: 512, ImageSize: 224, ContextLength: 77, Std: [3]float32{1, 1, 1},
		Interpolation: InterpolationBicubic, ResizeMode: ResizeModeShortest}
	if err := ok.Validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
	bad := ok
	bad.ImageSize, bad.ContextLength, bad.ResizeMode = 0, 1, "x"
	err := bad.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, s := range []string{"image size", "context length", "resize_mode"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("%q does not mention %q", err, s)
		}
	}
}
