package system

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"shoebox/internal/ai"
	"shoebox/internal/ai/toymodel"
)

// TestSearchByMeaningWithToyModel runs the whole path of search by meaning
// for real — preprocessing the index-time previews, the CLIP tokenizer, ONNX
// Runtime sessions, batching, pgvector storage and HNSW ranking — with a
// small CLIP-shaped model whose meaning is checkable: colour words point at
// predominantly red, green or blue photos.
func TestSearchByMeaningWithToyModel(t *testing.T) {
	ort := ai.DefaultORTLib()
	if ort == "" {
		t.Fatal("ONNX Runtime library not found: run scripts/setup.sh (make test does)")
	}
	model := filepath.Join(t.TempDir(), "toy-clip")
	if err := toymodel.Write(model, toymodel.Options{Dim: 8, ImageSize: 32, DynamicBatch: true}); err != nil {
		t.Fatal(err)
	}

	lib := t.TempDir()
	want, err := toymodel.WritePhotos(lib, 6) // photo path -> colour key
	if err != nil {
		t.Fatal(err)
	}
	_, dbURL := startCluster(t, nil)
	s := startServe(t, serveOpts{dbURL: dbURL, library: lib, budget: 6,
		env: []string{"SHOEBOX_CLIP_MODEL=" + model, "SHOEBOX_ORT_LIB=" + ort}})
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var st struct {
			Photos   int `json:"photos"`
			Embedded int `json:"embedded"`
			Queue    struct{ Pending int }
			Model    *struct {
				Name string `json:"name"`
				Dim  int    `json:"dim"`
			} `json:"model"`
		}
		_, b := s.mustGet(t, "/api/stats", 200)
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatal(err)
		}
		if st.Model == nil || st.Model.Name != "toy-clip" || st.Model.Dim != 8 {
			t.Fatalf("stats model = %+v, want toy-clip 8-d", st.Model)
		}
		if st.Photos == 24 && st.Embedded == 24 && st.Queue.Pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not embedded in time: %s", b)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// /metrics counts the same work, where it was done.
	m := scrapeMetrics(t, s)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"shoebox_photos_indexed_total", nil, 24},
		{"shoebox_embeddings_total", nil, 24},
		{"shoebox_queue_jobs", []string{"kind", "embed", "state", "pending"}, 0},
		{"shoebox_db_up", nil, 1},
	} {
		if v := metricValue(m, c.name, c.labels...); v != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, v, c.want)
		}
	}

	search := func(q string) []string {
		_, b := s.mustGet(t, "/api/search?limit=6&q="+url.QueryEscape(q), 200)
		var l apiPhotoList
		if err := json.Unmarshal(b, &l); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range l.Photos {
			out = append(out, p.Path)
		}
		return out
	}
	for q, key := range map[string]string{"red": "a", "green": "b", "blue": "c",
		"a photo of something blue": "c", "crimson": "a", "grass": "b"} {
		got := search(q)
		if len(got) != 6 {
			t.Fatalf("search %q: %d results, want 6", q, len(got))
		}
		for _, p := range got {
			if want[p] != key {
				t.Fatalf("search %q returned %v: %s is not %s", q, got, p, key)
			}
		}
	}
	// Metadata filters combine with meaning: this year's red photos, and
	// none from a year with no photos.
	year := fmt.Sprint(time.Now().Year())
	if got := search(year + " red"); len(got) != 6 || want[got[0]] != "a" {
		t.Fatalf("search %q: %v", year+" red", got)
	}
	if got := search("1999 red"); len(got) != 0 {
		t.Fatalf("search 1999 red: %v, want none", got)
	}
	// Similar photos: a red photo's neighbours are the other red ones.
	list := s.photos(t)
	var redID string
	for _, p := range list.Photos {
		if want[p.Path] == "a" {
			redID = p.ID
		}
	}
	_, b := s.mustGet(t, "/api/photos/"+redID+"/similar", 200)
	var sim apiPhotoList
	if err := json.Unmarshal(b, &sim); err != nil {
		t.Fatal(err)
	}
	if len(sim.Photos) < 5 {
		t.Fatalf("similar: %d photos", len(sim.Photos))
	}
	for _, p := range sim.Photos[:5] {
		if want[p.Path] != "a" || p.ID == redID {
			t.Fatalf("similar to a red photo: %s (%s)", p.Path, want[p.Path])
		}
	}
	if _, page := s.mustGet(t, "/photo/"+redID, 200); !strings.Contains(string(page), "Similar photos") {
		t.Fatal("photo page lacks similar photos")
	}
	if _, page := s.mustGet(t, "/search?q=blue", 200); !strings.Contains(string(page), "ranked by meaning") {
		t.Fatal("search page does not say it ranks by meaning")
	}

	// Near-duplicates: the toy model sees only colour, so photos of one
	// colour are near-identical to it; every group must be one colour, and
	// the red photos must be grouped together.
	_, b = s.mustGet(t, "/api/duplicates", 200)
	var dups struct {
		Groups []apiPhotoList `json:"groups"`
	}
	if err := json.Unmarshal(b, &dups); err != nil {
		t.Fatal(err)
	}
	redGroup := 0
	for _, g := range dups.Groups {
		for _, p := range g.Photos {
			if want[p.Path] != want[g.Photos[0].Path] {
				t.Fatalf("duplicate group mixes colours: %s and %s", p.Path, g.Photos[0].Path)
			}
		}
		if want[g.Photos[0].Path] == "a" {
			redGroup = len(g.Photos)
		}
	}
	if redGroup != 6 {
		t.Fatalf("red photos in a duplicate group: %d, want 6 (%s)", redGroup, b)
	}
	if _, page := s.mustGet(t, "/duplicates", 200); strings.Count(string(page), `<img src="/thumbnail/`) < 6 {
		t.Fatal("duplicates page shows no groups")
	}

	// Tags: a blue photo's best tag names something blue in the toy model's
	// vocabulary; searching that tag finds blue photos only.
	var blueID string
	for _, p := range list.Photos {
		if want[p.Path] == "c" {
			blueID = p.ID
		}
	}
	_, b = s.mustGet(t, "/api/photos/"+blueID, 200)
	var detail struct {
		Detail struct {
			Tags []struct {
				Label string  `json:"label"`
				Score float64 `json:"score"`
			} `json:"tags"`
		} `json:"detail"`
	}
	if err := json.Unmarshal(b, &detail); err != nil {
		t.Fatal(err)
	}
	if len(detail.Detail.Tags) == 0 {
		t.Fatalf("blue photo has no tags: %s", b)
	}
	tag := detail.Detail.Tags[0].Label
	got := search("tag:" + strings.ReplaceAll(tag, " ", "_"))
	if len(got) == 0 {
		t.Fatalf("search tag:%s found nothing", tag)
	}
	for _, p := range got {
		if want[p] != "c" {
			t.Fatalf("tag %q on a non-blue photo %s", tag, p)
		}
	}
	t.Logf("blue photo tags: %+v", detail.Detail.Tags)
	defer func() { reembed(t, s, dbURL, lib, ort) }()
	var st struct {
		Tags map[string]int `json:"tags"`
	}
	_, b = s.mustGet(t, "/api/stats", 200)
	json.Unmarshal(b, &st)
	if st.Tags[tag] == 0 {
		t.Fatalf("stats do not count tag %q: %s", tag, b)
	}
}

