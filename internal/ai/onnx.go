package ai

// In-process CLIP inference through ONNX Runtime (github.com/yalue/onnxruntime_go,
// cgo + dlopen of libonnxruntime.so.1).
//
// A model folder follows Immich's layout:
//
//	config.json                 embed_dim, vision_cfg.image_size, text_cfg.context_length
//	visual/model.onnx           input "image" float32 [B,3,S,S] -> "embedding" float32 [B,D]
//	visual/preprocess_cfg.json  size, mean, std, interpolation, resize_mode
//	textual/model.onnx          input "text" int32 [B,L] (int64 accepted) -> "embedding" float32 [B,D]
//	textual/tokenizer.json ...  tokenizer files
//
// B is either a dynamic axis (older exports) or fixed (1 in current exports);
// OpenONNX learns which from the model itself and batches accordingly.
//
// The shared library is loaded once per process by InitORT (or implicitly by
// OpenONNX); DefaultORTLib says where it is looked for. scripts/setup.sh
// installs it into third_party/ort/.

/*
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
static void shoebox_malloc_trim(void) {
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// ErrORTNotFound is returned (wrapped) when no ONNX Runtime shared library can
// be found.
var ErrORTNotFound = errors.New("ONNX Runtime shared library (libonnxruntime.so.1) not found: " +
	"run scripts/setup.sh, or set SHOEBOX_ORT_LIB to its path")

// ortRelPaths are the library's paths relative to a Shoebox checkout or
// install root: the stable symlink scripts/setup.sh makes, then the file
// inside the npm package it installs.
func ortRelPaths() []string {
	arch := map[string]string{"amd64": "x64", "arm64": "arm64"}[runtime.GOARCH]
	rel := []string{filepath.Join("third_party", "ort", "libonnxruntime.so.1")}
	if arch != "" {
		rel = append(rel, filepath.Join("third_party", "ort", "node_modules", "onnxruntime-node",
			"bin", "napi-v*", "linux", arch, "libonnxruntime.so.1"))
	}
	return rel
}

// firstFile returns the first regular file (symlinks followed) matching one
// of the glob patterns, in order; within one pattern the lexically greatest
// match wins (newest napi-v*, libonnxruntime.so.1.x.y over .so.1).
func firstFile(patterns ...string) string {
	for _, pat := range patterns {
		matches, _ := filepath.Glob(pat)
		sort.Sort(sort.Reverse(sort.StringSlice(matches)))
		for _, m := range matches {
			if st, err := os.Stat(m); err == nil && st.Mode().IsRegular() {
				return m
			}
		}
	}
	return ""
}

// DefaultORTLib returns the path of the ONNX Runtime shared library to load,
// or "" if none is found. Search order:
//
//  1. $SHOEBOX_ORT_LIB (returned as is, even if it does not exist, so that
//     a wrong setting fails loudly instead of silently falling back);
//  2. <dir of the executable>/../third_party/ort/ (bin/shoebox in a checkout);
//  3. ./third_party/ort/ in the working directory or, failing that, in the
//     enclosing checkout (the nearest parent holding go.mod; this is how
//     `go test` finds it from a package directory);
//  4. /usr/local/lib/libonnxruntime.so*, then /usr/lib/libonnxruntime.so*.
//
// Under third_party/ort/ the symlink libonnxruntime.so.1 made by
// scripts/setup.sh is tried first, then the file inside the npm package
// (node_modules/onnxruntime-node/bin/napi-v*/linux/<arch>/libonnxruntime.so.1).
func DefaultORTLib() string {
	if p := os.Getenv("SHOEBOX_ORT_LIB"); p != "" {
		return p
	}
	under := func(root string) string {
		pats := ortRelPaths()
		for i := range pats {
			pats[i] = filepath.Join(root, pats[i])
		}
		return firstFile(pats...)
	}
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		if p := under(filepath.Join(filepath.Dir(exe), "..")); p != "" {
			return p
		}
	}
	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; {
			if p := under(dir); p != "" {
				return p
			}
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				break // top of this checkout
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return firstFile(
		"/usr/local/lib/libonnxruntime.so", "/usr/local/lib/libonnxruntime.so.1", "/usr/local/lib/libonnxruntime.so.*",
		"/usr/lib/libonnxruntime.so", "/usr/lib/libonnxruntime.so.1", "/usr/lib/libonnxruntime.so.*",
	)
}

