package jobs_test

// Faces through the real jobs: face-api's demo photos (and crops and
// resizes of one) indexed with faces off, then found by the backfill,
// counted against the face pipeline run directly on the same previews,
// grouped into one person across the copies; a landscape and broken
// files end done with no faces, and nothing is queued again.

import (
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/image/draw"

	"shoebox/internal/database"
	"shoebox/internal/face"
	"shoebox/internal/jobs"
	"shoebox/internal/thumbs"
	"shoebox/internal/web"
)

// runFaces runs the queue (a scan of e.lib first) with faces on or off
// until it is empty.
func (e *env) runFaces(t *testing.T, on bool) {
	t.Helper()
	e.runUntilEmpty(t, jobs.Options{Faces: on}, 5*time.Minute)
}

func faceModels(t *testing.T) string {
	t.Helper()
	dir := face.DefaultModelDir()
	if dir == "" {
		t.Fatal(face.ErrModelsNotFound)
	}
	return dir
}

func readJPEG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

func writeJPEG(t *testing.T, img image.Image, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := jpeg.Encode(f, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
}

// rgbOf is an image's RGB bytes, as the face pipeline takes them.
func rgbOf(img image.Image) ([]byte, int, int) {
	b := img.Bounds()
	out := make([]byte, 0, b.Dx()*b.Dy()*3)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			out = append(out, c.R, c.G, c.B)
		}
	}
	return out, b.Dx(), b.Dy()
}

