// Package modelhub installs CLIP models by name from a Hugging Face hub:
// `shoebox model get ViT-B-32__openai` fetches the repository
// immich-app/ViT-B-32__openai (the exports Immich publishes) into
// <data>/models/ViT-B-32__openai.
//
// It speaks the hub's own HTTP API: the file list comes from
// GET /api/models/{repo}/tree/{revision}?recursive=true (paginated with a
// Link header), the files from GET /{repo}/resolve/{revision}/{path}, which
// redirects to a CDN for files stored with Git LFS. Only what the ONNX
// Runtime backend reads is fetched: config.json and the files directly in
// visual/ and textual/, not the ARM NN, RKNN or other backends' files.
//
// A download is built in a staging folder (<models>/.partial/NAME) and
// renamed into place only when every file has the size and checksum the hub
// lists (SHA-256 for LFS files, the git blob id for the others), so a
// failed or interrupted download never leaves a folder that looks
// installed. Running the same command again resumes it: finished files are
// kept and partial ones continue with an HTTP Range request.
package modelhub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"syscall"
	"time"
)

// DefaultHub is the hub asked when SHOEBOX_MODEL_HUB is not set.
const DefaultHub = "https://huggingface.co"

// Organization is the hub account whose repositories hold Immich's exports.
const Organization = "immich-app"

// Revision is the branch every file is read from.
const Revision = "main"

// partialDir is the folder under the models folder where downloads are
// staged; its leading dot keeps it out of `model list` and name lookups.
const partialDir = ".partial"

var (
	// ErrBadName: the name could not be a model folder (a path, "..", odd characters).
	ErrBadName = errors.New("not a model name")
	// ErrNotFound: the hub has no such repository.
	ErrNotFound = errors.New("model not found")
	// ErrUnsupported: the repository is not a CLIP model Shoebox can run.
	ErrUnsupported = errors.New("model not supported")
	// ErrChecksum: a file did not match the size or checksum the hub lists.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrInstalled: the model folder already exists.
	ErrInstalled = errors.New("already installed")
	// ErrBusy: another process is downloading the same model.
	ErrBusy = errors.New("download in progress")
)

