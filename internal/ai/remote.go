package ai

// A CLIP model served by a separate machine-learning server that speaks
// Immich's protocol (immich-machine-learning, or anything compatible), for
// installs that already run one or have a GPU box elsewhere:
//
//	GET  /ping     -> "pong"
//	POST /predict  multipart form:
//	    entries  {"clip":{"visual":{"modelName":"ViT-B-32__openai"}}}   + file field "image"
//	             {"clip":{"textual":{"modelName":"ViT-B-32__openai"}}}  + field "text"
//	    -> {"clip":"[0.0123,-0.04,...]", ...}  (the embedding as a JSON array in a string;
//	       a plain JSON array is accepted too)
//
// The server decodes, preprocesses and tokenises itself, so the inputs here
// are an encoded image file and plain text, not tensors.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// remoteMaxResponse bounds what is read of a reply: a 1024-d embedding as
// text is ~25 KB.
const remoteMaxResponse = 1 << 20

// MLClient speaks the protocol of an Immich-compatible machine-learning
// server for one CLIP model; Remote is the Embedder built on it. It is safe
// for concurrent use.
type MLClient struct {
	base   *url.URL
	model  string
	client *http.Client
}

// NewMLClient returns a client for the server at baseURL (e.g.
// "http://127.0.0.1:3003") asking for the model modelName (e.g.
// "ViT-B-32__openai"). client nil means one with a 2-minute timeout (a cold
// server loads the model on the first request).
func NewMLClient(baseURL, modelName string, client *http.Client) (*MLClient, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("ai: remote model URL %q: want http(s)://host[:port][/path]", baseURL)
	}
	if modelName == "" {
		return nil, errors.New("ai: remote model: empty model name")
	}
	if client == nil {
		client = &http.Client{Timeout: 2 * time.Minute}
	}
	return &MLClient{base: u, model: modelName, client: client}, nil
}

// Name returns the model name sent to the server.
func (r *MLClient) Name() string { return r.model }

func (r *MLClient) endpoint(path string) string {
	return r.base.JoinPath(path).String()
}

// Ping checks that the server answers GET /ping with "pong".
func (r *MLClient) Ping(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.endpoint("ping"), nil)
	if err != nil {
		return fmt.Errorf("ai: remote ping: %w", err)
	}
	body, err := r.do(req)
	if err != nil {
		return fmt.Errorf("ai: remote ping: %w", err)
	}
	if s := strings.Trim(strings.TrimSpace(string(body)), `"`); s != "pong" {
		return fmt.Errorf("ai: remote ping: server answered %q, want \"pong\"", remoteSnippet(s, 80))
	}
	return nil
}

// EncodeImage sends one encoded image file (JPEG, PNG, WebP... as the
// server can decode; a thumbnail is enough) and returns its unit-length
// embedding.
func (r *MLClient) EncodeImage(ctx context.Context, image []byte) ([]float32, error) {
	if len(image) == 0 {
		return nil, errors.New("ai: remote image: empty image")
	}
	return r.predict(ctx, "visual", func(w *multipart.Writer) error {
		part, err := w.CreateFormFile("image", "image")
		if err != nil {
			return err
		}
		_, err = part.Write(image)
		return err
	})
}

// EncodeText returns the unit-length embedding of text.
func (r *MLClient) EncodeText(ctx context.Context, text string) ([]float32, error) {
	return r.predict(ctx, "textual", func(w *multipart.Writer) error {
		return w.WriteField("text", text)
	})
}

func (r *MLClient) predict(ctx context.Context, kind string, payload func(*multipart.Writer) error) ([]float32, error) {
	entries, err := json.Marshal(map[string]any{"clip": map[string]any{kind: map[string]any{"modelName": r.model}}})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if err := w.WriteField("entries", string(entries)); err != nil {
		return nil, err
	}
	if err := payload(w); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.endpoint("predict"), &buf)
	if err != nil {
		return nil, fmt.Errorf("ai: remote %s: %w", kind, err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	body, err := r.do(req)
	if err != nil {
		return nil, fmt.Errorf("ai: remote %s: %w", kind, err)
	}
	v, err := parseRemoteEmbedding(body)
	if err != nil {
		return nil, fmt.Errorf("ai: remote %s: %w", kind, err)
	}
	l2Normalize(v)
	return v, nil
}

// do sends req and returns the body of a 2xx reply.
func (r *MLClient) do(req *http.Request) ([]byte, error) {
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, remoteMaxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("reading the reply: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("server answered %s: %s", resp.Status, remoteSnippet(strings.TrimSpace(string(body)), 200))
	}
	if len(body) > remoteMaxResponse {
		return nil, fmt.Errorf("reply larger than %d bytes", remoteMaxResponse)
	}
	return body, nil
}

// parseRemoteEmbedding reads {"clip": "[...]"} or {"clip": [...]}.
func parseRemoteEmbedding(body []byte) ([]float32, error) {
	var reply struct {
		Clip json.RawMessage `json:"clip"`
	}
	if err := json.Unmarshal(body, &reply); err != nil {
		return nil, fmt.Errorf("reply is not JSON: %w (%s)", err, remoteSnippet(string(body), 80))
	}
	raw := reply.Clip
	if len(raw) == 0 || string(raw) == "null" {
		return nil, fmt.Errorf("reply has no \"clip\" embedding (%s)", remoteSnippet(string(body), 80))
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		raw = json.RawMessage(s)
	}
	var v []float32
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("\"clip\" is not a list of numbers: %w", err)
	}
	if len(v) == 0 {
		return nil, errors.New("empty embedding")
	}
	return v, nil
}

func remoteSnippet(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
