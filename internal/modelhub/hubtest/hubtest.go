// Package hubtest runs a local model hub for tests: an HTTP server that
// answers in a Hugging Face hub's URL layout (the tree API with Link-header
// pages, resolve URLs), serving model folders from disk, and a second server
// standing for the hub's CDN. As on the real hub, files stored with Git LFS
// (ONNX graphs, anything of 1 MiB or more) are listed with their SHA-256 and
// their resolve URL answers 302 to the CDN; the others are listed with their
// git blob id and served directly. Both servers honour Range requests (206).
//
// Tests can make a transfer stop half-way (the server drops the connection)
// or serve a file with a byte changed, and read back every request made.
package hubtest

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Organization is the account the models are served under.
const Organization = "immich-app"

// Request is one request either server received.
type Request struct {
	Server string // "hub" or "cdn"
	Path   string // the URL path, unescaped
	Query  string
	Range  string // the Range header, if any
}

// Hub is a running local hub.
type Hub struct {
	// URL is the hub's base URL (what SHOEBOX_MODEL_HUB is set to).
	URL string
	// CDN is the base URL of the server LFS files are redirected to.
	CDN string
	// PageSize is how many entries one page of a tree listing holds.
	// Default 4, so that a model's listing spans several pages.
	PageSize int
	// NotFound401 makes an unknown repository answer 401 with
	// X-Error-Code: RepoNotFound, as the real hub answers requests without
	// a token, instead of 404.
	NotFound401 bool

	mu       sync.Mutex
	repos    map[string]map[string]*file // repository name -> path -> file
	byHash   map[string]*file            // SHA-256 -> LFS file
	requests []Request
}

type file struct {
	path    string
	data    []byte
	lfs     bool
	sha256  string
	blobID  string
	dropAt  int64 // >= 0: the next transfer stops after this many bytes
	corrupt bool  // serve with one byte changed
}

// New starts a hub and its CDN; both stop when the test ends.
func New(t testing.TB) *Hub {
	t.Helper()
	h := &Hub{PageSize: 4, repos: map[string]map[string]*file{}, byHash: map[string]*file{}}
	hub := httptest.NewServer(http.HandlerFunc(h.serveHub))
	cdn := httptest.NewServer(http.HandlerFunc(h.serveCDN))
	t.Cleanup(hub.Close)
	t.Cleanup(cdn.Close)
	h.URL = hub.URL
	// Another host name for the same loopback address, so redirects cross
	// hosts as they do from the hub to its CDN.
	u, _ := url.Parse(cdn.URL)
	h.CDN = "http://localhost:" + u.Port()
	return h
}

// AddFolder publishes the files under dir as repository
// immich-app/<name>.
func (h *Hub) AddFolder(t testing.TB, name, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		h.AddFile(name, filepath.ToSlash(rel), b)
		return nil
	})
	if err != nil {
		t.Fatalf("hubtest: %v", err)
	}
}

// AddFile publishes one file in repository immich-app/<name>.
func (h *Hub) AddFile(name, p string, data []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.repos[name] == nil {
		h.repos[name] = map[string]*file{}
	}
	f := &file{path: p, data: data, dropAt: -1}
	switch path.Ext(p) {
	case ".onnx", ".armnn", ".rknn":
		f.lfs = true
	}
	f.lfs = f.lfs || len(data) >= 1<<20
	s := sha256.Sum256(data)
	f.sha256 = hex.EncodeToString(s[:])
	f.blobID = BlobID(data)
	if f.lfs {
		h.byHash[f.sha256] = f
	}
	h.repos[name][p] = f
}

// BlobID is git's object id of a blob with this content: SHA-1 of
// "blob <size>\x00" followed by the content (what `git hash-object` prints).
func BlobID(data []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(data))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

// DropAfter makes the next transfer of a file stop after n bytes: the
// server closes the connection mid-body.
func (h *Hub) DropAfter(name, p string, n int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.repos[name][p].dropAt = n
}

// Corrupt makes the server send a file with its middle byte changed, while
// the listing keeps the true size and checksum.
func (h *Hub) Corrupt(name, p string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.repos[name][p].corrupt = true
}

// Requests returns every request received so far, in order.
func (h *Hub) Requests() []Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.requests)
}

func (h *Hub) record(server string, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests = append(h.requests, Request{Server: server, Path: r.URL.Path, Query: r.URL.RawQuery, Range: r.Header.Get("Range")})
}

