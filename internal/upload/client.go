package upload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Client uploads files to a Shoebox server with the tus protocol
// (creation, then PATCH chunks; after a failed chunk it asks the server
// with HEAD how far it got and goes on from there). It keeps the address
// of each upload in progress under StateDir, so a later run resumes an
// upload an earlier one left halfway.
type Client struct {
	Server string // base URL, e.g. https://photos.example
	Key    string // API key with write scope
	// ChunkSize is the most bytes one PATCH carries: keep it under the
	// body limit of any proxy in between. Default 8 MiB.
	ChunkSize int64
	// Retries is how many failed chunks in a row a file survives.
	// Default 5.
	Retries int
	// StateDir keeps the addresses of uploads in progress ("" : none kept).
	StateDir string
	HTTP     *http.Client
}

// Result is what became of one file.
type Result struct {
	Path      string
	SHA256    string
	Size      int64
	Sent      int64  // bytes sent by this run (fewer than Size after a resume)
	Photo     string // the photo it is on the server
	Duplicate bool   // the server had it already: not stored twice
}

// RefusedError is the server's refusal of a file, with its reason.
type RefusedError struct {
	Status int
	Reason string
}

func (e *RefusedError) Error() string { return fmt.Sprintf("%d: %s", e.Status, e.Reason) }

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

func (c *Client) request(ctx context.Context, method, u string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Key)
	req.Header.Set("Tus-Resumable", "1.0.0")
	return req, nil
}

// HashFile is the SHA-256 of the file at path, in hex.
func HashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// Have asks the server which of sums (SHA-256 in hex) it has already.
func (c *Client) Have(ctx context.Context, sums []string) (map[string]bool, error) {
	have := map[string]bool{}
	for len(sums) > 0 {
		n := min(len(sums), 1000)
		body, _ := json.Marshal(map[string][]string{"sha256": sums[:n]})
		req, err := c.request(ctx, http.MethodPost, strings.TrimRight(c.Server, "/")+"/api/uploads/check", bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.http().Do(req)
		if err != nil {
			return nil, fmt.Errorf("check: %w", err)
		}
		var out struct {
			Have  []string `json:"have"`
			Error string   `json:"error"`
		}
		err = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("check: %s: %s", resp.Status, out.Error)
		}
		if err != nil {
			return nil, fmt.Errorf("check: %w", err)
		}
		for _, h := range out.Have {
			have[h] = true
		}
		sums = sums[n:]
	}
	return have, nil
}

