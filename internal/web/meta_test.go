package web_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"shoebox/internal/storage"
)

// The photo API gives metadata as the camera wrote it: exact rationals, the
// local time with its zone (or none, never a made-up "Z"), snake_case file
// entries without server paths; lists sort by the local wall clock.
func TestPhotoAPIMetadataAsWritten(t *testing.T) {
	s := newSite(t, 3, 4, plainName)
	ctx := context.Background()
	// s.ids[0] keeps what newSite saved (metadata version 0).
	zoned, plain := s.ids[2], s.ids[1]
	plus2 := 120
	if err := s.st.SavePhotoResult(ctx, zoned, storage.PhotoResult{Format: "jpeg", Width: 4000, Height: 3000,
		TakenAt:     time.Date(2019, 6, 1, 14, 3, 11, 250e6, time.FixedZone("", 7200)),
		TakenOffset: &plus2, TakenSource: "xmp", Make: "FUJIFILM", Model: "X-T3",
		Lens: "XF35mmF1.4 R", LensMake: "FUJIFILM", Exposure: "1/250", ExposureSec: 0.004,
		FNumber: 1.8, FocalLength: 3.99, ISO: 102400, MetaVersion: 2}); err != nil {
		t.Fatal(err)
	}
	// Zone-less, and one hour later on the wall clock than the zoned photo
	// (but earlier as an instant if it were read as UTC): it sorts first.
	if err := s.st.SavePhotoResult(ctx, plain, storage.PhotoResult{Format: "jpeg", Width: 4000, Height: 3000,
		TakenAt: time.Date(2019, 6, 1, 15, 3, 11, 0, time.UTC), TakenSource: "exif", MetaVersion: 2}); err != nil {
		t.Fatal(err)
	}

	resp, body := get(t, s.srv.URL+"/api/photos/"+zoned)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	for _, bad := range []string{`"RelPath"`, `"Library"`, `"Root"`, `"/photos/`, `"/photos"`} {
		if strings.Contains(body, bad) {
			t.Errorf("photo JSON contains %s: %s", bad, body)
		}
	}
	var p struct {
		TakenAt       string  `json:"taken_at"`
		TakenAtOffset *string `json:"taken_at_offset"`
		Detail        struct {
			TakenSource  string  `json:"taken_source"`
			TakenOffset  *int    `json:"taken_offset_minutes"`
			FNumber      float64 `json:"fnumber"`
			FocalLength  float64 `json:"focal_length"`
			Exposure     string  `json:"exposure"`
			ExposureTime float64 `json:"exposure_time"`
			ISO          int     `json:"iso"`
			Lens         string  `json:"lens"`
			LensMake     string  `json:"lens_make"`
			Files        []map[string]any
		} `json:"detail"`
	}
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatal(err)
	}
	d := p.Detail
	if p.TakenAt != "2019-06-01T14:03:11.25+02:00" || p.TakenAtOffset == nil || *p.TakenAtOffset != "+02:00" ||
		d.TakenSource != "xmp" || d.TakenOffset == nil || *d.TakenOffset != 120 {
		t.Errorf("taken %q offset %v source %q", p.TakenAt, p.TakenAtOffset, d.TakenSource)
	}
	if d.FNumber != 1.8 || d.FocalLength != 3.99 || d.Exposure != "1/250" || d.ExposureTime != 0.004 ||
		d.ISO != 102400 || d.Lens != "XF35mmF1.4 R" || d.LensMake != "FUJIFILM" {
		t.Errorf("detail %+v", d)
	}
	if len(d.Files) != 1 || d.Files[0]["path"] != plainName(0) || d.Files[0]["library"] != "photos" ||
		d.Files[0]["library_id"] == nil || len(d.Files[0]) != 3 {
		t.Errorf("files %v", d.Files)
	}

	_, body = get(t, s.srv.URL+"/api/photos/"+plain)
	if !strings.Contains(body, `"taken_at":"2019-06-01T15:03:11","taken_at_offset":null`) {
		t.Errorf("zone-less photo: %s", body)
	}
	_, body = get(t, s.srv.URL+"/photo/"+zoned)
	for _, want := range []string{"Sat 1 Jun 2019 14:03:11 &#43;02:00", "ƒ/1.8", "3.99 mm", "in photos"} {
		if !strings.Contains(body, want) {
			t.Errorf("photo page lacks %q", want)
		}
	}

	// The list: same taken_at, newest local wall clock first.
	_, body = get(t, s.srv.URL+"/api/photos")
	var raw struct {
		Photos []map[string]any `json:"photos"`
	}
	json.Unmarshal([]byte(body), &raw)
	if len(raw.Photos) != 3 || raw.Photos[0]["id"] != plain || raw.Photos[1]["id"] != zoned ||
		raw.Photos[1]["taken_at"] != "2019-06-01T14:03:11.25+02:00" || raw.Photos[0]["taken_at_offset"] != nil {
		t.Errorf("list order/dates: %v", raw.Photos)
	}

	// A newer metadata reader reads again the photos an older one read.
	lib, err := s.st.EnsureLibrary(ctx, "/photos")
	if err != nil {
		t.Fatal(err)
	}
	if ids, err := s.st.StaleMeta(ctx, lib, 2); err != nil || len(ids) != 1 { // only fileTime was saved by version 0
		t.Errorf("stale at version 2: %v, %v", ids, err)
	}
	if ids, err := s.st.StaleMeta(ctx, lib, 3); err != nil || len(ids) != 3 {
		t.Errorf("stale at version 3: %v, %v", ids, err)
	}
}