// serveHub answers GET /api/models/{org}/{name}/tree/{rev}[?recursive=true&cursor=N]
// and GET /{org}/{name}/resolve/{rev}/{path...}.
func (h *Hub) serveHub(w http.ResponseWriter, r *http.Request) {
	h.record("hub", r)
	if r.Method != http.MethodGet {
		http.Error(w, "method", http.StatusMethodNotAllowed)
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	switch {
	case len(parts) == 6 && parts[0] == "api" && parts[1] == "models" && parts[4] == "tree":
		h.serveTree(w, r, parts[2], parts[3], parts[5])
	case len(parts) >= 5 && parts[2] == "resolve":
		h.serveResolve(w, r, parts[0], parts[1], parts[3], strings.Join(parts[4:], "/"))
	default:
		http.NotFound(w, r)
	}
}

func (h *Hub) repo(w http.ResponseWriter, org, name, rev string) map[string]*file {
	h.mu.Lock()
	files := h.repos[name]
	h.mu.Unlock()
	if org != Organization || files == nil {
		w.Header().Set("X-Error-Code", "RepoNotFound")
		w.Header().Set("Content-Type", "application/json")
		status := http.StatusNotFound
		if h.NotFound401 {
			status = http.StatusUnauthorized
		}
		w.WriteHeader(status)
		fmt.Fprint(w, `{"error":"Repository Not Found"}`)
		return nil
	}
	if rev != "main" {
		w.Header().Set("X-Error-Code", "RevisionNotFound")
		http.Error(w, `{"error":"Invalid rev id"}`, http.StatusNotFound)
		return nil
	}
	return files
}

type treeEntry struct {
	Type string   `json:"type"`
	OID  string   `json:"oid"`
	Size int64    `json:"size"`
	Path string   `json:"path"`
	LFS  *lfsInfo `json:"lfs,omitempty"`
}

type lfsInfo struct {
	OID         string `json:"oid"`
	Size        int64  `json:"size"`
	PointerSize int    `json:"pointerSize"`
}

func (h *Hub) serveTree(w http.ResponseWriter, r *http.Request, org, name, rev string) {
	files := h.repo(w, org, name, rev)
	if files == nil {
		return
	}
	recursive := r.URL.Query().Get("recursive") == "true"
	dirs := map[string]bool{}
	var entries []treeEntry
	for _, f := range files {
		for d := path.Dir(f.path); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
		if !recursive && strings.Contains(f.path, "/") {
			continue
		}
		e := treeEntry{Type: "file", OID: f.blobID, Size: int64(len(f.data)), Path: f.path}
		if f.lfs {
			pointer := fmt.Sprintf("lfs pointer\noid sha256:%s\nsize %d\n", f.sha256, len(f.data))
			e.OID = BlobID([]byte(pointer))
			e.LFS = &lfsInfo{OID: f.sha256, Size: int64(len(f.data)), PointerSize: len(pointer)}
		}
		entries = append(entries, e)
	}
	for d := range dirs {
		if recursive || !strings.Contains(d, "/") {
			entries = append(entries, treeEntry{Type: "directory", OID: BlobID([]byte(d)), Path: d})
		}
	}
	slices.SortFunc(entries, func(a, b treeEntry) int { return strings.Compare(a.Path, b.Path) })

	start, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
	start = min(max(start, 0), len(entries))
	end := min(start+max(h.PageSize, 1), len(entries))
	if end < len(entries) {
		q := r.URL.Query()
		q.Set("cursor", strconv.Itoa(end))
		next := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawQuery: q.Encode()}
		w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="next"`, next.String()))
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(entries[start:end])
}

func (h *Hub) serveResolve(w http.ResponseWriter, r *http.Request, org, name, rev, p string) {
	files := h.repo(w, org, name, rev)
	if files == nil {
		return
	}
	f := files[p]
	if f == nil {
		w.Header().Set("X-Error-Code", "EntryNotFound")
		http.Error(w, "Entry not found", http.StatusNotFound)
		return
	}
	if f.lfs {
		http.Redirect(w, r, h.CDN+"/lfs/"+f.sha256+"?download=true", http.StatusFound)
		return
	}
	h.serveFile(w, r, f)
}

func (h *Hub) serveCDN(w http.ResponseWriter, r *http.Request) {
	h.record("cdn", r)
	h.mu.Lock()
	f := h.byHash[strings.TrimPrefix(r.URL.Path, "/lfs/")]
	h.mu.Unlock()
	if f == nil {
		http.NotFound(w, r)
		return
	}
	h.serveFile(w, r, f)
}

// serveFile sends a file with http.ServeContent (Range, 206, 416), after
// applying a pending drop or corruption.
func (h *Hub) serveFile(w http.ResponseWriter, r *http.Request, f *file) {
	h.mu.Lock()
	data, dropAt := f.data, f.dropAt
	f.dropAt = -1
	if f.corrupt {
		data = bytes.Clone(data)
		data[len(data)/2] ^= 0xff
	}
	h.mu.Unlock()
	if dropAt >= 0 {
		w = &dropWriter{ResponseWriter: w, left: dropAt}
	}
	http.ServeContent(w, r, path.Base(f.path), time.Time{}, bytes.NewReader(data))
}

// dropWriter lets `left` bytes of the body through, then aborts the
// handler, which makes the server close the connection mid-body.
type dropWriter struct {
	http.ResponseWriter
	left int64
}

func (d *dropWriter) Write(b []byte) (int, error) {
	if int64(len(b)) <= d.left {
		d.left -= int64(len(b))
		return d.ResponseWriter.Write(b)
	}
	d.ResponseWriter.Write(b[:d.left])
	http.NewResponseController(d.ResponseWriter).Flush()
	panic(http.ErrAbortHandler)
}
