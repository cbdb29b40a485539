package modelhub

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
)

// File is one file of a model to fetch, as the hub lists it.
type File struct {
	Path   string // slash-separated, relative to the repository root
	Size   int64  // bytes
	SHA256 string // files stored with Git LFS: hex SHA-256 of the content
	BlobID string // other files: the git blob id, hex SHA-1 of "blob <size>\x00" + content
}

// treeEntry is one element of the hub's tree listing
// (GET /api/models/{repo}/tree/{revision}).
type treeEntry struct {
	Type string `json:"type"` // "file" or "directory"
	Path string `json:"path"`
	Size int64  `json:"size"`
	OID  string `json:"oid"` // git blob id
	LFS  *struct {
		OID  string `json:"oid"` // SHA-256 of the content
		Size int64  `json:"size"`
	} `json:"lfs"`
}

// Limits on what a hub may answer to a listing.
const (
	maxTreePages = 100
	maxTreeBytes = 32 << 20
)

// tokenizerConfig is the file that says which tokenizer a model uses.
const tokenizerConfig = "textual/tokenizer_config.json"

// required are the files internal/ai reads to run a CLIP model.
var required = []string{
	"config.json", "visual/model.onnx", "visual/preprocess_cfg.json",
	"textual/model.onnx", tokenizerConfig,
}

var (
	fileRE   = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9._-]*$`)
	sha1RE   = regexp.MustCompile(`^[0-9a-f]{40}$`)
	sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// wanted reports whether the ONNX Runtime backend needs the file at p:
// config.json, and the files directly in visual/ and textual/ (the graphs,
// their external weights if any, preprocessing and tokenizer files).
// Subfolders hold other backends' builds (fp16/, rknpu/, openvino/); the
// ARM NN and RKNN files beside the ONNX ones are skipped too, as Immich's
// own downloader skips them for ONNX (ignore_patterns *.armnn, *.rknn).
func wanted(p string) bool {
	dir, base, ok := strings.Cut(p, "/")
	if !ok {
		return p == "config.json"
	}
	if (dir != "visual" && dir != "textual") || !fileRE.MatchString(base) {
		return false
	}
	switch path.Ext(base) {
	case ".armnn", ".rknn":
		return false
	}
	return true
}

// listFiles asks the hub for the repository's files and keeps those
// wanted, checked: a path the hub lists twice, a negative size or a
// malformed checksum is refused rather than trusted.
func (c *Client) listFiles(ctx context.Context, name string) ([]File, error) {
	entries, err := c.tree(ctx, name)
	if err != nil {
		return nil, err
	}
	var files []File
	seen := map[string]bool{}
	for _, e := range entries {
		if e.Type != "file" || !wanted(e.Path) {
			continue
		}
		if seen[e.Path] {
			return nil, fmt.Errorf("modelhub: %s: the hub lists %s twice", name, e.Path)
		}
		seen[e.Path] = true
		f := File{Path: e.Path, Size: e.Size}
		if e.LFS != nil {
			f.SHA256, f.Size = strings.ToLower(e.LFS.OID), e.LFS.Size
			if !sha256RE.MatchString(f.SHA256) {
				return nil, fmt.Errorf("modelhub: %s: %s: the hub lists no usable SHA-256 (%q)", name, e.Path, e.LFS.OID)
			}
		} else {
			f.BlobID = strings.ToLower(e.OID)
			if !sha1RE.MatchString(f.BlobID) {
				return nil, fmt.Errorf("modelhub: %s: %s: the hub lists no usable blob id (%q)", name, e.Path, e.OID)
			}
		}
		if f.Size < 0 {
			return nil, fmt.Errorf("modelhub: %s: %s: size %d", name, e.Path, f.Size)
		}
		files = append(files, f)
	}
	var missing []string
	for _, r := range required {
		if !seen[r] {
			missing = append(missing, r)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("modelhub: %s/%s is not a CLIP model in Immich's layout (no %s): %w",
			Organization, name, strings.Join(missing, ", "), ErrUnsupported)
	}
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return files, nil
}

// tree reads the whole recursive listing, following the Link header's
// rel="next" pages as huggingface_hub's paginate does.
func (c *Client) tree(ctx context.Context, name string) ([]treeEntry, error) {
	u := c.base() + "/api/models/" + Organization + "/" + name + "/tree/" + Revision + "?recursive=true"
	var all []treeEntry
	for page := 0; u != ""; page++ {
		if page == maxTreePages {
			return nil, fmt.Errorf("modelhub: %s: the listing has more than %d pages", name, maxTreePages)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, fmt.Errorf("modelhub: %w", err)
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", userAgent)
		resp, err := c.httpClient().Do(req)
		if err != nil {
			return nil, fmt.Errorf("modelhub: list %s/%s: %w", Organization, name, err)
		}
		var entries []treeEntry
		err = func() error {
			defer resp.Body.Close()
			if err := hubStatus(resp, name); err != nil {
				return err
			}
			dec := json.NewDecoder(io.LimitReader(resp.Body, maxTreeBytes))
			if err := dec.Decode(&entries); err != nil {
				return fmt.Errorf("modelhub: list %s/%s: %w", Organization, name, err)
			}
			return nil
		}()
		if err != nil {
			return nil, err
		}
		all = append(all, entries...)
		if u, err = nextPage(resp); err != nil {
			return nil, fmt.Errorf("modelhub: list %s/%s: %w", Organization, name, err)
		}
	}
	return all, nil
}

func (c *Client) base() string {
	if c.Hub == "" {
		return DefaultHub
	}
	return strings.TrimRight(c.Hub, "/")
}

// hubStatus turns a listing's error answer into an error. The hub answers
// a repository that does not exist with 404, or with 401 and
// X-Error-Code: RepoNotFound when the request carries no token.
func hubStatus(resp *http.Response, name string) error {
	code := resp.Header.Get("X-Error-Code")
	switch {
	case resp.StatusCode == http.StatusOK:
		return nil
	case resp.StatusCode == http.StatusNotFound, code == "RepoNotFound", code == "RevisionNotFound":
		return fmt.Errorf("modelhub: %w: no repository %s/%s at %s (Immich's model names look like ViT-B-32__openai)",
			ErrNotFound, Organization, name, resp.Request.URL.Host)
	case resp.StatusCode == http.StatusUnauthorized, resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("modelhub: %s/%s: the hub refused (%s): the repository is private or gated", Organization, name, resp.Status)
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return fmt.Errorf("modelhub: %s/%s: the hub answered %s: %s", Organization, name, resp.Status, strings.TrimSpace(string(msg)))
}

// nextPage returns the URL of the Link header's rel="next" target,
// resolved against the request's URL, or "" on the last page.
func nextPage(resp *http.Response) (string, error) {
	for _, h := range resp.Header.Values("Link") {
		for _, link := range splitLinks(h) {
			if !link.next {
				continue
			}
			ref, err := url.Parse(link.target)
			if err != nil {
				return "", fmt.Errorf("next page %q: %w", link.target, err)
			}
			next := resp.Request.URL.ResolveReference(ref)
			if next.Scheme != "http" && next.Scheme != "https" {
				return "", fmt.Errorf("next page %q is not an http(s) URL", link.target)
			}
			return next.String(), nil
		}
	}
	return "", nil
}

type link struct {
	target string
	next   bool
}

// splitLinks reads an RFC 8288 Link header: `<url>; rel="next", <url>; rel="last"`.
func splitLinks(h string) []link {
	var out []link
	for {
		open := strings.IndexByte(h, '<')
		if open < 0 {
			return out
		}
		end := strings.IndexByte(h[open:], '>')
		if end < 0 {
			return out
		}
		l := link{target: h[open+1 : open+end]}
		h = h[open+end+1:]
		params := h
		if i := strings.IndexByte(h, '<'); i >= 0 {
			params = h[:i]
		}
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), "rel") {
				continue
			}
			for _, rel := range strings.Fields(strings.Trim(strings.TrimSpace(v), `",`)) {
				if strings.EqualFold(rel, "next") {
					l.next = true
				}
			}
		}
		out = append(out, l)
	}
}

