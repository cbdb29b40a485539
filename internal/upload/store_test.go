package upload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"
)

// failAfter gives n bytes of r, then fails as a cut connection does.
type failAfter struct {
	r io.Reader
	n int
}

func (f *failAfter) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("connection cut")
	}
	p = p[:min(len(p), f.n)]
	n, err := f.r.Read(p)
	f.n -= n
	return n, err
}

// The hash is made as chunks arrive, across a chunk cut short and a
// restart (a new Store on the same folder); a lost state is rebuilt from
// the file; Sweep removes only uploads untouched for long.
func TestStoreHashesWhileStreaming(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	data := bytes.Repeat([]byte("shoebox upload bytes "), 5000)
	want := sha256.Sum256(data)
	s := NewStore(dir)
	up, err := s.NewUpload(ctx, handler.FileInfo{Size: int64(len(data))})
	if err != nil {
		t.Fatal(err)
	}
	info, _ := up.GetInfo(ctx)
	id := info.ID
	// A first chunk cut short after 1000 bytes.
	n, err := up.WriteChunk(ctx, 0, &failAfter{bytes.NewReader(data), 1000})
	if n != 1000 || err == nil {
		t.Fatalf("cut chunk: %d %v", n, err)
	}
	// A restart, then the next chunk from the server's offset.
	s = NewStore(dir)
	up, err = s.GetUpload(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := up.WriteChunk(ctx, 1000, bytes.NewReader(data[1000:50000])); err != nil || n != 49000 {
		t.Fatalf("second chunk: %d %v", n, err)
	}
	// The state lost (a crash between a chunk and its state): rebuilt.
	os.Remove(s.statePath(id))
	if n, err := up.WriteChunk(ctx, 50000, bytes.NewReader(data[50000:])); err != nil || n != int64(len(data)-50000) {
		t.Fatalf("last chunk: %d %v", n, err)
	}
	got, err := s.Sum(id, int64(len(data)))
	if err != nil || !bytes.Equal(got, want[:]) {
		t.Fatalf("sum %x %v, want %x", got, err, want)
	}
	if b, _ := os.ReadFile(s.statePath(id)); len(b) < 8 {
		t.Fatal("no hash state saved after the last chunk")
	}

	if n := s.Sweep(time.Hour); n != 0 {
		t.Fatalf("swept %d files of a live upload", n)
	}
	old := time.Now().Add(-8 * 24 * time.Hour)
	for _, p := range s.Paths(id) {
		os.Chtimes(p, old, old)
	}
	if n := s.Sweep(7 * 24 * time.Hour); n != 3 {
		t.Fatalf("swept %d files of an abandoned upload, want 3", n)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("left after the sweep: %v", left)
	}
}
