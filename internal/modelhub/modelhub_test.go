package modelhub_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"shoebox/internal/ai/toymodel"
	"shoebox/internal/modelhub"
	"shoebox/internal/modelhub/hubtest"
)

// extras are files Immich's repositories hold for other backends (and the
// repository's own files); the ONNX Runtime backend needs none of them.
var extras = map[string]string{
	"README.md":                         "# toy\n",
	".gitattributes":                    "*.onnx filter=lfs diff=lfs merge=lfs -text\n",
	"visual/model.armnn":                "armnn graph",
	"textual/model.armnn":               "armnn graph",
	"visual/fp16/model.armnn":           "fp16 armnn graph",
	"textual/rknpu/rk3588/model.rknn":   "rknn graph",
	"visual/openvino/model.xml":         "<net/>",
	"detection/model.onnx":              "not ours",
	"visual/../../../escape.txt":        "hostile path",
	"textual/..":                        "hostile path",
	"textual/sub/../../../../etc/x.txt": "hostile path",
}

// toyModel writes the toy CLIP model folder and returns it with its files.
func toyModel(t *testing.T) (string, map[string][]byte) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "src")
	if err := toymodel.Write(dir, toymodel.Options{}); err != nil {
		t.Fatal(err)
	}
	return dir, readTree(t, dir)
}

// readTree reads every file under dir, by slash-separated relative path.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func newHub(t *testing.T, name string) (*hubtest.Hub, map[string][]byte) {
	t.Helper()
	src, files := toyModel(t)
	h := hubtest.New(t)
	h.AddFolder(t, name, src)
	for p, data := range extras {
		h.AddFile(name, p, []byte(data))
	}
	return h, files
}

// recorder is a Progress that keeps what it heard.
type recorder struct {
	mu           sync.Mutex
	files        int
	total, added int64
	began, ended int
	started      []string
	resumedFrom  map[string]int64
}

func (r *recorder) Begin(files int, total int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.began++
	r.files, r.total = files, total
}

func (r *recorder) File(path string, size, from int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started = append(r.started, path)
	if r.resumedFrom == nil {
		r.resumedFrom = map[string]int64{}
	}
	r.resumedFrom[path] = from
}

func (r *recorder) Add(n int64) { r.mu.Lock(); r.added += n; r.mu.Unlock() }
func (r *recorder) End()        { r.mu.Lock(); r.ended++; r.mu.Unlock() }

func sameFiles(t *testing.T, dir string, want map[string][]byte) {
	t.Helper()
	got := readTree(t, dir)
	for p, data := range want {
		if !bytes.Equal(got[p], data) {
			t.Errorf("%s: %d bytes installed, want the %d bytes served", p, len(got[p]), len(data))
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("%s installed, but the ONNX backend does not need it", p)
		}
	}
}

func TestGetInstallsModel(t *testing.T) {
	h, files := newHub(t, "toy-clip")
	models := filepath.Join(t.TempDir(), "models")
	rec := &recorder{}
	c := &modelhub.Client{Hub: h.URL + "/", Progress: rec}
	dir, err := c.Get(context.Background(), "toy-clip", models)
	if err != nil {
		t.Fatal(err)
	}
	if dir != filepath.Join(models, "toy-clip") {
		t.Fatalf("installed in %s", dir)
	}
	sameFiles(t, dir, files)

	var total int64
	for _, b := range files {
		total += int64(len(b))
	}
	if rec.began != 1 || rec.ended != 1 || rec.files != len(files) || rec.total != total || rec.added != total {
		t.Errorf("progress: %+v, want %d files, %d bytes", rec, len(files), total)
	}

	var trees, redirected int
	for _, r := range h.Requests() {
		switch {
		case r.Server == "hub" && strings.Contains(r.Path, "/tree/"):
			trees++
			if !strings.Contains(r.Query, "recursive=true") {
				t.Errorf("tree listing without recursive=true: %+v", r)
			}
		case r.Server == "cdn":
			redirected++
		}
		for p := range extras {
			if strings.HasSuffix(r.Path, "/"+p) {
				t.Errorf("fetched %s, which the ONNX backend does not need", p)
			}
		}
	}
	if trees < 2 {
		t.Errorf("%d tree requests: the listing's Link pages were not followed", trees)
	}
	if redirected == 0 {
		t.Error("no LFS file was fetched from the CDN the hub redirects to")
	}
	for _, p := range []string{filepath.Join(models, "escape.txt"), filepath.Join(filepath.Dir(models), "escape.txt")} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("a hostile path in the listing wrote %s", p)
		}
	}

	list, err := modelhub.List(models)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Name != "toy-clip" || list[0].Dim != 8 || list[0].Bytes != total || list[0].Partial {
		t.Fatalf("List = %+v, want toy-clip, 8-d, %d bytes", list, total)
	}

	// A second get says it is there and asks nothing.
	n := len(h.Requests())
	if _, err := c.Get(context.Background(), "toy-clip", models); !errors.Is(err, modelhub.ErrInstalled) {
		t.Fatalf("second get: %v, want ErrInstalled", err)
	}
	if len(h.Requests()) != n {
		t.Error("a second get of an installed model made requests")
	}
}