func TestFacesFoundGroupedAndDone(t *testing.T) {
	dir := faceModels(t)
	demos, _ := filepath.Glob(filepath.Join(dir, "..", "demo", "sample*.jpg"))
	if len(demos) < 6 {
		t.Fatalf("face-api demo photos missing under %s/../demo (run scripts/setup.sh)", dir)
	}
	e := setup(t)
	for _, p := range demos {
		copyFile(t, p, filepath.Join(e.lib, "demo", filepath.Base(p)))
	}
	// One person three more times: a crop (around her), a Go resize, a vipsthumbnail.
	one := demos[0] // sample1.jpg: a woman in front, two people behind
	img := readJPEG(t, one)
	b := img.Bounds()
	os.MkdirAll(filepath.Join(e.lib, "copies"), 0o755)
	writeJPEG(t, img.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(image.Rect(b.Dx()/2, 0, b.Dx(), b.Dy()*7/10)), filepath.Join(e.lib, "copies", "crop.jpg"))
	small := image.NewRGBA(image.Rect(0, 0, b.Dx()*3/5, b.Dy()*3/5))
	draw.CatmullRom.Scale(small, small.Bounds(), img, b, draw.Src, nil)
	writeJPEG(t, small, filepath.Join(e.lib, "copies", "resized.jpg"))
	if out, err := exec.Command("vipsthumbnail", one, "--size", "900", "-o", filepath.Join(e.lib, "copies", "thumb.jpg")).CombinedOutput(); err != nil {
		t.Fatalf("vipsthumbnail: %v %s", err, out)
	}
	copyFile(t, "../../testdata/corpus/deb/mate-backgrounds/usr/share/backgrounds/mate/nature/Dune.jpg", filepath.Join(e.lib, "landscape.jpg"))
	copyFile(t, fixture(t, "corrupt/empty.jpg"), filepath.Join(e.lib, "empty.jpg"))
	copyFile(t, fixture(t, "corrupt/truncated_60k.jpg"), filepath.Join(e.lib, "truncated.jpg"))

	// Indexed before faces: none, nothing looked at.
	e.runFaces(t, false)
	if n := e.count(t, `SELECT count(*) FROM faces`); n != 0 {
		t.Fatalf("%d faces with faces off", n)
	}
	ready := e.count(t, `SELECT count(*) FROM photos WHERE state = 'ready'`)
	if ready < len(demos)+4 {
		t.Fatalf("%d photos ready", ready)
	}

	// The backfill looks at every ready photo.
	e.runFaces(t, true)
	if n := e.count(t, `SELECT count(*) FROM photos WHERE state = 'ready' AND faces_version <> 1`); n != 0 {
		t.Errorf("%d ready photos not looked at by the backfill", n)
	}
	ctx := context.Background()
	p, err := face.NewPipeline(dir, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	h, err := web.New(e.db, e.st, e.store, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	defer srv.Close()
	total := 0
	for _, d := range demos {
		id := e.photoOf(t, "demo/"+filepath.Base(d))
		rgb, w, h := rgbOf(readJPEG(t, e.store.Path(id, thumbs.Preview)))
		want, err := p.Faces(ctx, rgb, w, h, face.DetectOptions{MaxResults: 100, MinSize: 20})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(srv.URL + "/api/photos/" + id)
		if err != nil {
			t.Fatal(err)
		}
		var api struct {
			Faces []struct {
				Box []float64 `json:"box"`
			} `json:"faces"`
		}
		err = json.NewDecoder(resp.Body).Decode(&api)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET /api/photos/%s: %d %v", id, resp.StatusCode, err)
		}
		got := api.Faces
		if len(got) != len(want) || len(got) == 0 {
			t.Errorf("%s: %d faces on /api/photos/{id}, the pipeline finds %d on its preview", filepath.Base(d), len(got), len(want))
		}
		for _, f := range got {
			if len(f.Box) != 4 {
				t.Errorf("%s: box %v", filepath.Base(d), f.Box)
			}
			for _, v := range f.Box {
				if v < 0 || v > 1 {
					t.Errorf("%s: box %v not in [0,1]", filepath.Base(d), f.Box)
				}
			}
		}
		total += len(got)
	}
	if total < len(demos)+2 {
		t.Errorf("%d faces on %d demo photos: a group photo's faces missing", total, len(demos))
	}
	for _, rel := range []string{"landscape.jpg", "truncated.jpg"} {
		id := e.photoOf(t, rel)
		got, err := e.st.PhotoFaces(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if rel == "landscape.jpg" && len(got) != 0 {
			t.Errorf("%s: %d faces", rel, len(got))
		}
	}

	// The same woman (the largest face) on four photos: one person.
	var person []*int64
	for _, rel := range []string{"demo/" + filepath.Base(one), "copies/crop.jpg", "copies/resized.jpg", "copies/thumb.jpg"} {
		got, err := e.st.PhotoFaces(ctx, e.photoOf(t, rel))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			t.Fatalf("%s: no faces", rel)
		}
		t.Logf("%s: %d faces, the largest %v", rel, len(got), got[0].Box)
		person = append(person, got[0].Person) // the largest: the same woman on each
	}
	for i, pe := range person {
		if pe == nil || *pe != *person[0] {
			t.Errorf("copy %d: person %v, want all four in one person (%v)", i, deref(pe), deref(person[0]))
		}
	}

	// Done is done: a restart queues no faces job again.
	jobsBefore := e.count(t, `SELECT count(*) FROM river_job WHERE kind = 'faces'`)
	e.runFaces(t, true)
	if n := e.count(t, `SELECT count(*) FROM river_job WHERE kind = 'faces'`); n != jobsBefore {
		t.Errorf("faces jobs %d after a restart, %d before: photos looked at again", n, jobsBefore)
	}
	var failed int
	e.db.Do(ctx, func(q database.Querier) error {
		return q.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'faces' AND state <> 'completed'`).Scan(&failed)
	})
	if failed != 0 {
		t.Errorf("%d faces jobs not completed", failed)
	}
}

// Without the models, faces are not looked for: photos are indexed, and
// stay to do for a process that has them.
func TestFacesWithoutModels(t *testing.T) {
	e := setup(t)
	copyFile(t, fixture(t, "orientation/landscape_6.jpg"), filepath.Join(e.lib, "a.jpg"))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	r := jobs.New(e.db, e.store, jobs.Options{Workers: 2, Poll: 20 * time.Millisecond, Logger: log, Faces: true, FaceModels: t.TempDir()})
	ctx, cancel := context.WithCancel(context.Background())
	if err := r.EnqueueScan(ctx, e.lib); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	for e.count(t, `SELECT count(*) FROM photos WHERE state = 'ready'`) == 0 {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	if n := e.count(t, `SELECT count(*) FROM river_job WHERE kind = 'faces'`); n != 0 {
		t.Errorf("%d faces jobs queued without models", n)
	}
	if n := e.count(t, `SELECT count(*) FROM photos WHERE faces_version <> 0`); n != 0 {
		t.Errorf("%d photos marked looked at without models", n)
	}
}

func deref(p *int64) any {
	if p == nil {
		return "none"
	}
	return *p
}