// nameRE is what a hub repository name may be (letters, digits, '-', '_',
// '.'; at most 96 characters, the hub's own limit), but not starting with
// a dot (so no name is ".", ".." or the staging folder) or a dash (a flag).
var nameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,95}$`)

// ValidName reports whether name can be a model: it becomes one path
// element under the models folder and one segment of the hub's URLs, so
// anything else ("../x", "a/b") is refused before a request is made.
func ValidName(name string) error {
	if !nameRE.MatchString(name) || name == "." || name == ".." {
		return fmt.Errorf("modelhub: %q: %w (want a name such as ViT-B-32__openai)", name, ErrBadName)
	}
	return nil
}

// Progress hears how a download goes; the command line draws it.
type Progress interface {
	// Begin is called once the file list is known: the files to fetch and
	// their total size in bytes.
	Begin(files int, total int64)
	// File is called when a file starts; from is where it resumes (0: from
	// the start; size: already complete).
	File(path string, size, from int64)
	// Add counts bytes as they are written.
	Add(n int64)
	// End is called after the last file, whether the download worked or not.
	End()
}

// Client downloads models from one hub.
type Client struct {
	// Hub is the hub's base URL, e.g. DefaultHub (no trailing slash needed).
	Hub string
	// HTTP is the client used; nil: one with connection and header timeouts
	// and no overall limit (model files are hundreds of megabytes).
	HTTP *http.Client
	// Progress hears about the download; nil: nobody.
	Progress Progress
	// Log receives retries and resumptions; nil: discarded.
	Log *slog.Logger
	// Retries is how often a file is tried again after a dropped connection
	// or a server error, resuming where it stopped. Default 0: none.
	Retries int
	// RetryWait is the pause before the first retry, doubled for each next
	// one. Default 1s.
	RetryWait time.Duration
	// Stall aborts a transfer that receives nothing for this long (it counts
	// as a dropped connection). Default 60s.
	Stall time.Duration
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = time.Minute
	return &http.Client{Transport: t}
}

func (c *Client) log() *slog.Logger {
	if c.Log != nil {
		return c.Log
	}
	return slog.New(slog.DiscardHandler)
}

func (c *Client) progress() Progress {
	if c.Progress != nil {
		return c.Progress
	}
	return noProgress{}
}

// Get installs model name into modelsDir/name and returns that folder. It
// refuses a name that is not one, a model that is already installed
// (ErrInstalled) and a repository that is not a CLIP model with CLIP's BPE
// tokenizer (ErrUnsupported). On any failure the installed folder does not
// exist; what was fetched stays in the staging folder for the next try.
func (c *Client) Get(ctx context.Context, name, modelsDir string) (string, error) {
	if err := ValidName(name); err != nil {
		return "", err
	}
	final := filepath.Join(modelsDir, name)
	if _, err := os.Lstat(final); err == nil {
		return final, fmt.Errorf("modelhub: %s: %w in %s", name, ErrInstalled, final)
	}
	files, err := c.listFiles(ctx, name)
	if err != nil {
		return "", err
	}
	stage := filepath.Join(modelsDir, partialDir, name)
	if err := os.MkdirAll(stage, 0o755); err != nil {
		return "", fmt.Errorf("modelhub: staging folder: %w", err)
	}
	unlock, err := lock(stage + ".lock")
	if err != nil {
		return "", err
	}
	defer unlock()
	if err := prune(stage, files); err != nil {
		return "", err
	}
	p := c.progress()
	var total int64
	for _, f := range files {
		total += f.Size
	}
	if err := checkSpace(stage, total-folderSize(stage)); err != nil {
		return "", err
	}
	p.Begin(len(files), total)
	defer p.End()

	// The tokenizer's config says what tokenizer the model needs: check it
	// before the large files are fetched.
	for _, f := range files {
		if f.Path == tokenizerConfig {
			if err := c.fetch(ctx, name, f, stage); err != nil {
				return "", err
			}
			if err := checkTokenizer(name, filepath.Join(stage, filepath.FromSlash(f.Path)), files); err != nil {
				os.RemoveAll(stage)
				os.Remove(stage + ".lock")
				return "", err
			}
		}
	}
	for _, f := range files {
		if f.Path == tokenizerConfig {
			continue
		}
		if err := c.fetch(ctx, name, f, stage); err != nil {
			return "", err
		}
	}
	if err := syncDir(stage); err != nil {
		return "", err
	}
	if err := os.Rename(stage, final); err != nil {
		return "", fmt.Errorf("modelhub: install %s: %w", name, err)
	}
	if err := syncDir(modelsDir); err != nil {
		return "", err
	}
	os.Remove(stage + ".lock")
	return final, nil
}

// lock takes an exclusive lock on path so that two `model get` of the same
// model do not write the same staging files; the kernel drops it if we die.
func lock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("modelhub: lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("modelhub: %w: another shoebox is downloading into %s", ErrBusy, filepath.Dir(path))
	}
	return func() { f.Close() }, nil
}

// checkSpace refuses a download the file system cannot hold, before a
// gigabyte is fetched into a disk that fills up half-way.
func checkSpace(dir string, need int64) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return nil // cannot tell: let the writes say
	}
	if free := int64(st.Bavail) * st.Bsize; need > free {
		return fmt.Errorf("modelhub: the model needs %.1f MB more and %s has %.1f MB free",
			float64(need)/(1<<20), dir, float64(free)/(1<<20))
	}
	return nil
}

// syncDir makes a folder's entries (new files, a rename) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("modelhub: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("modelhub: sync %s: %w", dir, err)
	}
	return nil
}

type noProgress struct{}

func (noProgress) Begin(int, int64)          {}
func (noProgress) File(string, int64, int64) {}
func (noProgress) Add(int64)                 {}
func (noProgress) End()                      {}
