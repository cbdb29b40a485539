package ai

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// Values of ModelConfig.ResizeMode (open_clip's PreprocessCfg.resize_mode).
const (
	// ResizeModeShortest scales the shortest side to the image size, then
	// centre-crops (the CLIP default, and Immich's exports).
	ResizeModeShortest = "shortest"
	// ResizeModeSquash scales both sides to the image size, ignoring aspect.
	ResizeModeSquash = "squash"
	// ResizeModeLongest scales the longest side to the image size, then pads
	// to a square with black (open_clip's fill_color 0).
	ResizeModeLongest = "longest"
)

// Values of ModelConfig.Interpolation (the PIL filter open_clip resizes with).
const (
	InterpolationBicubic  = "bicubic"
	InterpolationBilinear = "bilinear"
)

// ModelConfig is what Shoebox needs to know about a CLIP model folder in
// Immich's Hugging Face layout (e.g. immich-app/ViT-B-32__openai):
//
//	config.json                  embed_dim, vision_cfg.image_size, text_cfg.context_length
//	visual/model.onnx
//	visual/preprocess_cfg.json   size, mean, std, interpolation, resize_mode
//	textual/model.onnx
//	textual/tokenizer_config.json, vocab.json, merges.txt, ...
type ModelConfig struct {
	Name string // the folder's base name, e.g. "ViT-B-32__openai"
	Dir  string // the folder, as given to LoadModelConfig (cleaned)

	EmbedDim      int // length of the image and text embeddings
	ImageSize     int // S: the visual model takes 3×S×S
	ContextLength int // L: the textual model takes L token ids

	Mean, Std     [3]float32 // per-channel normalisation of RGB in [0,1]
	Interpolation string     // InterpolationBicubic or InterpolationBilinear
	ResizeMode    string     // ResizeModeShortest, ResizeModeSquash or ResizeModeLongest
}

// VisualModelPath is the image encoder's ONNX file.
func (c *ModelConfig) VisualModelPath() string { return filepath.Join(c.Dir, "visual", "model.onnx") }

// TextualModelPath is the text encoder's ONNX file.
func (c *ModelConfig) TextualModelPath() string {
	return filepath.Join(c.Dir, "textual", "model.onnx")
}

// TextualDir is the folder LoadTokenizer reads.
func (c *ModelConfig) TextualDir() string { return filepath.Join(c.Dir, "textual") }

// LoadModelConfig reads a model folder's config.json and
// visual/preprocess_cfg.json. Every size and statistic comes from those
// files; the only defaults are the ones real exports may omit:
// resize_mode "shortest" and interpolation "bicubic" (open_clip's defaults).
// The model files themselves are not opened.
func LoadModelConfig(dir string) (*ModelConfig, error) {
	dir = filepath.Clean(dir)
	cfg := &ModelConfig{Name: filepath.Base(dir), Dir: dir}
	if abs, err := filepath.Abs(dir); err == nil {
		cfg.Name = filepath.Base(abs) // so "." names the folder, not "."
	}
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("ai: model folder: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("ai: model folder %s is not a directory", dir)
	}

	// config.json (open_clip's model config).
	mainPath := filepath.Join(dir, "config.json")
	var mc struct {
		EmbedDim  *int `json:"embed_dim"`
		VisionCfg *struct {
			ImageSize json.RawMessage `json:"image_size"`
		} `json:"vision_cfg"`
		TextCfg *struct {
			ContextLength *int `json:"context_length"`
		} `json:"text_cfg"`
	}
	if err := readJSON(mainPath, &mc); err != nil {
		return nil, err
	}
	if mc.EmbedDim == nil {
		return nil, fmt.Errorf("ai: %s: missing \"embed_dim\"", mainPath)
	}
	if *mc.EmbedDim <= 0 {
		return nil, fmt.Errorf("ai: %s: \"embed_dim\" is %d", mainPath, *mc.EmbedDim)
	}
	cfg.EmbedDim = *mc.EmbedDim

	// visual/preprocess_cfg.json (open_clip's PreprocessCfg, as Immich's
	// export writes it).
	ppPath := filepath.Join(dir, "visual", "preprocess_cfg.json")
	var pp struct {
		Size          json.RawMessage `json:"size"`
		Mean          json.RawMessage `json:"mean"`
		Std           json.RawMessage `json:"std"`
		Interpolation *string         `json:"interpolation"`
		ResizeMode    *string         `json:"resize_mode"`
	}
	if err := readJSON(ppPath, &pp); err != nil {
		return nil, err
	}

	// Image size: preprocess_cfg.json's "size" wins over config.json's
	// vision_cfg.image_size when both are present, because it is what
	// open_clip's transform actually used (it is derived from image_size
	// unless a pretrained tag overrides it). The visual graph's input shape is
	// checked against it when the model is opened.
	var err error
	switch {
	case len(pp.Size) > 0 && string(pp.Size) != "null":
		if cfg.ImageSize, err = squareSize(pp.Size); err != nil {
			return nil, fmt.Errorf("ai: %s: \"size\": %w", ppPath, err)
		}
	case mc.VisionCfg != nil && len(mc.VisionCfg.ImageSize) > 0 && string(mc.VisionCfg.ImageSize) != "null":
		if cfg.ImageSize, err = squareSize(mc.VisionCfg.ImageSize); err != nil {
			return nil, fmt.Errorf("ai: %s: \"vision_cfg.image_size\": %w", mainPath, err)
		}
	default:
		return nil, fmt.Errorf("ai: model %s: no image size: missing \"size\" in %s and \"vision_cfg.image_size\" in %s", dir, ppPath, mainPath)
	}

	if cfg.Mean, err = triple(pp.Mean); err != nil {
		return nil, fmt.Errorf("ai: %s: \"mean\": %w", ppPath, err)
	}
	if cfg.Std, err = triple(pp.Std); err != nil {
		return nil, fmt.Errorf("ai: %s: \"std\": %w", ppPath, err)
	}

	cfg.Interpolation = InterpolationBicubic
	if pp.Interpolation != nil && *pp.Interpolation != "" {
		cfg.Interpolation = strings.ToLower(*pp.Interpolation)
	}
	cfg.ResizeMode = ResizeModeShortest
	if pp.ResizeMode != nil && *pp.ResizeMode != "" {
		cfg.ResizeMode = strings.ToLower(*pp.ResizeMode)
	}

	// Context length: config.json's text_cfg.context_length. Configs of
	// models with a Hugging Face text tower may leave it out; then the
	// tokenizer's model_max_length says it.
	switch {
	case mc.TextCfg != nil && mc.TextCfg.ContextLength != nil:
		cfg.ContextLength = *mc.TextCfg.ContextLength
	default:
		tcPath := filepath.Join(dir, "textual", "tokenizer_config.json")
		var tc struct {
			ModelMaxLength *float64 `json:"model_max_length"`
		}
		if readJSON(tcPath, &tc) != nil || tc.ModelMaxLength == nil || *tc.ModelMaxLength < 2 || *tc.ModelMaxLength > 1<<16 {
			return nil, fmt.Errorf("ai: %s: missing \"text_cfg.context_length\" (and no usable model_max_length in %s)", mainPath, tcPath)
		}
		cfg.ContextLength = int(*tc.ModelMaxLength)
	}

	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("ai: model %s: %w", dir, err)
	}
	return cfg, nil
}

