package gen_test

import (
	"context"
	"crypto/sha256"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"shoebox/bench/scale/gen"
	"shoebox/internal/database"
	"shoebox/internal/database/dbtest"
	"shoebox/internal/media"
	"shoebox/internal/storage"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

const n = 3000

func TestGeneratedLibraryIsDeterministicAndShaped(t *testing.T) {
	cfg := gen.Config{N: n, Seed: 7}
	a, b := gen.New(cfg), gen.New(cfg)
	va, vb := make([]float32, 512), make([]float32, 512)
	for _, i := range []int{0, 1, n / 2, n - 1} {
		pa, pb := a.Photo(i), b.Photo(i)
		if pa.ID != pb.ID || !pa.TakenAt.Equal(pb.TakenAt) || pa.Model != pb.Model || pa.Files[0] != pb.Files[0] {
			t.Fatalf("photo %d differs between two plans of one seed", i)
		}
		a.Vector(i, va)
		b.Vector(i, vb)
		if dot(va, vb) < 0.99999 {
			t.Fatalf("vector %d differs between two plans of one seed", i)
		}
	}
	if other := gen.New(gen.Config{N: n, Seed: 8}); other.ID(0) == a.ID(0) {
		t.Fatal("another seed gives the same ids")
	}

	var weekend, holidayWeek, phones, none, gps, alice, recent, early, videos, both int
	ids, paths := map[string]bool{}, map[gen.File]bool{}
	for i := 0; i < n; i++ {
		p := a.Photo(i)
		if ids[p.ID] {
			t.Fatalf("photo %d: id %s repeated", i, p.ID)
		}
		ids[p.ID] = true
		for _, f := range p.Files {
			if paths[f] {
				t.Fatalf("photo %d: file %v repeated", i, f)
			}
			paths[f] = true
		}
		if y := p.TakenAt.Year(); y < gen.FirstYear || y > gen.LastYear+1 {
			t.Fatalf("photo %d taken in %d", i, y)
		}
		if wd := p.TakenAt.Weekday(); wd == time.Saturday || wd == time.Sunday {
			weekend++
		}
		if m, d := p.TakenAt.Month(), p.TakenAt.Day(); m == time.December && d >= 20 || m == time.July || m == time.August && d <= 25 {
			holidayWeek++
		}
		switch p.Make {
		case "Apple", "samsung", "Google":
			phones++
		case "":
			none++
		}
		if p.HasGPS {
			gps++
			if math.Abs(p.Lat) > 90 || math.Abs(p.Lon) > 180 {
				t.Fatalf("photo %d at %v,%v", i, p.Lat, p.Lon)
			}
		}
		if p.Owner == gen.Alice {
			alice++
		}
		if p.TakenAt.Year() >= 2020 {
			recent++
		} else if p.TakenAt.Year() < 2016 {
			early++
		}
		if p.Video {
			videos++
		}
		if len(p.Files) == 2 {
			both++
		}
		if len(p.Tags) > 3 {
			t.Fatalf("photo %d has %d tags", i, len(p.Tags))
		}
	}
	share := func(k int) float64 { return float64(k) / n }
	t.Logf("weekend %.2f, holiday weeks %.2f, phones %.2f, no camera %.3f, GPS %.2f, alice %.2f, 2020+ %.2f, <2016 %.2f, videos %.3f, in both libraries %.3f, events %d",
		share(weekend), share(holidayWeek), share(phones), share(none), share(gps), share(alice), share(recent), share(early), share(videos), share(both), a.Events())
	// Loose bounds: the shape as documented, not exact figures.
	check := func(name string, got, lo, hi float64) {
		if got < lo || got > hi {
			t.Errorf("%s: %.3f, want %.2f to %.2f", name, got, lo, hi)
		}
	}
	check("weekend share (2/7 = 0.29 if uniform)", share(weekend), 0.33, 0.8)
	check("holiday weeks share (~0.18 of the days)", share(holidayWeek), 0.25, 0.9)
	check("phones", share(phones), 0.5, 0.95)
	check("no camera", share(none), 0.002, 0.1)
	check("with GPS", share(gps), 0.4, 0.95)
	check("alice's", share(alice), 0.5, 0.9)
	check("videos", share(videos), 0.005, 0.08)
	if recent <= early {
		t.Errorf("2020 onwards %d photos, before 2016 %d: want more recent ones", recent, early)
	}
	if a.Events() < n/100 || a.Events() > n/2 {
		t.Errorf("%d events for %d photos", a.Events(), n)
	}

	// Vectors: unit, and clustered (a photo is nearer its own scene's
	// photos than others').
	same, other := 0.0, 0.0
	ns, no := 0, 0
	vs := make([][]float32, 400)
	ps := make([]gen.Photo, len(vs))
	for i := range vs {
		vs[i] = make([]float32, 512)
		a.Vector(i*(n/len(vs)), vs[i])
		ps[i] = a.Photo(i * (n / len(vs)))
		if d := dot(vs[i], vs[i]); math.Abs(d-1) > 1e-4 {
			t.Fatalf("vector %d has squared norm %v", i, d)
		}
	}
	for i := range vs {
		for j := i + 1; j < len(vs); j++ {
			if ps[i].Scene == ps[j].Scene {
				same += dot(vs[i], vs[j])
				ns++
			} else {
				other += dot(vs[i], vs[j])
				no++
			}
		}
	}
	if ns == 0 {
		t.Fatal("no two sampled photos share a scene")
	}
	same, other = same/float64(ns), other/float64(no)
	t.Logf("mean cosine: same scene %.3f (%d pairs), other scenes %.3f", same, ns, other)
	if same < other+0.3 || other < 0.05 {
		t.Errorf("mean cosine same scene %.3f, other scenes %.3f: want clusters (+0.3) over a common direction (> 0.05)", same, other)
	}
}

// Fill writes what Photo plans into a migrated database, consistently:
// the counts, the vectors' norms, search_text as Shoebox computes it, and
// Shoebox's own queries read it.
func TestFillWritesAConsistentDatabase(t *testing.T) {
	ctx := context.Background()
	url := dbtest.NewDatabase(t)
	db := openMigrated(t, url)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	l := gen.New(gen.Config{N: n, Seed: 3, MetaVersion: media.MetaVersion})
	res, err := l.Fill(ctx, conn, "$argon2id$not-a-real-hash")
	if err != nil {
		t.Fatal(err)
	}
	wantFiles, wantTags, wantStates := 0, 0, 0
	for i := 0; i < n; i++ {
		p := l.Photo(i)
		wantFiles += len(p.Files)
		wantTags += len(p.Tags)
		if p.Favorite || p.Archived || p.Trashed {
			wantStates++
		}
	}
	if res.Photos != n || res.Embeddings != n || res.Files != wantFiles || res.Tags != wantTags || res.States != wantStates {
		t.Fatalf("Fill wrote %+v; want %d photos and embeddings, %d files, %d tags, %d states", res, n, wantFiles, wantTags, wantStates)
	}
	var photos, files, embeddings, orphans, badNorm, badSearch, users, shares, libShares int
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM photos WHERE state = 'ready'), (SELECT count(*) FROM files),
		(SELECT count(*) FROM embeddings WHERE dim = 512),
		(SELECT count(*) FROM photos p WHERE NOT EXISTS (SELECT 1 FROM files f WHERE f.photo_id = p.id)),
		(SELECT count(*) FROM embeddings WHERE abs(vector_norm(embedding) - 1) > 1e-4),
		(SELECT count(*) FROM photos p WHERE (SELECT count(*) FROM files f WHERE f.photo_id = p.id) = 1 AND search_text <>
			concat_ws(' ', lower(concat_ws(' ', p.meta_text, to_char(p.taken_at AT TIME ZONE 'UTC', 'YYYY-MM-DD FMMonth YYYY'))),
				lower((SELECT string_agg(f.rel_path, ' ') FROM files f WHERE f.photo_id = p.id)))),
		(SELECT count(*) FROM users), (SELECT count(*) FROM share_photos), (SELECT count(*) FROM library_shares)`).
		Scan(&photos, &files, &embeddings, &orphans, &badNorm, &badSearch, &users, &shares, &libShares); err != nil {
		t.Fatal(err)
	}
	if photos != n || files != wantFiles || embeddings != n || orphans != 0 || badNorm != 0 || badSearch != 0 || users != 2 || shares != 20 || libShares != 1 {
		t.Fatalf("database: %d photos, %d files, %d embeddings, %d without a file, %d vectors not unit, %d search_text unlike Shoebox's, %d users, %d shared photos, %d library shares",
			photos, files, embeddings, orphans, badNorm, badSearch, users, shares, libShares)
	}
	// Shoebox's own reading of it.
	st := storage.New(db)
	s, err := st.Stats(ctx, storage.Scope{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Photos != n || s.Files != wantFiles || len(s.Cameras) < 5 {
		t.Fatalf("storage.Stats: %d photos, %d files, %d cameras", s.Photos, s.Files, len(s.Cameras))
	}
	// The counters behind it agree with counting, as alice sees it too.
	for _, sc := range []storage.Scope{{}, storage.Only([]int32{int32(res.Libraries[0]), int32(res.Libraries[1])}).As(res.Users[0]),
		storage.Only([]int32{int32(res.Libraries[1])}).As(res.Users[1])} {
		got, err := st.Stats(ctx, sc)
		if err != nil {
			t.Fatal(err)
		}
		want, err := st.StatsByCounting(ctx, sc)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("counters %+v\ncounting %+v", *got, *want)
		}
		gotTags, err := st.TagCounts(ctx, sc, 50)
		if err != nil {
			t.Fatal(err)
		}
		wantTags, err := st.TagCountsByCounting(ctx, sc, 50)
		if err != nil {
			t.Fatal(err)
		}
		if len(gotTags) == 0 || !reflect.DeepEqual(gotTags, wantTags) {
			t.Fatalf("tag counters %v\ncounting %v", gotTags, wantTags)
		}
	}
	page, _, err := st.ListPhotos(ctx, storage.ListParams{Limit: 50, Terms: []string{"iphone"}})
	if err != nil || len(page) == 0 {
		t.Fatalf("ListPhotos camera iphone: %d photos, %v", len(page), err)
	}
}

func openMigrated(t *testing.T, url string) *database.DB {
	t.Helper()
	ctx := context.Background()
	db, err := database.Open(ctx, database.Options{URL: url, MaxConns: 4, AcquireTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

func dot(a, b []float32) float64 {
	s := 0.0
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// The real files are distinct JPEGs that Shoebox's reader takes the
// camera and date from.
func TestWriteJPEGsMakesDistinctPhotosWithExif(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "photos")
	if err := gen.WriteJPEGs(context.Background(), dir, 1, 1200, 160, 120); err != nil {
		t.Fatal(err)
	}
	seen := map[[32]byte]bool{}
	count := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		seen[sha256.Sum256(body)] = true
		count++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if count != 1200 || len(seen) != 1200 {
		t.Fatalf("%d files, %d distinct; want 1200", count, len(seen))
	}
	_, taken, _ := gen.JPEG(1, 1001, 160, 120)
	m, err := media.ReadMeta(filepath.Join(dir, "00001", "IMG_001001.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Make == "" || m.Model == "" || !m.TakenAt.Equal(taken) {
		t.Fatalf("EXIF read back: make %q model %q taken %v; want a camera and %v", m.Make, m.Model, m.TakenAt, taken)
	}
	if err := gen.WriteJPEGs(context.Background(), dir, 1, 10, 160, 120); err == nil {
		t.Fatal("WriteJPEGs into a folder that is not empty: no error")
	}
}
