package upload

import (
	"context"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/tus/tusd/v2/pkg/filestore"
	"github.com/tus/tusd/v2/pkg/handler"
)

// Store is tusd's file store (uploads in progress under one folder) that
// also hashes each upload as its bytes arrive: the SHA-256 state is saved
// beside the upload after every chunk ("ID.sha256": the offset it covers,
// then the hash's state), so a finished upload's hash costs no second read
// of the file, across interruptions and restarts. (A state that does not
// match the offset, after a crash mid-chunk, is rebuilt from the file.)
type Store struct {
	Dir string
	fs  filestore.FileStore
}

// NewStore keeps uploads in progress in dir.
func NewStore(dir string) Store { return Store{Dir: dir, fs: filestore.New(dir)} }

// UseIn gives tusd the store: creation, writing and termination only (no
// concatenation, no deferred length, no downloads).
func (s Store) UseIn(c *handler.StoreComposer) {
	c.UseCore(s)
	c.UseTerminater(s)
}

// NewUpload creates an upload (tusd's DataStore).
func (s Store) NewUpload(ctx context.Context, info handler.FileInfo) (handler.Upload, error) {
	u, err := s.fs.NewUpload(ctx, info)
	if err != nil {
		return nil, err
	}
	i, err := u.GetInfo(ctx)
	if err != nil {
		return nil, err
	}
	return hashingUpload{Upload: u, s: s, id: i.ID}, nil
}

// GetUpload opens an upload in progress (tusd's DataStore).
func (s Store) GetUpload(ctx context.Context, id string) (handler.Upload, error) {
	u, err := s.fs.GetUpload(ctx, id)
	if err != nil {
		return nil, err
	}
	return hashingUpload{Upload: u, s: s, id: id}, nil
}

// AsTerminatableUpload lets tusd end an upload (DELETE).
func (s Store) AsTerminatableUpload(u handler.Upload) handler.TerminatableUpload {
	h := u.(hashingUpload)
	return terminating{s.fs.AsTerminatableUpload(h.Upload), s.statePath(h.id)}
}

type terminating struct {
	handler.TerminatableUpload
	state string
}

func (t terminating) Terminate(ctx context.Context) error {
	if err := os.Remove(t.state); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return t.TerminatableUpload.Terminate(ctx)
}

func (s Store) statePath(id string) string { return filepath.Join(s.Dir, id+".sha256") }

// Paths are the files of upload id: its data, its info and its hash state.
func (s Store) Paths(id string) []string {
	return []string{filepath.Join(s.Dir, id), filepath.Join(s.Dir, id+".info"), s.statePath(id)}
}

type hashingUpload struct {
	handler.Upload
	s  Store
	id string
}

// countWriter counts what the hash was given.
type countWriter struct {
	h hash.Hash
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return c.h.Write(p) }

// WriteChunk writes the chunk at offset, hashing it on the way, and saves
// the hash's state when it covers exactly what is on disk.
func (u hashingUpload) WriteChunk(ctx context.Context, offset int64, src io.Reader) (int64, error) {
	h, err := u.s.resume(u.id, offset)
	if err != nil {
		return 0, err
	}
	cw := &countWriter{h: h}
	n, werr := u.Upload.WriteChunk(ctx, offset, io.TeeReader(src, cw))
	// Bytes read are written before the next read: when as many were hashed
	// as written (a body cut short included), the state is right.
	if cw.n == n {
		if err := u.s.saveState(u.id, offset+n, h); err != nil && werr == nil {
			werr = err
		}
	} else {
		os.Remove(u.s.statePath(u.id))
	}
	return n, werr
}

// resume is the hash of the upload's first offset bytes: from the saved
// state, or read again from the file when the state does not cover them.
func (s Store) resume(id string, offset int64) (hash.Hash, error) {
	h := sha256.New()
	if offset == 0 {
		return h, nil
	}
	if b, err := os.ReadFile(s.statePath(id)); err == nil && len(b) > 8 && int64(binary.BigEndian.Uint64(b)) == offset {
		if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(b[8:]); err == nil {
			return h, nil
		}
		h.Reset()
	}
	f, err := os.Open(filepath.Join(s.Dir, id))
	if err != nil {
		return nil, fmt.Errorf("upload hash: %w", err)
	}
	defer f.Close()
	if n, err := io.Copy(h, io.LimitReader(f, offset)); err != nil || n != offset {
		return nil, fmt.Errorf("upload hash: read %d of %d bytes: %v", n, offset, err)
	}
	return h, nil
}

func (s Store) saveState(id string, offset int64, h hash.Hash) error {
	st, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return err
	}
	b := binary.BigEndian.AppendUint64(nil, uint64(offset))
	tmp := s.statePath(id) + ".tmp"
	if err := os.WriteFile(tmp, append(b, st...), 0o600); err != nil {
		return fmt.Errorf("upload hash: %w", err)
	}
	return os.Rename(tmp, s.statePath(id))
}

// Sum is the SHA-256 of the whole upload id of size bytes: from the state
// saved as it streamed, or (no state covering it) read from the file.
func (s Store) Sum(id string, size int64) ([]byte, error) {
	h, err := s.resume(id, size)
	if err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// Pending is the total size of the uploads in progress whose metadata
// key is value (whose they are).
func (s Store) Pending(key, value string) int64 {
	infos, _ := filepath.Glob(filepath.Join(s.Dir, "*.info"))
	var n int64
	for _, p := range infos {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var info handler.FileInfo
		if json.Unmarshal(b, &info) == nil && info.MetaData[key] == value {
			n += info.Size
		}
	}
	return n
}

var tusFile = regexp.MustCompile(`^[0-9a-f]{32}(\.info|\.sha256|\.sha256\.tmp|\.lock)?$`)

// Sweep removes the uploads in progress that nothing has touched for age:
// abandoned halfway, they would hold disk space forever. It returns how
// many files it removed.
func (s Store) Sweep(age time.Duration) int {
	entries, err := os.ReadDir(s.Dir)
	if err != nil {
		return 0
	}
	latest := map[string]time.Time{}
	for _, e := range entries {
		if !tusFile.MatchString(e.Name()) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		id := e.Name()[:32]
		if t := fi.ModTime(); t.After(latest[id]) {
			latest[id] = t
		}
	}
	n := 0
	for id, t := range latest {
		if time.Since(t) < age {
			continue
		}
		for _, p := range append(s.Paths(id), filepath.Join(s.Dir, id+".lock"), s.statePath(id)+".tmp") {
			if os.Remove(p) == nil && !strings.HasSuffix(p, ".lock") {
				n++
			}
		}
	}
	return n
}
