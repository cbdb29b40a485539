package ai_test

// Tests of the ONNX Runtime model runner against real ONNX Runtime, on toy
// models written by internal/ai/toymodel. They fail (not skip) when the
// library is missing: run scripts/setup.sh.
//
// Benchmarks (ViT-B/32-sized, random weights; ~600 MB written to a temp dir,
// or reused from $SHOEBOX_VITB32_DIR):
//
//	go test ./internal/ai -run '^$' -bench ViTB32 -benchtime 20x

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"shoebox/internal/ai"
	"shoebox/internal/ai/toymodel"
)

var tmpRoot string // removed after all tests and benchmarks

func TestMain(m *testing.M) {
	var err error
	if tmpRoot, err = os.MkdirTemp("", "shoebox-ai-test-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if vit.m != nil {
		vit.m.Close()
	}
	os.RemoveAll(tmpRoot)
	os.Exit(code)
}

// needORT initialises ONNX Runtime or fails the test with what to do.
func needORT(tb testing.TB) {
	tb.Helper()
	if err := ai.InitORT("", 2); err != nil {
		tb.Fatalf("ONNX Runtime is not available: %v\n"+
			"run scripts/setup.sh (installs it into third_party/ort/), or set SHOEBOX_ORT_LIB", err)
	}
}

// bpePath is the repository's copy of CLIP's vocabulary (clipvocab/).
func bpePath(tb testing.TB) string {
	tb.Helper()
	p := filepath.Join("clipvocab", "bpe_simple_vocab_16e6.txt.gz")
	if _, err := os.Stat(p); err != nil {
		tb.Fatal(err)
	}
	return p
}

var toyDirs sync.Map // key -> dir

// toyModel writes (once per options) and opens a toy model.
func toyModel(t *testing.T, opt toymodel.Options) *ai.ONNXModel {
	t.Helper()
	needORT(t)
	opt.BPEPath = bpePath(t)
	key := fmt.Sprintf("%+v", opt)
	dirAny, ok := toyDirs.Load(key)
	if !ok {
		dir, err := os.MkdirTemp(tmpRoot, "toy-")
		if err != nil {
			t.Fatal(err)
		}
		if err := toymodel.Write(dir, opt); err != nil {
			t.Fatalf("toymodel.Write: %v", err)
		}
		dirAny, _ = toyDirs.LoadOrStore(key, dir)
	}
	m, err := ai.OpenONNX(dirAny.(string), 2)
	if err != nil {
		t.Fatalf("OpenONNX: %v", err)
	}
	t.Cleanup(m.Close)
	return m
}

// colourImage is a w x h image of c with a little deterministic texture of
// other colours (about 1 pixel in 5), so it is predominantly c.
func colourImage(c color.RGBA, w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			px := c
			switch (x*7 + y*13) % 10 {
			case 0:
				px = color.RGBA{200, 200, 200, 255}
			case 1:
				px = color.RGBA{c.B, c.R, c.G, 255}
			}
			img.SetRGBA(x, y, px)
		}
	}
	return img
}

var colours = []struct {
	name string
	c    color.RGBA
}{
	{"red", color.RGBA{210, 40, 30, 255}},
	{"green", color.RGBA{40, 170, 60, 255}},
	{"blue", color.RGBA{30, 60, 200, 255}},
}

func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func norm(v []float32) float64 { return math.Sqrt(dot(v, v)) }

// tokenizer loads the model folder's own tokenizer files (written by
// toymodel through (*ai.Tokenizer).WriteFolder), as the product does.
func tokenizer(t *testing.T, m *ai.ONNXModel) *ai.Tokenizer {
	t.Helper()
	tok, err := ai.LoadTokenizer(m.Config().TextualDir())
	if err != nil {
		t.Fatalf("LoadTokenizer: %v", err)
	}
	if tok.ContextLength() != m.Info().ContextLength {
		t.Fatalf("tokenizer context length %d, model %d", tok.ContextLength(), m.Info().ContextLength)
	}
	return tok
}