// reembed restarts the server with another model: the library is embedded
// again with it in the background, and the stats say so.
func reembed(t *testing.T, old *server, dbURL, lib, ort string) {
	if t.Failed() {
		return
	}
	old.stop(30 * time.Second)
	model := filepath.Join(t.TempDir(), "toy-clip-v2")
	if err := toymodel.Write(model, toymodel.Options{Dim: 16, ImageSize: 32}); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, serveOpts{dbURL: dbURL, library: lib, dataDir: old.dataDir, budget: 6,
		env: []string{"SHOEBOX_CLIP_MODEL=" + model, "SHOEBOX_ORT_LIB=" + ort}})
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var st struct {
			Embedded int `json:"embedded"`
			Queue    struct{ Pending int }
			Model    struct {
				Name string `json:"name"`
				Dim  int    `json:"dim"`
			} `json:"model"`
		}
		_, b := s.mustGet(t, "/api/stats", 200)
		json.Unmarshal(b, &st)
		if st.Model.Name != "toy-clip-v2" || st.Model.Dim != 16 {
			t.Fatalf("model after the change: %s", b)
		}
		if st.Embedded == 24 && st.Queue.Pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("library not re-embedded with the new model: %s", b)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Search works with the new model's 16-d vectors.
	_, b := s.mustGet(t, "/api/search?limit=6&q=red", 200)
	var l apiPhotoList
	json.Unmarshal(b, &l)
	if len(l.Photos) != 6 || !strings.HasPrefix(l.Photos[0].Path, "img_a") {
		t.Fatalf("search red after the model change: %s", b)
	}
	// The vectors live in a vector(D) column of the model's dimension, with
	// an HNSW cosine index.
	conn := pgConnect(t, dbURL)
	var typ, idx string
	if err := conn.QueryRow(context.Background(), `SELECT format_type(atttypid, atttypmod) FROM pg_attribute
		WHERE attrelid = 'embeddings'::regclass AND attname = 'embedding'`).Scan(&typ); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(context.Background(), `SELECT indexdef FROM pg_indexes WHERE indexname = 'embeddings_hnsw'`).Scan(&idx); err != nil {
		t.Fatal(err)
	}
	if typ != "vector(16)" || !strings.Contains(idx, "hnsw") || !strings.Contains(idx, "vector_cosine_ops") {
		t.Fatalf("embedding column %s, index %s", typ, idx)
	}
	t.Log("re-embedded with toy-clip-v2 (16-d); search still ranks red first")
}
