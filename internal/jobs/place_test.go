package jobs_test

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"

	"shoebox/internal/database"
	"shoebox/internal/place"
	"shoebox/internal/storage"
)

// Photos with GPS are placed as they are indexed; photos indexed before
// places existed (or placed by older data) are placed by the next scan
// from their stored position, their files not read again; both are found
// by place:NAME and by the plain word.
func TestPlaces(t *testing.T) {
	e := setup(t)
	copyFile(t, fixture(t, "gps/iphone4s_gps_orient6.jpg"), filepath.Join(e.lib, "a.jpg")) // Stockholm
	copyFile(t, fixture(t, "gps/nikon_d2h_gps.jpg"), filepath.Join(e.lib, "b.jpg"))        // Beijing
	copyFile(t, fixture(t, "noexif/noexif_240x320.jpg"), filepath.Join(e.lib, "c.jpg"))
	e.run()
	ctx := context.Background()
	a, b, c := e.photoOf(t, "a.jpg"), e.photoOf(t, "b.jpg"), e.photoOf(t, "c.jpg")
	check := func(when string) {
		t.Helper()
		for id, want := range map[string]*place.Place{
			a: {Country: "Sweden", Region: "Stockholm", City: "Stockholm"},
			b: {Country: "China", Region: "Beijing", City: "Beijing"},
			c: nil,
		} {
			p, err := e.st.Photo(ctx, storage.Scope{}, id)
			if err != nil {
				t.Fatal(err)
			}
			if (p.Place == nil) != (want == nil) || (want != nil && *p.Place != *want) {
				t.Fatalf("%s: %s: place %+v, want %+v", when, p.Path, p.Place, want)
			}
		}
		if n := e.count(t, `SELECT count(*) FROM photos WHERE lat IS NOT NULL AND place_version <> `+strconv.Itoa(place.Version)); n != 0 {
			t.Fatalf("%s: %d located photos not at place_version %d", when, n, place.Version)
		}
		for _, q := range []struct {
			params storage.ListParams
			want   string
		}{
			{storage.ListParams{Places: []string{"sweden"}}, a},
			{storage.ListParams{Places: []string{"Beijing"}}, b},
			{storage.ListParams{Terms: []string{"stockholm"}}, a},
			{storage.ListParams{Terms: []string{"china"}}, b},
		} {
			got, _, err := e.st.ListPhotos(ctx, q.params)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].ID != q.want {
				t.Fatalf("%s: %+v found %d photos, want only %s", when, q.params, len(got), q.want)
			}
		}
		if got, _, _ := e.st.ListPhotos(ctx, storage.ListParams{Places: []string{"stock"}}); len(got) != 0 {
			t.Fatalf("%s: place:stock (part of a word) found %d photos", when, len(got))
		}
	}
	check("indexed")

	// As before places: nothing placed, the search text without them.
	err := e.db.Do(ctx, func(q database.Querier) error {
		_, err := q.Exec(ctx, `UPDATE photos SET place_country = NULL, place_region = NULL, place_city = NULL,
			place_text = '', place_version = 0, search_text = meta_text`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, _, _ := e.st.ListPhotos(ctx, storage.ListParams{Terms: []string{"stockholm"}}); len(got) != 0 {
		t.Fatal("found by place before being placed")
	}
	processed := e.count(t, `SELECT count(*) FROM river_job WHERE kind = 'process'`)
	e.run()
	check("placed by a scan")
	if n := e.count(t, `SELECT count(*) FROM river_job WHERE kind = 'process'`); n != processed {
		t.Fatalf("process jobs %d -> %d: placing read the files again", processed, n)
	}
}