// An interrupted transfer leaves nothing that looks installed, and the next
// get continues the file with a Range request instead of starting over.
func TestGetResumesInterruptedDownload(t *testing.T) {
	h, files := newHub(t, "toy-clip")
	const big = "textual/model.onnx"
	half := int64(len(files[big]) / 2)
	h.DropAfter("toy-clip", big, half)
	models := t.TempDir()
	c := &modelhub.Client{Hub: h.URL}

	_, err := c.Get(context.Background(), "toy-clip", models)
	if err == nil || !strings.Contains(err.Error(), big) || !strings.Contains(err.Error(), "again to resume") {
		t.Fatalf("interrupted get: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(models, "toy-clip")); err == nil {
		t.Fatal("an interrupted download left an installed-looking folder")
	}
	list, err := modelhub.List(models)
	if err != nil || len(list) != 1 || !list[0].Partial {
		t.Fatalf("List after interruption = %+v, %v; want one partial download", list, err)
	}
	part, err := os.Stat(filepath.Join(models, ".partial", "toy-clip", "textual", "model.onnx.part"))
	if err != nil || part.Size() != half {
		t.Fatalf("partial file: %v, %v; want %d bytes kept", part, err, half)
	}

	before := len(h.Requests())
	rec := &recorder{}
	c.Progress = rec
	dir, err := c.Get(context.Background(), "toy-clip", models)
	if err != nil {
		t.Fatal(err)
	}
	sameFiles(t, dir, files)
	if rec.resumedFrom[big] != half {
		t.Errorf("progress says %s resumed from %d, want %d", big, rec.resumedFrom[big], half)
	}
	var ranged bool
	for _, r := range h.Requests()[before:] {
		if r.Server == "cdn" && r.Range == "bytes="+strconv.FormatInt(half, 10)+"-" {
			ranged = true
		}
		if strings.HasSuffix(r.Path, "/resolve/main/config.json") || strings.HasSuffix(r.Path, "/resolve/main/textual/merges.txt") {
			t.Error("a file finished before the interruption was fetched again")
		}
	}
	if !ranged {
		t.Errorf("no Range request for the rest of %s: %+v", big, h.Requests()[before:])
	}
	if _, err := os.Lstat(filepath.Join(models, ".partial", "toy-clip")); err == nil {
		t.Error("the staging folder outlived the install")
	}
}

// With retries, one get rides over a dropped connection by itself.
func TestGetRetriesDroppedConnection(t *testing.T) {
	h, files := newHub(t, "toy-clip")
	h.DropAfter("toy-clip", "textual/model.onnx", 1000)
	h.DropAfter("toy-clip", "textual/merges.txt", 10) // served by the hub itself, not the CDN
	c := &modelhub.Client{Hub: h.URL, Retries: 2, RetryWait: 1}
	dir, err := c.Get(context.Background(), "toy-clip", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sameFiles(t, dir, files)
	ranges := map[string]bool{}
	for _, r := range h.Requests() {
		if r.Range != "" {
			ranges[r.Server+" "+r.Path+" "+r.Range] = true
		}
	}
	for _, want := range []string{
		"hub /immich-app/toy-clip/resolve/main/textual/merges.txt bytes=10-",
		"hub /immich-app/toy-clip/resolve/main/textual/model.onnx bytes=1000-",
	} {
		if !ranges[want] {
			t.Errorf("no request %q; range requests: %v", want, ranges)
		}
	}
	var cdn bool
	for r := range ranges {
		cdn = cdn || strings.HasPrefix(r, "cdn /lfs/") && strings.HasSuffix(r, " bytes=1000-")
	}
	if !cdn {
		t.Errorf("the Range header did not follow the redirect to the CDN: %v", ranges)
	}
}

func TestGetRefusesWrongChecksum(t *testing.T) {
	for _, p := range []string{"visual/model.onnx", "config.json"} { // SHA-256 (LFS), git blob id
		t.Run(p, func(t *testing.T) {
			h, _ := newHub(t, "toy-clip")
			h.Corrupt("toy-clip", p)
			models := t.TempDir()
			_, err := (&modelhub.Client{Hub: h.URL, Retries: 3, RetryWait: 1}).Get(context.Background(), "toy-clip", models)
			if !errors.Is(err, modelhub.ErrChecksum) || !strings.Contains(err.Error(), p) {
				t.Fatalf("get of a corrupted %s: %v, want ErrChecksum naming it", p, err)
			}
			if _, err := os.Lstat(filepath.Join(models, "toy-clip")); err == nil {
				t.Fatal("a failed download left an installed-looking folder")
			}
			staged := filepath.Join(models, ".partial", "toy-clip", filepath.FromSlash(p))
			for _, f := range []string{staged, staged + ".part"} {
				if _, err := os.Lstat(f); err == nil {
					t.Errorf("the corrupted download stayed in %s", f)
				}
			}
		})
	}
}

func TestGetNotFound(t *testing.T) {
	for _, as401 := range []bool{false, true} {
		h, _ := newHub(t, "toy-clip")
		h.NotFound401 = as401
		models := filepath.Join(t.TempDir(), "models")
		_, err := (&modelhub.Client{Hub: h.URL}).Get(context.Background(), "ViT-X-99__nobody", models)
		if !errors.Is(err, modelhub.ErrNotFound) || !strings.Contains(err.Error(), "immich-app/ViT-X-99__nobody") {
			t.Fatalf("401=%v: %v, want ErrNotFound naming the repository", as401, err)
		}
		if _, err := os.Lstat(models); err == nil {
			t.Errorf("401=%v: a missing model created %s", as401, models)
		}
	}
}

func TestGetRefusesBadNames(t *testing.T) {
	h, _ := newHub(t, "toy-clip")
	parent := t.TempDir()
	models := filepath.Join(parent, "models")
	c := &modelhub.Client{Hub: h.URL}
	for _, name := range []string{"../x", "a/b/c", "", ".", "..", ".partial", "/etc", `a\b`, "a b", "x\x00y", "toy-clip/../toy-clip", strings.Repeat("a", 97)} {
		if _, err := c.Get(context.Background(), name, models); !errors.Is(err, modelhub.ErrBadName) {
			t.Errorf("Get(%q): %v, want ErrBadName", name, err)
		}
	}
	if n := len(h.Requests()); n != 0 {
		t.Errorf("bad names made %d requests", n)
	}
	if ents, _ := os.ReadDir(parent); len(ents) != 0 {
		t.Errorf("bad names created %v", ents)
	}
}

// Multilingual and SentencePiece models are refused from their tokenizer
// config, before the graphs are fetched.
func TestGetRefusesOtherTokenizers(t *testing.T) {
	h, _ := newHub(t, "XLM-Roberta-Toy")
	h.AddFile("XLM-Roberta-Toy", "textual/tokenizer_config.json", []byte(`{"tokenizer_class": "XLMRobertaTokenizer", "model_max_length": 77}`))
	h.AddFile("XLM-Roberta-Toy", "textual/sentencepiece.bpe.model", []byte("spm"))
	models := t.TempDir()
	_, err := (&modelhub.Client{Hub: h.URL}).Get(context.Background(), "XLM-Roberta-Toy", models)
	if !errors.Is(err, modelhub.ErrUnsupported) || !strings.Contains(err.Error(), "XLMRobertaTokenizer") {
		t.Fatalf("get: %v, want ErrUnsupported naming the tokenizer", err)
	}
	for _, r := range h.Requests() {
		if strings.HasSuffix(r.Path, ".onnx") || r.Server == "cdn" {
			t.Errorf("fetched %s of a model it then refused", r.Path)
		}
	}
	if list, _ := modelhub.List(models); len(list) != 0 {
		t.Errorf("a refused model left %+v", list)
	}
}

func TestGetRefusesNonCLIPRepository(t *testing.T) {
	h := hubtest.New(t)
	h.AddFile("buffalo_l", "detection/model.onnx", []byte("face detector"))
	h.AddFile("buffalo_l", "recognition/model.onnx", []byte("face recogniser"))
	_, err := (&modelhub.Client{Hub: h.URL}).Get(context.Background(), "buffalo_l", t.TempDir())
	if !errors.Is(err, modelhub.ErrUnsupported) || !strings.Contains(err.Error(), "visual/model.onnx") {
		t.Fatalf("get of a face model: %v, want ErrUnsupported naming what is missing", err)
	}
}

func TestListEmpty(t *testing.T) {
	list, err := modelhub.List(filepath.Join(t.TempDir(), "none"))
	if err != nil || len(list) != 0 {
		t.Fatalf("List of a missing folder = %v, %v", list, err)
	}
}

// Two gets of one model do not write the same staging files.
func TestGetRefusesConcurrentDownload(t *testing.T) {
	h, files := newHub(t, "toy-clip")
	models := t.TempDir()
	if err := os.MkdirAll(filepath.Join(models, ".partial"), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(models, ".partial", "toy-clip.lock"))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	c := &modelhub.Client{Hub: h.URL}
	if _, err := c.Get(context.Background(), "toy-clip", models); !errors.Is(err, modelhub.ErrBusy) {
		t.Fatalf("get while another holds the lock: %v, want ErrBusy", err)
	}
	f.Close() // the other process ends
	dir, err := c.Get(context.Background(), "toy-clip", models)
	if err != nil {
		t.Fatal(err)
	}
	sameFiles(t, dir, files)
}
