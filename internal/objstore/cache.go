package objstore

import (
	"container/list"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// CacheOptions configure a Cache. Zero values take the defaults.
type CacheOptions struct {
	// Dir holds the cached copies (<data>/cache/media); made if missing.
	Dir string
	// MaxBytes bounds the copies kept, in bytes
	// (SHOEBOX_MEDIA_CACHE_BYTES). Default 2 GiB.
	MaxBytes int64
	// TTL is how long a copy is served without asking the store whether it
	// is still current (SHOEBOX_MEDIA_CACHE_TTL). Default 1 minute.
	TTL time.Duration
	// MissTTL is how long "no such object" is remembered. Default 10
	// seconds (and never more than TTL).
	MissTTL time.Duration
	// Now tells the time; nil: time.Now. Tests move it by hand.
	Now func() time.Time
}

// Defaults of CacheOptions.
const (
	DefaultCacheBytes = 2 << 30
	DefaultCacheTTL   = time.Minute
	DefaultMissTTL    = 10 * time.Second
)

// Cache is a bounded local read-through cache of a Bucket: every process
// serves media from its own copies, on disk, so a thumbnail costs no SQL
// and, most of the time, no request to the store.
//
// The staleness rule. A copy is served as it is for TTL after the store
// last vouched for it; the first request after that revalidates it with a
// HEAD: the same ETag keeps the copy (vouched for again), another ETag (the
// object was rewritten) fetches the new one, "not found" (removed) drops
// it. So a rewrite or removal made by another process is served at most
// TTL late; this process's own writes and removals (Put, Remove) are seen
// at once. While the store cannot be reached, copies are served as they
// are (stale rather than nothing) and asked about again a TTL later.
//
// A not-found is remembered for MissTTL as an entry without a copy (it
// takes no room on disk and little in memory, and is the first to go when
// room is needed): a gallery asking again and again for a thumbnail not
// made yet costs one request to the store per MissTTL, not one per view.
//
// Fetches are shared: concurrent requests for a key that needs the store
// wait for one request (singleflight), whatever their number.
//
// Copies are named key@ETag under Dir, so they outlive a restart: at
// start they are taken back, each to be revalidated at its first use.
// When the copies outgrow MaxBytes the least recently used are deleted
// (a reader holding one open keeps reading it: the file lives until it is
// closed). An object larger than MaxBytes on its own is served from a copy
// that is deleted as soon as it is opened.
type Cache struct {
	b       Bucket
	o       CacheOptions
	flights singleflight.Group

	mu      sync.Mutex
	entries map[string]*entry
	lru     list.List // of *entry, most recently used first
	used    int64     // bytes of copies on disk
}

type entry struct {
	key     string
	info    Info
	file    string // the copy; "": none kept
	missing bool   // a remembered not-found
	checked time.Time
	el      *list.Element
}

// NewCache opens the cache in o.Dir over b, taking back the copies a
// previous run left there.
func NewCache(b Bucket, o CacheOptions) (*Cache, error) {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultCacheBytes
	}
	if o.TTL <= 0 {
		o.TTL = DefaultCacheTTL
	}
	if o.MissTTL <= 0 {
		o.MissTTL = DefaultMissTTL
	}
	o.MissTTL = min(o.MissTTL, o.TTL)
	if o.Now == nil {
		o.Now = time.Now
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("objstore: cache: %w", err)
	}
	c := &Cache{b: b, o: o, entries: map[string]*entry{}}
	if err := c.reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// TTL is how long a copy is served before it is revalidated.
func (c *Cache) TTL() time.Duration { return c.o.TTL }

// Now is the cache's clock (CacheOptions.Now): what a copy kept elsewhere
// (the web's thumbnails in memory) measures its TTL with.
func (c *Cache) Now() time.Time { return c.o.Now() }

// Dir is the folder of the copies: a place on this machine's disk for
// temporary files too (they are named so that a restart removes any left).
func (c *Cache) Dir() string { return c.o.Dir }

// Bucket is the store the cache reads through.
func (c *Cache) Bucket() Bucket { return c.b }

// Used says how many bytes of copies the cache holds.
func (c *Cache) Used() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used
}

// reload takes back the copies on disk, least recently modified last in
// line, and removes half-written ones.
func (c *Cache) reload() error {
	type found struct {
		e   *entry
		mod time.Time
	}
	var all []found
	err := filepath.WalkDir(c.o.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(c.o.Dir, p)
		key, etag, ok := parseCopy(filepath.ToSlash(rel))
		fi, ierr := d.Info()
		if !ok || ierr != nil || !fi.Mode().IsRegular() {
			os.Remove(p)
			return nil
		}
		all = append(all, found{&entry{key: key, info: Info{Size: fi.Size(), ETag: etag}, file: p}, fi.ModTime()})
		return nil
	})
	if err != nil {
		return fmt.Errorf("objstore: cache: %w", err)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].mod.After(all[j].mod) })
	for _, f := range all {
		if old := c.entries[f.e.key]; old != nil { // two versions left: keep the newer
			os.Remove(f.e.file)
			continue
		}
		f.e.el = c.lru.PushBack(f.e)
		c.entries[f.e.key] = f.e
		c.used += f.e.info.Size
	}
	c.evict(0)
	return nil
}