var ortState struct {
	mu      sync.Mutex
	lib     string // non-empty once initialised
	threads int    // default intra-op threads for OpenONNX(dir, 0)
}

// maxThreads is the number of cores this process may use.
func maxThreads() int {
	n := runtime.GOMAXPROCS(0)
	if c := runtime.NumCPU(); c < n {
		n = c
	}
	return max(n, 1)
}

// clampThreads maps n <= 0 to all cores and caps n at the core count.
func clampThreads(n int) int {
	if m := maxThreads(); n <= 0 || n > m {
		return m
	}
	return n
}

// InitORT loads the ONNX Runtime shared library at libPath (DefaultORTLib()
// when empty) and creates the process-wide ORT environment. It does its work
// once per process: later calls with an empty or the same libPath return nil,
// a different libPath is an error. A failed call may be retried. threads is
// the default number of intra-op threads for models opened with threads <= 0
// (<= 0: all cores; capped at the core count).
func InitORT(libPath string, threads int) error {
	ortState.mu.Lock()
	defer ortState.mu.Unlock()
	if ortState.lib != "" {
		if libPath == "" || sameFile(libPath, ortState.lib) {
			return nil
		}
		return fmt.Errorf("ai: ONNX Runtime already initialised from %s (asked for %s)", ortState.lib, libPath)
	}
	if libPath == "" {
		libPath = DefaultORTLib()
		if libPath == "" {
			return ErrORTNotFound
		}
	}
	if _, err := os.Stat(libPath); err != nil {
		return fmt.Errorf("%w (%v)", ErrORTNotFound, err)
	}
	if !ort.IsInitialized() {
		ort.SetSharedLibraryPath(libPath)
		if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
			return fmt.Errorf("ai: loading ONNX Runtime from %s: %w", libPath, err)
		}
		_ = ort.DisableTelemetry() // best effort; a no-op on Linux builds
	}
	ortState.lib = libPath
	ortState.threads = clampThreads(threads)
	return nil
}