// Upload sends the file at path (whose SHA-256 is sum), resuming an upload
// of it that an earlier run left halfway.
func (c *Client) Upload(ctx context.Context, path, sum string) (Result, error) {
	res := Result{Path: path, SHA256: sum}
	f, err := os.Open(path)
	if err != nil {
		return res, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return res, err
	}
	res.Size = fi.Size()
	chunk := c.ChunkSize
	if chunk <= 0 {
		chunk = 8 << 20
	}
	retries := c.Retries
	if retries <= 0 {
		retries = 5
	}
	loc, offset := c.resume(ctx, sum, res.Size)
	if loc == "" {
		if loc, err = c.create(ctx, filepath.Base(path), res.Size); err != nil {
			return res, err
		}
		c.remember(sum, loc)
	}
	failures := 0
	for {
		n := min(chunk, res.Size-offset)
		req, err := c.request(ctx, http.MethodPatch, loc, io.NewSectionReader(f, offset, n))
		if err != nil {
			return res, err
		}
		req.ContentLength = n
		req.Header.Set("Content-Type", "application/offset+octet-stream")
		req.Header.Set("Upload-Offset", strconv.FormatInt(offset, 10))
		resp, err := c.http().Do(req)
		var body []byte
		if err == nil {
			body, _ = io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		switch {
		case err == nil && resp.StatusCode == http.StatusNoContent:
			res.Sent += n
			offset += n
			failures = 0
			if offset == res.Size {
				c.forget(sum)
				res.Photo = resp.Header.Get("Shoebox-Photo")
				res.Duplicate = resp.Header.Get("Shoebox-Duplicate") == "true"
				return res, nil
			}
			continue
		case err == nil && resp.StatusCode < 500 && resp.StatusCode != http.StatusConflict:
			// Refused for good (content, quota, size): not worth a retry.
			c.forget(sum)
			return res, &RefusedError{Status: resp.StatusCode, Reason: reason(resp.Status, body)}
		}
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		failures++
		if failures > retries {
			if err == nil {
				err = fmt.Errorf("%s: %s", resp.Status, reason(resp.Status, body))
			}
			return res, fmt.Errorf("upload %s: %w (run again to resume)", path, err)
		}
		// Ask how far the server got, and go on from there.
		time.Sleep(time.Duration(failures) * 200 * time.Millisecond)
		at, herr := c.offset(ctx, loc, res.Size)
		if herr != nil {
			return res, herr
		}
		offset = at
	}
}

// errGone: the server no longer has the upload.
var errGone = errors.New("upload gone")

// create starts an upload of size bytes named name (tus creation).
func (c *Client) create(ctx context.Context, name string, size int64) (string, error) {
	base := strings.TrimRight(c.Server, "/") + "/api/uploads/"
	req, err := c.request(ctx, http.MethodPost, base, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Upload-Length", strconv.FormatInt(size, 10))
	req.Header.Set("Upload-Metadata", "filename "+base64.StdEncoding.EncodeToString([]byte(name)))
	resp, err := c.http().Do(req)
	if err != nil {
		return "", fmt.Errorf("create upload: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return "", &RefusedError{Status: resp.StatusCode, Reason: reason(resp.Status, b)}
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	loc, err := u.Parse(resp.Header.Get("Location"))
	if err != nil || resp.Header.Get("Location") == "" {
		return "", fmt.Errorf("create upload: no Location in the answer")
	}
	return loc.String(), nil
}

// offset asks (HEAD) how many bytes of the upload at loc the server has.
func (c *Client) offset(ctx context.Context, loc string, size int64) (int64, error) {
	req, err := c.request(ctx, http.MethodHead, loc, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return 0, fmt.Errorf("resume: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone {
		return 0, errGone
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		return 0, fmt.Errorf("resume: %s", resp.Status)
	}
	at, err := strconv.ParseInt(resp.Header.Get("Upload-Offset"), 10, 64)
	if err != nil || at < 0 || at > size {
		return 0, fmt.Errorf("resume: bad Upload-Offset %q", resp.Header.Get("Upload-Offset"))
	}
	if l := resp.Header.Get("Upload-Length"); l != "" && l != strconv.FormatInt(size, 10) {
		return 0, errGone // another file's upload
	}
	return at, nil
}

// resume returns the upload of the file with this sum that an earlier run
// left, and how far it got; "" when there is none to go on with.
func (c *Client) resume(ctx context.Context, sum string, size int64) (string, int64) {
	p := c.statePath(sum)
	if p == "" {
		return "", 0
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return "", 0
	}
	loc := strings.TrimSpace(string(b))
	at, err := c.offset(ctx, loc, size)
	if err != nil || at == size {
		c.forget(sum)
		return "", 0
	}
	return loc, at
}

// statePath is where the address of the upload of sum to this server is
// kept; "" without StateDir.
func (c *Client) statePath(sum string) string {
	if c.StateDir == "" {
		return ""
	}
	k := sha256.Sum256([]byte(strings.TrimRight(c.Server, "/") + "\n" + sum))
	return filepath.Join(c.StateDir, hex.EncodeToString(k[:16]))
}

func (c *Client) remember(sum, loc string) {
	if p := c.statePath(sum); p != "" {
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err == nil {
			os.WriteFile(p, []byte(loc+"\n"), 0o600)
		}
	}
}

func (c *Client) forget(sum string) {
	if p := c.statePath(sum); p != "" {
		os.Remove(p)
	}
}

var errCode = regexp.MustCompile(`^ERR_[A-Z_]+: `)

// reason is the text of a refusal: tus answers "ERR_CODE: message", the
// rest of the API {"error": …}.
func reason(status string, b []byte) string {
	s := strings.TrimSpace(string(b))
	var j struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(b, &j) == nil && j.Error != "" {
		s = j.Error
	}
	if m := errCode.FindStringIndex(s); m != nil {
		s = s[m[1]:] // tus's code ("ERR_CONTENT_REFUSED: "): the message says it for people
	}
	if s == "" {
		s = status
	}
	return s
}