func encodeTexts(t *testing.T, m *ai.ONNXModel, tok *ai.Tokenizer, texts ...string) [][]float32 {
	t.Helper()
	ids := make([][]int32, len(texts))
	for i, s := range texts {
		ids[i] = tok.Encode(s)
	}
	v, err := m.EncodeTexts(context.Background(), ids)
	if err != nil {
		t.Fatalf("EncodeTexts(%q): %v", texts, err)
	}
	return v
}

func checkUnit(t *testing.T, what string, vs [][]float32, dim int) {
	t.Helper()
	for i, v := range vs {
		if len(v) != dim {
			t.Fatalf("%s[%d]: %d dims, want %d", what, i, len(v), dim)
		}
		if n := norm(v); math.Abs(n-1) > 1e-5 {
			t.Fatalf("%s[%d]: norm %v, want 1", what, i, n)
		}
	}
}

func TestToyModelMeaning(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  toymodel.Options
	}{
		{"fixed-batch", toymodel.Options{}},
		{"dynamic-batch", toymodel.Options{DynamicBatch: true}},
		{"int64-text", toymodel.Options{TextInt64: true, Dim: 16, ImageSize: 48}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := toyModel(t, tc.opt)
			wantDim := tc.opt.Dim
			if wantDim == 0 {
				wantDim = 8
			}
			if m.Dim() != wantDim {
				t.Fatalf("Dim() = %d, want %d", m.Dim(), wantDim)
			}
			if m.Name() == "" {
				t.Errorf("Name() is empty")
			}
			info := m.Info()
			wantBatch := 1
			if tc.opt.DynamicBatch {
				wantBatch = 0
			}
			wantType := "int32"
			if tc.opt.TextInt64 {
				wantType = "int64"
			}
			if info.ImageBatch != wantBatch || info.TextBatch != wantBatch || info.TextDType != wantType ||
				info.ContextLength != 77 || info.VisualInput != "image" || info.TextualInput != "text" ||
				info.VisualOutput != "embedding" || info.TextualOutput != "embedding" {
				t.Fatalf("Info() = %+v", info)
			}
			cfg := m.Config()
			if cfg.ImageSize != info.ImageSize || cfg.EmbedDim != wantDim {
				t.Fatalf("config %+v vs info %+v", cfg, info)
			}

			imgs := make([][]float32, len(colours))
			for i, c := range colours {
				imgs[i] = ai.Preprocess(colourImage(c.c, 64, 48), cfg)
			}
			iv, err := m.EncodeImages(context.Background(), imgs)
			if err != nil {
				t.Fatalf("EncodeImages: %v", err)
			}
			checkUnit(t, "image", iv, wantDim)

			tok := tokenizer(t, m)
			for _, template := range []string{"%s", "a photo of something %s"} {
				texts := make([]string, len(colours))
				for i, c := range colours {
					texts[i] = fmt.Sprintf(template, c.name)
				}
				tv := encodeTexts(t, m, tok, texts...)
				checkUnit(t, "text", tv, wantDim)
				for i, c := range colours {
					best, bestSim := -1, -2.0
					sims := make([]string, len(tv))
					for j := range tv {
						s := dot(iv[i], tv[j])
						sims[j] = fmt.Sprintf("%q=%.3f", texts[j], s)
						if s > bestSim {
							best, bestSim = j, s
						}
					}
					t.Logf("%s image: %s", c.name, strings.Join(sims, " "))
					if best != i {
						t.Errorf("%s image is nearest to %q, want %q (%s)", c.name, texts[best], texts[i], strings.Join(sims, " "))
					}
				}
			}

			// synonyms land on their colour's axis too
			syn := encodeTexts(t, m, tok, "a crimson car", "emerald", "the navy ocean")
			for i := range syn {
				best, bestSim := -1, -2.0
				for j := range iv {
					if s := dot(syn[i], iv[j]); s > bestSim {
						best, bestSim = j, s
					}
				}
				if best != i {
					t.Errorf("synonym text %d nearest to the %s image, want %s", i, colours[best].name, colours[i].name)
				}
			}
		})
	}
}