// Validate reports whether c can drive Preprocess and the tokenizer.
func (c *ModelConfig) Validate() error {
	var errs []error
	if c.ImageSize <= 0 {
		errs = append(errs, fmt.Errorf("image size %d", c.ImageSize))
	}
	if c.ContextLength < 2 {
		errs = append(errs, fmt.Errorf("context length %d", c.ContextLength))
	}
	if c.EmbedDim <= 0 {
		errs = append(errs, fmt.Errorf("embedding size %d", c.EmbedDim))
	}
	for i, s := range c.Std {
		if !(s > 0) || math.IsInf(float64(s), 0) {
			errs = append(errs, fmt.Errorf("std[%d] is %v", i, s))
		}
	}
	for i, m := range c.Mean {
		if math.IsNaN(float64(m)) || math.IsInf(float64(m), 0) {
			errs = append(errs, fmt.Errorf("mean[%d] is %v", i, m))
		}
	}
	switch c.Interpolation {
	case InterpolationBicubic, InterpolationBilinear:
	default:
		errs = append(errs, fmt.Errorf("interpolation %q is not supported (want %q or %q)", c.Interpolation, InterpolationBicubic, InterpolationBilinear))
	}
	switch c.ResizeMode {
	case ResizeModeShortest, ResizeModeSquash, ResizeModeLongest:
	default:
		errs = append(errs, fmt.Errorf("resize_mode %q is not supported (want %q, %q or %q)", c.ResizeMode, ResizeModeShortest, ResizeModeSquash, ResizeModeLongest))
	}
	return errors.Join(errs...)
}

// squareSize reads an image size written as S or [S, S] (open_clip allows
// [H, W]; only square inputs are supported).
func squareSize(raw json.RawMessage) (int, error) {
	var n int
	if err := json.Unmarshal(raw, &n); err == nil {
		if n <= 0 {
			return 0, fmt.Errorf("%d is not a size", n)
		}
		return n, nil
	}
	var hw []int
	if err := json.Unmarshal(raw, &hw); err != nil {
		return 0, fmt.Errorf("want an integer or [height, width], got %s", raw)
	}
	if len(hw) != 2 || hw[0] <= 0 {
		return 0, fmt.Errorf("want an integer or [height, width], got %s", raw)
	}
	if hw[0] != hw[1] {
		return 0, fmt.Errorf("non-square input %dx%d is not supported", hw[0], hw[1])
	}
	return hw[0], nil
}

// triple reads a per-channel statistic written as [r, g, b] (or one number
// for all three, which open_clip also accepts).
func triple(raw json.RawMessage) ([3]float32, error) {
	var out [3]float32
	if len(raw) == 0 || string(raw) == "null" {
		return out, errors.New("missing")
	}
	var one float64
	if err := json.Unmarshal(raw, &one); err == nil {
		return [3]float32{float32(one), float32(one), float32(one)}, nil
	}
	var v []float64
	if err := json.Unmarshal(raw, &v); err != nil || len(v) != 3 {
		return out, fmt.Errorf("want 3 numbers, got %s", raw)
	}
	for i := range v {
		out[i] = float32(v[i])
	}
	return out, nil
}
