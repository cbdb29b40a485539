package library

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"shoebox/internal/objstore"
)

// Source is where a library's files are: a folder on this machine
// (Folder), or objects under a key prefix of the media bucket (Objects,
// for upload libraries when media are on S3 and every process must reach
// the same files). A library's root says which: an absolute path, or the
// s3:// URL of its folder of objects.
type Source interface {
	// Root is the library's root as the database keeps it.
	Root() string
	// Walk calls fn for every photo or video file of the library.
	Walk(ctx context.Context, o WalkOptions, fn func(Entry) error) error
	// Hash reads rel and returns its photo id and SHA-256.
	Hash(ctx context.Context, rel string) (id string, sum []byte, err error)
	// Remove deletes rel (only ever an upload: see jobs' deletePurged);
	// removing none is no error.
	Remove(ctx context.Context, rel string) error
}

// IsObjects says whether root names a folder of objects (s3://…).
func IsObjects(root string) bool { return strings.HasPrefix(root, "s3://") }

// Open is the source of the library at root: a folder, or for an s3://
// root the objects under it in b (the media bucket; nil when media are not
// on S3, and then an s3:// root is an error, as is one naming another
// bucket than b).
func Open(root string, b objstore.Bucket) (Source, error) {
	if !IsObjects(root) {
		return Folder(root), nil
	}
	prefix, err := KeyOf(b, root)
	if err != nil {
		return nil, err
	}
	return Objects{B: b, Prefix: prefix}, nil
}

// KeyOf is the key in b of the object (or folder of objects) that url
// names: url must be b.URL of it.
func KeyOf(b objstore.Bucket, url string) (string, error) {
	if b == nil {
		return "", fmt.Errorf("library %s: on S3, but media are not (SHOEBOX_MEDIA_URL)", url)
	}
	base := b.URL("")
	key, ok := strings.CutPrefix(url, strings.TrimSuffix(base, "/")+"/")
	if !ok || key == "" || path.Clean(key) != key || strings.HasPrefix(key, "../") {
		return "", fmt.Errorf("library %s: not in the media bucket %s (SHOEBOX_MEDIA_URL)", url, base)
	}
	return key, nil
}

// Folder is a library folder on this machine.
type Folder string

func (f Folder) Root() string { return string(f) }

func (f Folder) Walk(ctx context.Context, o WalkOptions, fn func(Entry) error) error {
	return Walk(ctx, string(f), o, fn)
}

func (f Folder) Hash(_ context.Context, rel string) (string, []byte, error) {
	return Hash(filepath.Join(string(f), filepath.FromSlash(rel)))
}

func (f Folder) Remove(_ context.Context, rel string) error {
	if !filepath.IsLocal(filepath.FromSlash(rel)) {
		return fmt.Errorf("remove %q: not inside the library", rel)
	}
	err := os.Remove(filepath.Join(string(f), filepath.FromSlash(rel)))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// Objects is a library kept as objects under Prefix (a key, no trailing
// slash) in bucket B: a file's path relative to the root is its key
// relative to Prefix.
type Objects struct {
	B      objstore.Bucket
	Prefix string
}

func (o Objects) Root() string { return o.B.URL(o.Prefix) }

// Key is the key of rel.
func (o Objects) Key(rel string) string { return o.Prefix + "/" + rel }

// Walk lists the objects; hidden names (a part starting with '.') are left
// out as in a folder, and nothing is followed (there are no links). The
// entries carry the objects' ETags.
func (o Objects) Walk(ctx context.Context, _ WalkOptions, fn func(Entry) error) error {
	err := o.B.List(ctx, o.Prefix+"/", func(ob objstore.Object) error {
		rel := strings.TrimPrefix(ob.Key, o.Prefix+"/")
		if hidden(rel) || !Indexed(rel) {
			return nil
		}
		e := Entry{RelPath: rel, Size: ob.Size, MTime: ob.Modified, ETag: ob.ETag}
		if !utf8.ValidString(rel) || path.Clean(rel) != rel {
			e.RelPath = strings.ToValidUTF8(rel, "\uFFFD")
			e.Err = errors.New("object name is not a clean UTF-8 path")
		}
		return fn(e)
	})
	if err != nil {
		return fmt.Errorf("library %s: %w", o.Root(), err)
	}
	return nil
}

func hidden(rel string) bool {
	for _, p := range strings.Split(rel, "/") {
		if strings.HasPrefix(p, ".") || p == "@eaDir" {
			return true
		}
	}
	return false
}

func (o Objects) Hash(ctx context.Context, rel string) (string, []byte, error) {
	r, _, err := o.B.Get(ctx, o.Key(rel))
	if err != nil {
		return "", nil, err
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", nil, fmt.Errorf("read: %w", err)
	}
	sum := h.Sum(nil)
	return PhotoID(sum), sum, nil
}

func (o Objects) Remove(ctx context.Context, rel string) error {
	if path.Clean(rel) != rel || !filepath.IsLocal(rel) {
		return fmt.Errorf("remove %q: not inside the library", rel)
	}
	return o.B.Remove(ctx, o.Key(rel))
}

// Fetch copies the object at key into a new file in dir, named with the
// key's extension (programs that read files by name go by it), and says
// which version it copied. The caller removes the file.
func Fetch(ctx context.Context, b objstore.Bucket, key, dir string) (string, objstore.Info, error) {
	r, info, err := b.Get(ctx, key)
	if err != nil {
		return "", info, err
	}
	defer r.Close()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", info, fmt.Errorf("fetch %s: %w", key, err)
	}
	f, err := os.CreateTemp(dir, ".orig-*"+strings.ToLower(path.Ext(key)))
	if err != nil {
		return "", info, fmt.Errorf("fetch %s: %w", key, err)
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", info, fmt.Errorf("fetch %s: %w", key, err)
	}
	return f.Name(), info, nil
}