func sameFile(a, b string) bool {
	if a == b {
		return true
	}
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

// ORTVersion returns the loaded ONNX Runtime's version ("1.30.0"), or "" if
// InitORT has not succeeded yet.
func ORTVersion() string {
	if !ort.IsInitialized() {
		return ""
	}
	return ort.GetVersion()
}

// ORTLibPath returns the path InitORT loaded the library from ("" before).
func ORTLibPath() string {
	ortState.mu.Lock()
	defer ortState.mu.Unlock()
	return ortState.lib
}

// maxRunBatch bounds how many items go into one Run of a model with a
// dynamic batch axis (activation memory grows with it; on a CPU larger
// batches buy little).
const maxRunBatch = 16

// ONNXInfo describes what OpenONNX learnt from a model folder's two graphs.
type ONNXInfo struct {
	Dim           int    // embedding size D
	ImageSize     int    // S of the visual input [B,3,S,S]
	ContextLength int    // L of the textual input [B,L]
	ImageBatch    int    // visual batch axis: 0 = dynamic, else fixed size
	TextBatch     int    // textual batch axis: 0 = dynamic, else fixed size
	TextDType     string // "int32" or "int64"
	VisualInput   string // input/output names as declared in the graphs
	VisualOutput  string
	TextualInput  string
	TextualOutput string
}

// ONNXModel is a CLIP model folder opened with ONNX Runtime: one visual and
// one textual session, created once and shared. It is safe for concurrent
// use. Runs of one session are serialised (each Run already uses the
// session's intra-op threads, so overlapping them on a small machine only
// adds memory and contention); the visual and textual sessions run
// independently of each other.
type ONNXModel struct {
	cfg     *ModelConfig
	info    ONNXInfo
	visual  *onnxSession
	textual *onnxSession

	closeOnce sync.Once
}

// onnxSession is one graph with a single input and a single output.
type onnxSession struct {
	what       string // "visual" or "textual", for errors
	sess       *ort.DynamicAdvancedSession
	input      string
	output     string
	inType     ort.TensorElementDataType
	inShape    ort.Shape // per item, without the batch axis
	fixedBatch int       // 0: dynamic
	outDim     int       // D, or -1 if the graph leaves it open
	sem        chan struct{}
	closed     bool // guarded by sem
}

// OpenONNX opens the model folder dir (Immich's layout, described at the
// top of this file) with intra-op parallelism bounded by threads (<= 0: the default
// given to InitORT, else all cores; capped at the core count) and one
// inter-op thread. It initialises ONNX Runtime from DefaultORTLib() if
// InitORT has not been called.
func OpenONNX(dir string, threads int) (*ONNXModel, error) {
	if err := InitORT("", threads); err != nil {
		return nil, err
	}
	if threads <= 0 {
		ortState.mu.Lock()
		threads = ortState.threads
		ortState.mu.Unlock()
	}
	threads = clampThreads(threads)

	cfg, err := LoadModelConfig(dir)
	if err != nil {
		return nil, err
	}
	m := &ONNXModel{cfg: cfg}
	fail := func(err error) (*ONNXModel, error) {
		m.Close()
		return nil, fmt.Errorf("ai: opening model %s: %w", dir, err)
	}

	m.visual, err = openSession(cfg.VisualModelPath(), "visual", "image",
		[]ort.TensorElementDataType{ort.TensorElementDataTypeFloat}, threads)
	if err != nil {
		return fail(err)
	}
	m.textual, err = openSession(cfg.TextualModelPath(), "textual", "text",
		[]ort.TensorElementDataType{ort.TensorElementDataTypeInt32, ort.TensorElementDataTypeInt64}, threads)
	if err != nil {
		return fail(err)
	}

	// Visual input: [3,S,S] per item.
	vs := m.visual.inShape
	if len(vs) != 3 || (vs[0] != 3 && vs[0] > 0) {
		return fail(fmt.Errorf("visual input %q has shape [B %v], want [B,3,S,S]", m.visual.input, vs))
	}
	size := cfg.ImageSize
	for _, d := range vs[1:] {
		if d > 0 {
			if size > 0 && int(d) != size {
				return fail(fmt.Errorf("visual input is %dx%d but config.json says image_size %d", vs[1], vs[2], size))
			}
			size = int(d)
		}
	}
	if size <= 0 {
		return fail(errors.New("image size unknown: neither config.json nor the visual graph gives it"))
	}
	m.visual.inShape = ort.NewShape(3, int64(size), int64(size))

	// Textual input: [L] per item.
	ts := m.textual.inShape
	if len(ts) != 1 {
		return fail(fmt.Errorf("textual input %q has shape [B %v], want [B,L]", m.textual.input, ts))
	}
	ctxLen := cfg.ContextLength
	if ts[0] > 0 {
		if ctxLen > 0 && int(ts[0]) != ctxLen {
			return fail(fmt.Errorf("textual input has length %d but config.json says context_length %d", ts[0], ctxLen))
		}
		ctxLen = int(ts[0])
	}
	if ctxLen <= 0 {
		return fail(errors.New("context length unknown: neither config.json nor the textual graph gives it"))
	}
	m.textual.inShape = ort.NewShape(int64(ctxLen))

	// Embedding size: the graphs and the config must agree where they say.
	dim := cfg.EmbedDim
	for _, s := range []*onnxSession{m.visual, m.textual} {
		if s.outDim > 0 {
			if dim > 0 && s.outDim != dim {
				return fail(fmt.Errorf("%s output %q has size %d, expected %d", s.what, s.output, s.outDim, dim))
			}
			dim = s.outDim
		}
	}
	if dim <= 0 {
		return fail(errors.New("embedding size unknown: neither config.json nor the graphs give it"))
	}

	// Loading parses the protobuf and copies every weight; glibc keeps the
	// freed parse buffers mapped. Handing them back takes the process's RSS
	// from ~800-1050 MB to ~640 MB for ViT-B/32 (weights: 605 MB).
	C.shoebox_malloc_trim()

	m.info = ONNXInfo{
		Dim: dim, ImageSize: size, ContextLength: ctxLen,
		ImageBatch: m.visual.fixedBatch, TextBatch: m.textual.fixedBatch,
		TextDType:   map[bool]string{true: "int32", false: "int64"}[m.textual.inType == ort.TensorElementDataTypeInt32],
		VisualInput: m.visual.input, VisualOutput: m.visual.output,
		TextualInput: m.textual.input, TextualOutput: m.textual.output,
	}
	return m, nil
}

// openSession inspects the graph at path, picks its input (the one named
// want, or the only one) and output ("embedding", or the first), and creates
// the session.
func openSession(path, what, want string, dtypes []ort.TensorElementDataType, threads int) (*onnxSession, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	inputs, outputs, err := inputOutputInfo(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var in, out *ort.InputOutputInfo
	for i := range inputs {
		if inputs[i].Name == want || len(inputs) == 1 {
			in = &inputs[i]
			break
		}
	}
	if in == nil {
		names := make([]string, len(inputs))
		for i := range inputs {
			names[i] = inputs[i].Name
		}
		return nil, fmt.Errorf("%s: no input %q (inputs: %v)", path, want, names)
	}
	for i := range outputs {
		if outputs[i].Name == "embedding" {
			out = &outputs[i]
			break
		}
	}
	if out == nil && len(outputs) > 0 {
		out = &outputs[0]
	}
	if out == nil {
		return nil, fmt.Errorf("%s: graph has no outputs", path)
	}
	okType := false
	for _, t := range dtypes {
		okType = okType || in.DataType == t
	}
	if in.OrtValueType != ort.ONNXTypeTensor || !okType {
		return nil, fmt.Errorf("%s: input %q is %s, want a tensor of %v", path, in.Name, in, dtypes)
	}
	if out.OrtValueType != ort.ONNXTypeTensor || out.DataType != ort.TensorElementDataTypeFloat {
		return nil, fmt.Errorf("%s: output %q is %s, want a float32 tensor", path, out.Name, out)
	}
	if len(in.Dimensions) < 1 || len(out.Dimensions) != 2 {
		return nil, fmt.Errorf("%s: input %q %v / output %q %v: want a leading batch axis and a [B,D] output",
			path, in.Name, in.Dimensions, out.Name, out.Dimensions)
	}
	s := &onnxSession{
		what:    what,
		input:   in.Name,
		output:  out.Name,
		inType:  in.DataType,
		inShape: in.Dimensions[1:].Clone(),
		outDim:  int(out.Dimensions[1]),
		sem:     make(chan struct{}, 1),
	}
	if b := in.Dimensions[0]; b > 0 {
		s.fixedBatch = int(b)
	}
	if s.outDim <= 0 {
		s.outDim = -1
	}

	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, err
	}
	defer opts.Destroy()
	for _, set := range []func() error{
		func() error { return opts.SetIntraOpNumThreads(threads) },
		func() error { return opts.SetInterOpNumThreads(1) },
		func() error { return opts.SetExecutionMode(ort.ExecutionModeSequential) },
		func() error { return opts.SetGraphOptimizationLevel(ort.GraphOptimizationLevelEnableAll) },
		// Idle pool threads sleep instead of spinning: on a small machine
		// the spinning would take CPU from thumbnailing and PostgreSQL
		// (measured: no loss of throughput on 2 cores).
		func() error { return opts.AddSessionConfigEntry("session.intra_op.allow_spinning", "0") },
	} {
		if err := set(); err != nil {
			return nil, fmt.Errorf("%s: session options: %w", path, err)
		}
	}
	s.sess, err = ort.NewDynamicAdvancedSession(path, []string{s.input}, []string{s.output}, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// inputOutputInfo is ort.GetInputOutputInfo through a throwaway session that
// skips graph optimisation and uses one thread (it only reads the
// declarations; that halves the time to open a large model).
func inputOutputInfo(path string) ([]ort.InputOutputInfo, []ort.InputOutputInfo, error) {
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, nil, err
	}
	defer opts.Destroy()
	if err := opts.SetGraphOptimizationLevel(ort.GraphOptimizationLevelDisableAll); err != nil {
		return nil, nil, err
	}
	if err := opts.SetIntraOpNumThreads(1); err != nil {
		return nil, nil, err
	}
	return ort.GetInputOutputInfoWithOptions(path, opts)
}

// Name returns the model's name (from its config).
func (m *ONNXModel) Name() string { return m.cfg.Name }

// Dim returns the embedding size D.
func (m *ONNXModel) Dim() int { return m.info.Dim }

// Config returns the model folder's configuration (for Preprocess and the
// tokenizer). It must not be modified.
func (m *ONNXModel) Config() *ModelConfig { return m.cfg }

// Info returns what was learnt from the graphs.
func (m *ONNXModel) Info() ONNXInfo { return m.info }

// Close releases both sessions. It waits for runs in progress; later calls
// to the Encode methods fail. Closing twice is harmless.
func (m *ONNXModel) Close() {
	m.closeOnce.Do(func() {
		for _, s := range []*onnxSession{m.visual, m.textual} {
			if s == nil {
				continue
			}
			s.sem <- struct{}{}
			if s.sess != nil {
				_ = s.sess.Destroy()
				s.sess = nil
			}
			s.closed = true
			<-s.sem
		}
	})
}

// EncodeImages embeds preprocessed images (each CHW float32 of length
// 3*S*S, as made by Preprocess) and returns one unit-length vector of Dim()
// floats per image. A model with a dynamic batch axis gets them in batches
// of up to 16; one with a fixed batch axis gets them that many at a time.
func (m *ONNXModel) EncodeImages(ctx context.Context, batch [][]float32) ([][]float32, error) {
	per := int(m.visual.inShape.FlattenedSize())
	for i, img := range batch {
		if len(img) != per {
			return nil, fmt.Errorf("ai: image %d has %d values, want 3x%dx%d = %d",
				i, len(img), m.info.ImageSize, m.info.ImageSize, per)
		}
	}
	return encodeRows(ctx, m.visual, m.info.Dim, batch)
}

// EncodeTexts embeds token sequences (each of exactly ContextLength ids, as
// made by (*Tokenizer).Encode) and returns one unit-length vector of Dim()
// floats per sequence.
func (m *ONNXModel) EncodeTexts(ctx context.Context, tokens [][]int32) ([][]float32, error) {
	per := m.info.ContextLength
	for i, t := range tokens {
		if len(t) != per {
			return nil, fmt.Errorf("ai: token sequence %d has %d ids, want %d", i, len(t), per)
		}
	}
	if m.textual.inType == ort.TensorElementDataTypeInt64 {
		wide := make([][]int64, len(tokens))
		for i, t := range tokens {
			wide[i] = make([]int64, len(t))
			for j, id := range t {
				wide[i][j] = int64(id)
			}
		}
		return encodeRows(ctx, m.textual, m.info.Dim, wide)
	}
	return encodeRows(ctx, m.textual, m.info.Dim, tokens)
}

// encodeRows runs s over items in chunks and returns normalised embeddings.
func encodeRows[T float32 | int32 | int64](ctx context.Context, s *onnxSession, dim int, items [][]T) ([][]float32, error) {
	if len(items) == 0 {
		return nil, ctx.Err()
	}
	per := int(s.inShape.FlattenedSize())
	chunk := maxRunBatch
	if s.fixedBatch > 0 {
		chunk = s.fixedBatch
	}
	out := make([][]float32, 0, len(items))
	flat := make([]T, 0, min(chunk, len(items))*per)
	for start := 0; start < len(items); start += chunk {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		end := min(start+chunk, len(items))
		n := end - start // real items in this run
		b := n           // rows fed to the graph (fixed batch: padded with zeros)
		if s.fixedBatch > 0 {
			b = s.fixedBatch
		}
		flat = flat[:0]
		for _, it := range items[start:end] {
			flat = append(flat, it...)
		}
		for len(flat) < b*per {
			var zero T
			flat = append(flat, zero)
		}
		rows, err := s.run(ctx, b, flat, dim)
		if err != nil {
			return nil, err
		}
		for _, r := range rows[:n] {
			l2Normalize(r)
			out = append(out, r)
		}
	}
	return out, nil
}

// run feeds b rows of flat input to the session and returns b output rows
// (fresh slices).
func (s *onnxSession) run(ctx context.Context, b int, flat any, dim int) ([][]float32, error) {
	shape := append(ort.NewShape(int64(b)), s.inShape...)
	var in ort.Value
	var err error
	switch data := flat.(type) {
	case []float32:
		in, err = ort.NewTensor(shape, data)
	case []int32:
		in, err = ort.NewTensor(shape, data)
	case []int64:
		in, err = ort.NewTensor(shape, data)
	default:
		err = fmt.Errorf("unsupported input type %T", flat)
	}
	if err != nil {
		return nil, fmt.Errorf("ai: %s input: %w", s.what, err)
	}
	defer in.Destroy()

	var outT *ort.Tensor[float32]
	outs := []ort.Value{nil} // nil: allocated by the run (output size not declared)
	if s.outDim > 0 {
		outT, err = ort.NewEmptyTensor[float32](ort.NewShape(int64(b), int64(s.outDim)))
		if err != nil {
			return nil, fmt.Errorf("ai: %s output: %w", s.what, err)
		}
		outs[0] = outT
	}
	defer func() {
		if outs[0] != nil {
			outs[0].Destroy()
		}
	}()

	// One run at a time per session; waiting gives way to ctx.
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	err = s.runLocked(ctx, in, outs)
	<-s.sem
	if err != nil {
		return nil, err
	}

	t, ok := outs[0].(*ort.Tensor[float32])
	if !ok {
		return nil, fmt.Errorf("ai: %s output %q is %T, want float32", s.what, s.output, outs[0])
	}
	if sh := t.GetShape(); len(sh) != 2 || sh[0] != int64(b) || sh[1] != int64(dim) {
		return nil, fmt.Errorf("ai: %s output %q has shape %v, want [%d %d]", s.what, s.output, sh, b, dim)
	}
	data := t.GetData()
	rows := make([][]float32, b)
	for i := range rows {
		rows[i] = append([]float32(nil), data[i*dim:(i+1)*dim]...)
	}
	return rows, nil
}

// runLocked runs the session (caller holds s.sem); cancelling ctx
// terminates the run in progress.
func (s *onnxSession) runLocked(ctx context.Context, in ort.Value, outs []ort.Value) error {
	if s.closed {
		return fmt.Errorf("ai: %s session is closed", s.what)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	opts, err := ort.NewRunOptions()
	if err != nil {
		return fmt.Errorf("ai: %s run options: %w", s.what, err)
	}
	var mu sync.Mutex
	done := false
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !done {
			_ = opts.Terminate()
		}
	})
	err = s.sess.RunWithOptions([]ort.Value{in}, outs, opts)
	mu.Lock()
	done = true
	mu.Unlock()
	stop()
	_ = opts.Destroy()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("ai: %s run: %w", s.what, err)
	}
	return nil
}

// l2Normalize scales v to unit length in place (the graphs already do; this
// is a cheap guard). A zero or non-finite vector is left as it is.
func l2Normalize(v []float32) {
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	n := math.Sqrt(ss)
	if n == 0 || math.IsNaN(n) || math.IsInf(n, 0) {
		return
	}
	inv := 1 / n
	for i, x := range v {
		v[i] = float32(float64(x) * inv)
	}
}