// checkTokenizer refuses a model whose text tower does not use CLIP's
// byte-level BPE tokenizer (the multilingual exports use XLM-RoBERTa, BERT
// or NLLB tokenizers, SigLIP ones SentencePiece), which internal/ai does
// not implement: better said now than after a gigabyte of download.
func checkTokenizer(name, file string, files []File) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("modelhub: %w", err)
	}
	var tc struct {
		TokenizerClass string `json:"tokenizer_class"`
	}
	if err := json.Unmarshal(b, &tc); err != nil {
		return fmt.Errorf("modelhub: %s: %s: %w", name, tokenizerConfig, err)
	}
	class := tc.TokenizerClass
	for _, f := range files {
		switch path.Base(f.Path) {
		case "sentencepiece.bpe.model", "spiece.model", "tokenizer.model":
			if class != "" {
				return unsupportedTokenizer(name, "the "+class)
			}
			return unsupportedTokenizer(name, "a SentencePiece")
		}
	}
	switch strings.TrimSuffix(class, "Fast") {
	case "CLIPTokenizer":
		return nil
	case "":
		if hasFiles(files, "textual/vocab.json", "textual/merges.txt") {
			return nil // a BPE vocabulary without a class named: CLIP's layout
		}
		return unsupportedTokenizer(name, "an unnamed")
	}
	return unsupportedTokenizer(name, "the "+class)
}

func unsupportedTokenizer(name, class string) error {
	return fmt.Errorf("modelhub: %s uses %s tokenizer (a multilingual or SentencePiece model): %w; "+
		"Shoebox runs CLIP models with CLIP's BPE tokenizer, such as ViT-B-32__openai",
		name, class, ErrUnsupported)
}

func hasFiles(files []File, paths ...string) bool {
	for _, p := range paths {
		if !slices.ContainsFunc(files, func(f File) bool { return f.Path == p }) {
			return false
		}
	}
	return true
}
