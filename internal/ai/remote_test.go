package ai_test

// MLClient against a fake Immich machine-learning server on loopback.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"shoebox/internal/ai"
)

// fakeML answers like immich-machine-learning: the visual embedding is
// (len(image), 1, 0, 0), the textual one (0, 0, len(text), 1), both as a
// JSON array inside a string.
func fakeML(t *testing.T, plainArray bool) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `"pong"`)
	})
	mux.HandleFunc("POST /predict", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		var entries map[string]map[string]struct {
			ModelName string `json:"modelName"`
		}
		if err := json.Unmarshal([]byte(r.FormValue("entries")), &entries); err != nil {
			http.Error(w, "Invalid request format.", 422)
			return
		}
		clip := entries["clip"]
		var v []float32
		switch {
		case clip["visual"].ModelName != "":
			f, _, err := r.FormFile("image")
			if err != nil {
				http.Error(w, "no image", 422)
				return
			}
			data, _ := io.ReadAll(f)
			if string(data) == "slow" {
				select {
				case <-r.Context().Done():
				case <-time.After(5 * time.Second):
				}
				return
			}
			v = []float32{float32(len(data)), 1, 0, 0}
		case clip["textual"].ModelName != "":
			if clip["textual"].ModelName != "ViT-B-32__openai" {
				http.Error(w, "unknown model", 500)
				return
			}
			v = []float32{0, 0, float32(len(r.FormValue("text"))), 1}
		default:
			http.Error(w, "Invalid request format.", 422)
			return
		}
		arr, _ := json.Marshal(v)
		var reply any = string(arr)
		if plainArray {
			reply = v
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"clip": reply, "imageHeight": 10, "imageWidth": 20})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestRemoteModel(t *testing.T) {
	for _, plain := range []bool{false, true} {
		t.Run(fmt.Sprintf("plain-array=%v", plain), func(t *testing.T) {
			srv, calls := fakeML(t, plain)
			r, err := ai.NewMLClient(srv.URL+"/", "ViT-B-32__openai", nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if err := r.Ping(ctx); err != nil {
				t.Fatalf("Ping: %v", err)
			}
			iv, err := r.EncodeImage(ctx, []byte("abc"))
			if err != nil {
				t.Fatalf("EncodeImage: %v", err)
			}
			want := []float64{3 / math.Sqrt(10), 1 / math.Sqrt(10), 0, 0}
			for i := range want {
				if math.Abs(float64(iv[i])-want[i]) > 1e-6 {
					t.Fatalf("image embedding %v, want %v", iv, want)
				}
			}
			tv, err := r.EncodeText(ctx, "a red car")
			if err != nil {
				t.Fatalf("EncodeText: %v", err)
			}
			if n := norm(tv); math.Abs(n-1) > 1e-6 || tv[2] < 0.99 {
				t.Fatalf("text embedding %v", tv)
			}
			if calls.Load() != 2 {
				t.Errorf("%d predict calls, want 2", calls.Load())
			}
		})
	}
}

func TestRemoteModelErrors(t *testing.T) {
	srv, _ := fakeML(t, false)
	ctx := context.Background()
	for _, bad := range []string{"", "ftp://x", "not a url", "http://"} {
		if _, err := ai.NewMLClient(bad, "m", nil); err == nil {
			t.Errorf("NewMLClient(%q) succeeded", bad)
		}
	}
	if _, err := ai.NewMLClient(srv.URL, "", nil); err == nil {
		t.Error("NewMLClient with no model name succeeded")
	}

	r, _ := ai.NewMLClient(srv.URL, "no-such-model", nil)
	if _, err := r.EncodeText(ctx, "x"); err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("server error not reported: %v", err)
	}
	if _, err := r.EncodeImage(ctx, nil); err == nil {
		t.Error("empty image accepted")
	}

	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := r.EncodeImage(cctx, []byte("slow")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("slow server: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("cancellation took %v", d)
	}

	// a server that is not Immich ML
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<html>hello</html>")
	}))
	defer other.Close()
	r2, _ := ai.NewMLClient(other.URL, "m", nil)
	if err := r2.Ping(ctx); err == nil {
		t.Error("Ping of a non-ML server succeeded")
	}
	if _, err := r2.EncodeText(ctx, "x"); err == nil {
		t.Error("EncodeText against a non-ML server succeeded")
	}
}
