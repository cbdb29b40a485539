package ai

import (
	"context"
	"fmt"
	"os"
	"sync"
)

// Embedder turns photos and words into comparable unit vectors. Shoebox has
// two: the in-process CLIP model (Local) and an Immich-compatible remote
// service (Remote). Both are safe for concurrent use.
type Embedder interface {
	// Name identifies the model; it is stored with every vector, so a new
	// name means the library is re-embedded.
	Name() string
	// Dim is the vectors' length (0 until known, for a remote service).
	Dim() int
	EmbedText(ctx context.Context, text string) ([]float32, error)
	// EmbedImages embeds the pictures in files (the previews made at index
	// time), batched where the model allows.
	EmbedImages(ctx context.Context, files []string) ([][]float32, error)
	// Describe says what it is, for `shoebox doctor`.
	Describe() string
	Close()
}

// textCache keeps recent query embeddings: a repeated search costs no
// inference. Bounded; emptied when full.
type textCache struct {
	mu sync.Mutex
	m  map[string][]float32
}

func (c *textCache) get(k string) ([]float32, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok
}

func (c *textCache) put(k string, v []float32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= 4096 {
		c.m = map[string][]float32{}
	}
	c.m[k] = v
}

// Local is a CLIP model folder run in-process by ONNX Runtime.
type Local struct {
	model *ONNXModel
	cfg   *ModelConfig
	tok   *Tokenizer
	texts textCache
}

// OpenLocal loads ONNX Runtime (from ortLib, or where DefaultORTLib finds
// it) and the model folder dir, with at most threads intra-op threads.
func OpenLocal(dir, ortLib string, threads int) (*Local, error) {
	if err := InitORT(ortLib, threads); err != nil {
		return nil, err
	}
	m, err := OpenONNX(dir, threads)
	if err != nil {
		return nil, err
	}
	tok, err := LoadTokenizer(m.Config().TextualDir())
	if err != nil {
		m.Close()
		return nil, err
	}
	return &Local{model: m, cfg: m.Config(), tok: tok}, nil
}

func (l *Local) Name() string { return l.cfg.Name }
func (l *Local) Dim() int     { return l.model.Dim() }
func (l *Local) Close()       { l.model.Close() }

func (l *Local) Describe() string {
	return fmt.Sprintf("%s (%d-d, image %d px, ONNX Runtime %s)", l.cfg.Name, l.Dim(), l.cfg.ImageSize, ORTVersion())
}

func (l *Local) EmbedText(ctx context.Context, text string) ([]float32, error) {
	if v, ok := l.texts.get(text); ok {
		return v, nil
	}
	vs, err := l.model.EncodeTexts(ctx, [][]int32{l.tok.Encode(text)})
	if err != nil {
		return nil, err
	}
	l.texts.put(text, vs[0])
	return vs[0], nil
}

func (l *Local) EmbedImages(ctx context.Context, files []string) ([][]float32, error) {
	batch := make([][]float32, len(files))
	for i, f := range files {
		px, err := PreprocessFile(f, l.cfg)
		if err != nil {
			return nil, fmt.Errorf("embed %s: %w", f, err)
		}
		batch[i] = px
	}
	return l.model.EncodeImages(ctx, batch)
}

// Remote is the Embedder of a model on an Immich-compatible
// machine-learning service (through an MLClient).
type Remote struct {
	r     *MLClient
	mu    sync.Mutex
	dim   int
	texts textCache
}

// OpenRemote returns the Embedder of model name on the service at url.
func OpenRemote(ctx context.Context, url, name string) (*Remote, error) {
	r, err := NewMLClient(url, name, nil)
	if err != nil {
		return nil, err
	}
	return &Remote{r: r}, nil
}

func (r *Remote) Name() string { return r.r.Name() }
func (r *Remote) Close()       {}

func (r *Remote) Dim() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dim
}

func (r *Remote) Describe() string {
	return fmt.Sprintf("%s on a remote service (%d-d)", r.Name(), r.Dim())
}

func (r *Remote) note(v []float32) {
	r.mu.Lock()
	r.dim = len(v)
	r.mu.Unlock()
}

func (r *Remote) EmbedText(ctx context.Context, text string) ([]float32, error) {
	if v, ok := r.texts.get(text); ok {
		return v, nil
	}
	v, err := r.r.EncodeText(ctx, text)
	if err != nil {
		return nil, err
	}
	r.note(v)
	r.texts.put(text, v)
	return v, nil
}

func (r *Remote) EmbedImages(ctx context.Context, files []string) ([][]float32, error) {
	out := make([][]float32, len(files))
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if out[i], err = r.r.EncodeImage(ctx, b); err != nil {
			return nil, err
		}
		r.note(out[i])
	}
	return out, nil
}