// One call with several images equals one call per image, whether the
// model batches (dynamic axis) or runs them one at a time (fixed axis).
func TestBatchEqualsSingles(t *testing.T) {
	for _, dyn := range []bool{true, false} {
		t.Run(fmt.Sprintf("dynamic=%v", dyn), func(t *testing.T) {
			m := toyModel(t, toymodel.Options{DynamicBatch: dyn})
			cfg := m.Config()
			var imgs [][]float32
			for i := 0; i < 3; i++ {
				c := colours[i].c
				c.R += uint8(i * 5)
				imgs = append(imgs, ai.Preprocess(colourImage(c, 40+i, 40), cfg))
			}
			// more than one dynamic run's worth too
			for i := 0; i < 17; i++ {
				imgs = append(imgs, ai.Preprocess(colourImage(color.RGBA{uint8(i * 15), 100, uint8(255 - i*10), 255}, 33, 33), cfg))
			}
			batch, err := m.EncodeImages(context.Background(), imgs)
			if err != nil {
				t.Fatal(err)
			}
			if len(batch) != len(imgs) {
				t.Fatalf("%d embeddings for %d images", len(batch), len(imgs))
			}
			for i, img := range imgs {
				one, err := m.EncodeImages(context.Background(), [][]float32{img})
				if err != nil {
					t.Fatal(err)
				}
				for j := range one[0] {
					if d := math.Abs(float64(one[0][j] - batch[i][j])); d > 1e-5 {
						t.Fatalf("image %d dim %d: batch %v vs single %v", i, j, batch[i][j], one[0][j])
					}
				}
			}

			tok := tokenizer(t, m)
			texts := []string{"red", "a green field", "blue sky", "nothing in particular"}
			all := encodeTexts(t, m, tok, texts...)
			for i, s := range texts {
				one := encodeTexts(t, m, tok, s)
				for j := range one[0] {
					if d := math.Abs(float64(one[0][j] - all[i][j])); d > 1e-5 {
						t.Fatalf("text %q dim %d: batch %v vs single %v", s, j, all[i][j], one[0][j])
					}
				}
			}
		})
	}
}

