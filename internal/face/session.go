package face

import (
	"errors"
	"fmt"
	"runtime"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"shoebox/internal/ai"
)

// session is one network's ONNX Runtime session: it runs one inference at
// a time (the nets are shared by a process's workers) and may be closed
// while others wait for it.
type session struct {
	name string // in errors: "detector", "recognizer"...
	mu   sync.Mutex
	s    *ort.DynamicAdvancedSession
}

// newSession opens a session named name on an in-memory model.
func newSession(name string, model []byte, inputs, outputs []string, threads int) (*session, error) {
	s, err := openSession(model, inputs, outputs, threads)
	if err != nil {
		return nil, fmt.Errorf("face: %s session: %w", name, err)
	}
	return &session{name: name, s: s}, nil
}

// run runs the network on in, filling out.
func (s *session) run(in, out []ort.Value) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.s == nil {
		return errors.New("face: " + s.name + " closed")
	}
	if err := s.s.Run(in, out); err != nil {
		return fmt.Errorf("face: %s run: %w", s.name, err)
	}
	return nil
}

// close releases the session; runs after it fail.
func (s *session) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.s != nil {
		s.s.Destroy()
		s.s = nil
	}
}

// openSession loads ONNX Runtime (as ai.InitORT does) and opens a session on
// an in-memory model with threads intra-op threads (<= 0: all cores).
func openSession(model []byte, inputs, outputs []string, threads int) (*ort.DynamicAdvancedSession, error) {
	if err := ai.InitORT("", threads); err != nil {
		return nil, err
	}
	if threads <= 0 || threads > runtime.NumCPU() {
		threads = runtime.NumCPU()
	}
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	defer opts.Destroy()
	for _, set := range []func() error{
		func() error { return opts.SetIntraOpNumThreads(threads) },
		func() error { return opts.SetInterOpNumThreads(1) },
		func() error { return opts.SetGraphOptimizationLevel(ort.GraphOptimizationLevelEnableAll) },
		func() error { return opts.AddSessionConfigEntry("session.intra_op.allow_spinning", "0") },
	} {
		if err := set(); err != nil {
			return nil, fmt.Errorf("session options: %w", err)
		}
	}
	return ort.NewDynamicAdvancedSessionWithONNXData(model, inputs, outputs, opts)
}