// copyName is where the copy of version etag of key lives, relative to Dir.
func copyName(key, etag string) string {
	return key + "@" + base64.RawURLEncoding.EncodeToString([]byte(etag))
}

func parseCopy(rel string) (key, etag string, ok bool) {
	i := strings.LastIndexByte(rel, '@')
	if i <= 0 || strings.Contains(rel, ".tmp-") {
		return "", "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(rel[i+1:])
	if err != nil {
		return "", "", false
	}
	return rel[:i], string(b), true
}

// Open opens the copy of key, fetching or revalidating it first when the
// staleness rule says so; ErrNotFound when there is no such object. The
// caller closes the file.
func (c *Cache) Open(ctx context.Context, key string) (*os.File, Info, error) {
	if f, info, err, ok := c.fresh(key); ok {
		return f, info, err
	}
	_, err, _ := c.flights.Do(key, func() (any, error) {
		// Detached from one caller: the others wait for the same answer.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
		defer cancel()
		return nil, c.refresh(fctx, key)
	})
	if err != nil {
		return nil, Info{}, err
	}
	if f, info, err, ok := c.fresh(key); ok {
		return f, info, err
	}
	// Just fetched, yet no longer there: too big to keep (opened and
	// deleted in refresh's place) or evicted at once by a crowd of others.
	// Read it once more, for this caller only.
	return c.once(ctx, key)
}

// fetchTimeout bounds one fetch from the store.
const fetchTimeout = 2 * time.Minute

// fresh answers from the cache alone when the entry needs no revalidation:
// the copy (opened), or ErrNotFound for a remembered not-found. ok false:
// ask the store.
func (c *Cache) fresh(key string) (*os.File, Info, error, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[key]
	if e == nil {
		return nil, Info{}, nil, false
	}
	age := c.o.Now().Sub(e.checked)
	if e.missing && age < c.o.MissTTL {
		return nil, Info{}, ErrNotFound, true
	}
	if e.file == "" || age >= c.o.TTL {
		return nil, Info{}, nil, false
	}
	f, err := os.Open(e.file)
	if err != nil { // deleted behind our back: forget it
		c.drop(e)
		return nil, Info{}, nil, false
	}
	c.lru.MoveToFront(e.el)
	return f, e.info, nil, true
}

// refresh brings the entry of key up to date with the store (one at a time
// per key: called under the flight).
func (c *Cache) refresh(ctx context.Context, key string) error {
	c.mu.Lock()
	e := c.entries[key]
	var have Info
	if e != nil && e.file != "" {
		have = e.info
	}
	c.mu.Unlock()
	if have.ETag != "" {
		info, err := c.b.Stat(ctx, key)
		switch {
		case errors.Is(err, ErrNotFound):
			c.remember(key, Info{}, "", true)
			return nil
		case err != nil:
			// The store is out of reach: serve the copy we have, and ask
			// again a TTL later rather than on every request.
			c.vouch(key, have.ETag)
			return nil
		case info.ETag == have.ETag:
			c.vouch(key, have.ETag)
			return nil
		}
	}
	r, info, err := c.b.Get(ctx, key)
	if errors.Is(err, ErrNotFound) {
		c.remember(key, Info{}, "", true)
		return nil
	}
	if err != nil {
		return err
	}
	defer r.Close()
	tmp, err := c.write(key, r)
	if err != nil {
		return err
	}
	info.Size = fileSize(tmp, info.Size)
	c.remember(key, info, tmp, false)
	return nil
}

// write saves r as a half-written copy of key; the caller names it.
func (c *Cache) write(key string, r io.Reader) (string, error) {
	dir := filepath.Join(c.o.Dir, filepath.Dir(filepath.FromSlash(key)))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("objstore: cache: %w", err)
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return "", fmt.Errorf("objstore: cache: %w", err)
	}
	_, werr := io.Copy(f, r)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("objstore: fetch %s: %w", key, werr)
	}
	return f.Name(), nil
}

func fileSize(p string, def int64) int64 {
	if fi, err := os.Stat(p); err == nil {
		return fi.Size()
	}
	return def
}

// remember records what the store said of key just now: that there is no
// such object (missing), or version info, with its copy in the
// half-written file tmp ("": none fetched). The copy takes its place under
// its name, and older copies make room.
func (c *Cache) remember(key string, info Info, tmp string, missing bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.entries[key]; old != nil {
		c.drop(old)
	}
	e := &entry{key: key, info: info, missing: missing, checked: c.o.Now()}
	if tmp != "" {
		if info.Size > c.o.MaxBytes {
			// Too big to keep: no entry (the caller reads it once and it goes).
			os.Remove(tmp)
			return
		}
		e.file = filepath.Join(c.o.Dir, filepath.FromSlash(copyName(key, info.ETag)))
		if err := os.Rename(tmp, e.file); err != nil {
			os.Remove(tmp)
			return
		}
		c.evict(info.Size)
		c.used += info.Size
	}
	e.el = c.lru.PushFront(e)
	c.entries[key] = e
}