// The textual model takes int32 ids, as the real exports declare.
func TestTextInputIsInt32(t *testing.T) {
	needORT(t)
	for _, dyn := range []bool{false, true} {
		dir := filepath.Join(t.TempDir(), "m")
		if err := toymodel.Write(dir, toymodel.Options{DynamicBatch: dyn, BPEPath: bpePath(t)}); err != nil {
			t.Fatal(err)
		}
		in, out, err := ort.GetInputOutputInfo(filepath.Join(dir, "textual", "model.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		wantB := int64(1)
		if dyn {
			wantB = -1
		}
		if len(in) != 1 || in[0].Name != "text" || in[0].DataType != ort.TensorElementDataTypeInt32 ||
			!in[0].Dimensions.Equals(ort.NewShape(wantB, 77)) {
			t.Fatalf("textual inputs: %v", in)
		}
		if len(out) != 1 || out[0].Name != "embedding" || out[0].DataType != ort.TensorElementDataTypeFloat ||
			!out[0].Dimensions.Equals(ort.NewShape(wantB, 8)) {
			t.Fatalf("textual outputs: %v", out)
		}
		in, out, err = ort.GetInputOutputInfo(filepath.Join(dir, "visual", "model.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		if len(in) != 1 || in[0].Name != "image" || in[0].DataType != ort.TensorElementDataTypeFloat ||
			!in[0].Dimensions.Equals(ort.NewShape(wantB, 3, 32, 32)) {
			t.Fatalf("visual inputs: %v", in)
		}
		if len(out) != 1 || out[0].Name != "embedding" || !out[0].Dimensions.Equals(ort.NewShape(wantB, 8)) {
			t.Fatalf("visual outputs: %v", out)
		}
		for _, f := range []string{"config.json", "visual/preprocess_cfg.json", "textual/tokenizer.json"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("model folder lacks %s", f)
			}
		}
		m, err := ai.OpenONNX(dir, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Info().TextDType; got != "int32" {
			t.Errorf("Info().TextDType = %q", got)
		}
		m.Close()
	}
}

func TestConcurrentUse(t *testing.T) {
	m := toyModel(t, toymodel.Options{DynamicBatch: true})
	cfg := m.Config()
	tok := tokenizer(t, m)
	img := ai.Preprocess(colourImage(colours[0].c, 32, 32), cfg)
	ids := tok.Encode("a photo of something red")
	wantI, err := m.EncodeImages(context.Background(), [][]float32{img})
	if err != nil {
		t.Fatal(err)
	}
	wantT, err := m.EncodeTexts(context.Background(), [][]int32{ids})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				gi, err := m.EncodeImages(context.Background(), [][]float32{img, img})
				if err == nil && (dot(gi[0], wantI[0]) < 1-1e-5 || dot(gi[1], wantI[0]) < 1-1e-5) {
					err = errors.New("image embedding differs under concurrency")
				}
				if err != nil {
					errs <- err
					return
				}
				gt, err := m.EncodeTexts(context.Background(), [][]int32{ids})
				if err == nil && dot(gt[0], wantT[0]) < 1-1e-5 {
					err = errors.New("text embedding differs under concurrency")
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestErrors(t *testing.T) {
	m := toyModel(t, toymodel.Options{})
	ctx := context.Background()
	if _, err := m.EncodeImages(ctx, [][]float32{make([]float32, 10)}); err == nil {
		t.Error("EncodeImages accepted an input of the wrong size")
	}
	if _, err := m.EncodeTexts(ctx, [][]int32{make([]int32, 5)}); err == nil {
		t.Error("EncodeTexts accepted a sequence of the wrong length")
	}
	if v, err := m.EncodeImages(ctx, nil); err != nil || len(v) != 0 {
		t.Errorf("EncodeImages(nil) = %v, %v", v, err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	img := make([]float32, 3*32*32)
	if _, err := m.EncodeImages(cancelled, [][]float32{img}); !errors.Is(err, context.Canceled) {
		t.Errorf("EncodeImages with a cancelled context: %v", err)
	}
	if _, err := ai.OpenONNX(t.TempDir(), 1); err == nil {
		t.Error("OpenONNX of an empty folder succeeded")
	}
	m.Close()
	m.Close()
	if _, err := m.EncodeImages(ctx, [][]float32{img}); err == nil {
		t.Error("EncodeImages after Close succeeded")
	}
}

func TestORTInit(t *testing.T) {
	needORT(t)
	if v := ai.ORTVersion(); !strings.HasPrefix(v, "1.") {
		t.Errorf("ORTVersion() = %q", v)
	}
	lib := ai.ORTLibPath()
	if err := ai.InitORT(lib, 2); err != nil {
		t.Errorf("InitORT again with the same library: %v", err)
	}
	if err := ai.InitORT(filepath.Join(t.TempDir(), "libother.so"), 2); err == nil {
		t.Error("InitORT with a different library after initialisation succeeded")
	}
	t.Setenv("SHOEBOX_ORT_LIB", "/nonexistent/libonnxruntime.so.1")
	if got := ai.DefaultORTLib(); got != "/nonexistent/libonnxruntime.so.1" {
		t.Errorf("DefaultORTLib() with SHOEBOX_ORT_LIB = %q", got)
	}
	os.Unsetenv("SHOEBOX_ORT_LIB")
	if got := ai.DefaultORTLib(); got == "" {
		t.Error("DefaultORTLib() found nothing (run scripts/setup.sh)")
	}
}

// ---------------------------------------------------------------------------
// ViT-B/32-sized benchmarks
// ---------------------------------------------------------------------------

var vit struct {
	once    sync.Once
	m       *ai.ONNXModel
	err     error
	rssBase float64 // MB, before opening
	rss     float64 // MB, with both sessions loaded
}

func rssMB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// cpuSeconds is the process's user+system CPU time: per item it tells the
// cost of an inference even when other work shares the machine (then
// images/s drops but CPU time per image does not).
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

func vitModel(b *testing.B) *ai.ONNXModel {
	b.Helper()
	needORT(b)
	vit.once.Do(func() {
		dir := os.Getenv("SHOEBOX_VITB32_DIR")
		if dir == "" {
			dir = filepath.Join(tmpRoot, "vit-b-32")
		}
		if _, err := os.Stat(filepath.Join(dir, "textual", "model.onnx")); err != nil {
			start := time.Now()
			if vit.err = toymodel.WriteViTB32(dir); vit.err != nil {
				return
			}
			b.Logf("wrote ViT-B/32-sized model to %s in %v", dir, time.Since(start).Round(time.Millisecond))
		}
		runtime.GC()
		debug.FreeOSMemory()
		vit.rssBase = rssMB()
		start := time.Now()
		vit.m, vit.err = ai.OpenONNX(dir, 2)
		vit.rss = rssMB()
		b.Logf("opened %s in %v; ORT %s; RSS %.0f MB before, %.0f MB with both sessions",
			dir, time.Since(start).Round(time.Millisecond), ai.ORTVersion(), vit.rssBase, vit.rss)
	})
	if vit.err != nil {
		b.Fatalf("ViT-B/32 model: %v", vit.err)
	}
	return vit.m
}

func BenchmarkViTB32Image(b *testing.B) {
	m := vitModel(b)
	img := ai.Preprocess(colourImage(colours[2].c, 320, 240), m.Config())
	ctx := context.Background()
	v, err := m.EncodeImages(ctx, [][]float32{img}) // warm-up
	if err != nil {
		b.Fatal(err)
	}
	if n := norm(v[0]); len(v[0]) != 512 || math.Abs(n-1) > 1e-4 {
		b.Fatalf("embedding of %d dims, norm %v", len(v[0]), n)
	}
	cpu0 := cpuSeconds()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.EncodeImages(ctx, [][]float32{img}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
	b.ReportMetric((cpuSeconds()-cpu0)*1000/float64(b.N), "cpu-ms/image")
	b.ReportMetric(vit.rss-vit.rssBase, "open-rss-MB") // growth from opening both sessions
	b.ReportMetric(rssMB(), "rss-MB")                  // whole process, after the runs
}

func BenchmarkViTB32Text(b *testing.B) {
	m := vitModel(b)
	ids := make([]int32, m.Info().ContextLength)
	ids[0] = 49406
	for i := 1; i <= 8; i++ {
		ids[i] = int32(1000 + 37*i)
	}
	ids[9] = 49407
	ctx := context.Background()
	v, err := m.EncodeTexts(ctx, [][]int32{ids}) // warm-up
	if err != nil {
		b.Fatal(err)
	}
	if n := norm(v[0]); len(v[0]) != 512 || math.Abs(n-1) > 1e-4 {
		b.Fatalf("embedding of %d dims, norm %v", len(v[0]), n)
	}
	cpu0 := cpuSeconds()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.EncodeTexts(ctx, [][]int32{ids}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "texts/s")
	b.ReportMetric((cpuSeconds()-cpu0)*1000/float64(b.N), "cpu-ms/text")
	b.ReportMetric(rssMB(), "rss-MB")
}