// vouch marks the copy of key (version etag) as current as of now.
func (c *Cache) vouch(key, etag string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[key]; e != nil && e.info.ETag == etag {
		e.checked = c.o.Now()
	}
}

// drop forgets e and deletes its copy. Under mu.
func (c *Cache) drop(e *entry) {
	c.lru.Remove(e.el)
	delete(c.entries, e.key)
	if e.file != "" {
		os.Remove(e.file)
		c.used -= e.info.Size
	}
}

// evict deletes the least recently used copies until room more bytes fit
// within MaxBytes; remembered not-founds beyond a generous count go too.
// Under mu.
func (c *Cache) evict(room int64) {
	for el := c.lru.Back(); el != nil && (c.used+room > c.o.MaxBytes || c.lru.Len() > maxEntries); {
		prev := el.Prev()
		e := el.Value.(*entry)
		if e.file != "" || c.lru.Len() > maxEntries {
			c.drop(e)
		}
		el = prev
	}
}

// maxEntries bounds the entries kept (copies and not-founds alike), so
// that asking for ever new missing keys cannot fill memory.
const maxEntries = 1 << 20

// once fetches key straight into a file that is deleted as soon as it is
// open: for an object too big to keep.
func (c *Cache) once(ctx context.Context, key string) (*os.File, Info, error) {
	r, info, err := c.b.Get(ctx, key)
	if err != nil {
		return nil, Info{}, err
	}
	defer r.Close()
	tmp, err := c.write(key, r)
	if err != nil {
		return nil, Info{}, err
	}
	defer os.Remove(tmp)
	f, err := os.Open(tmp)
	if err != nil {
		return nil, Info{}, fmt.Errorf("objstore: cache: %w", err)
	}
	info.Size = fileSize(tmp, info.Size)
	return f, info, nil
}

// Put stores r under key in the bucket, keeping a copy: this process sees
// its own writes at once.
func (c *Cache) Put(ctx context.Context, key string, r io.Reader) error {
	tmp, err := c.write(key, r)
	if err != nil {
		return err
	}
	return c.PutFile(ctx, key, tmp)
}

// PutFile stores the file at path under key, then moves it into the cache
// (path must be on the cache's file system, e.g. made by TempFile; it is
// gone afterwards whatever happens).
func (c *Cache) PutFile(ctx context.Context, key, path string) error {
	f, err := os.Open(path)
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("objstore: %w", err)
	}
	fi, err := f.Stat()
	if err == nil {
		var info Info
		info, err = c.b.Put(ctx, key, f, fi.Size())
		info.Size = fi.Size()
		f.Close()
		if err == nil {
			c.remember(key, info, path, false)
			return nil
		}
	} else {
		f.Close()
	}
	os.Remove(path)
	return err
}

// TempFile makes an empty file on the cache's file system, for PutFile.
func (c *Cache) TempFile() (*os.File, error) {
	f, err := os.CreateTemp(c.o.Dir, ".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("objstore: cache: %w", err)
	}
	return f, nil
}

// Remove deletes key from the bucket and its copy here.
func (c *Cache) Remove(ctx context.Context, key string) error {
	if err := c.b.Remove(ctx, key); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	c.remember(key, Info{}, "", true)
	return nil
}

// Has says whether key is there, by the same rule as Open (a HEAD at most
// once per TTL, or per MissTTL for a missing one), without fetching it.
func (c *Cache) Has(ctx context.Context, key string) (bool, error) {
	c.mu.Lock()
	if e := c.entries[key]; e != nil {
		age := c.o.Now().Sub(e.checked)
		if e.missing && age < c.o.MissTTL || !e.missing && age < c.o.TTL {
			c.mu.Unlock()
			return !e.missing, nil
		}
	}
	c.mu.Unlock()
	_, err, _ := c.flights.Do("has\x00"+key, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
		defer cancel()
		info, err := c.b.Stat(fctx, key)
		switch {
		case errors.Is(err, ErrNotFound):
			c.remember(key, Info{}, "", true)
			return nil, nil
		case err != nil:
			c.mu.Lock()
			e := c.entries[key]
			c.mu.Unlock()
			if e != nil && !e.missing { // out of reach: go by what we knew
				c.vouch(key, e.info.ETag)
				return nil, nil
			}
			return nil, err
		}
		c.mu.Lock()
		e := c.entries[key]
		c.mu.Unlock()
		if e != nil && !e.missing && e.info.ETag == info.ETag {
			c.vouch(key, info.ETag)
		} else {
			c.remember(key, info, "", false)
		}
		return nil, nil
	})
	if err != nil {
		return false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[key]
	return e != nil && !e.missing, nil
}
