package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"shoebox/internal/storage"
)

// Photos from truncated or corrupt files are listed like any other, and say
// so everywhere: "damaged"/"damage" in every API list entry and in
// /api/photos/{id}, a note on the photo page, a count in /api/stats and on
// /stats, and the search filter is:damaged (alone or with other words).
func TestDamagedPhotos(t *testing.T) {
	s := newSite(t, 10, 4, plainName)
	ctx := context.Background()
	const warning = `VipsJpeg: Premature end of JPEG file <script>alert(1)</script>`
	damaged := []string{s.ids[1], s.ids[4], s.ids[7]}
	base := time.Date(2019, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, id := range damaged {
		i := 9 - slices.Index(s.ids, id) // newSite's order: ids are newest first
		err := s.st.SavePhotoResult(ctx, id, storage.PhotoResult{Format: "jpeg", Width: 4000, Height: 3000,
			ThumbWidth: 250, ThumbHeight: 188, TakenAt: base.Add(time.Duration(i) * time.Hour),
			Make: "Canon", Model: fmt.Sprintf("EOS %dD", i%3), Placeholder: placeholder, Damage: warning})
		if err != nil {
			t.Fatal(err)
		}
	}

	type entry struct {
		ID      string  `json:"id"`
		Damaged *bool   `json:"damaged"`
		Damage  *string `json:"damage"`
	}
	list := func(path string) []entry {
		t.Helper()
		resp, body := get(t, s.srv.URL+path)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
		var l struct{ Photos []entry }
		if err := json.Unmarshal([]byte(body), &l); err != nil {
			t.Fatal(err)
		}
		return l.Photos
	}
	all := list("/api/photos")
	if len(all) != 10 {
		t.Fatalf("%d photos listed, want 10: damaged photos must be listed", len(all))
	}
	for _, e := range all {
		isDamaged := slices.Contains(damaged, e.ID)
		switch {
		case e.Damaged == nil:
			t.Errorf("%s: no \"damaged\" field", e.ID)
		case *e.Damaged != isDamaged:
			t.Errorf("%s: damaged = %v, want %v", e.ID, *e.Damaged, isDamaged)
		case isDamaged && (e.Damage == nil || *e.Damage != warning):
			t.Errorf("%s: damage = %v, want the warning", e.ID, e.Damage)
		case !isDamaged && e.Damage != nil:
			t.Errorf("%s: a sound photo has \"damage\": %q", e.ID, *e.Damage)
		}
	}

	ids := func(es []entry) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}
	for q, want := range map[string][]string{
		"is:damaged":       damaged,
		"is:damaged canon": damaged,
		"is:damaged 2019":  damaged,
		"is:damaged 2018":  nil,
		"is:damaged eos_x": nil,
	} {
		if got := ids(list("/api/search?q=" + url.QueryEscape(q))); !slices.Equal(got, want) {
			t.Errorf("%q: %v, want %v", q, got, want)
		}
	}
	// The gallery's search page filters the same way.
	if _, body := get(t, s.srv.URL+"/search?q=is:damaged"); strings.Count(body, `<img src="/thumbnail/`) != 3 || !strings.Contains(body, damaged[0]) {
		t.Errorf("/search?q=is:damaged does not show the 3 damaged photos")
	}

	resp, body := get(t, s.srv.URL+"/api/photos/"+damaged[0])
	var one entry
	if err := json.Unmarshal([]byte(body), &one); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %v", resp.StatusCode, err)
	}
	if one.Damaged == nil || !*one.Damaged || one.Damage == nil || *one.Damage != warning {
		t.Errorf("/api/photos/{id}: %s", body)
	}

	_, page := get(t, s.srv.URL+"/photo/"+damaged[0])
	if !strings.Contains(page, `id="damage"`) || !strings.Contains(page, "Premature end of JPEG file &lt;script&gt;") {
		t.Errorf("photo page lacks the escaped damage note")
	}
	if strings.Contains(page, "<script>alert(1)") {
		t.Error("damage note is not escaped")
	}
	if _, page := get(t, s.srv.URL+"/photo/"+s.ids[0]); strings.Contains(page, `id="damage"`) {
		t.Error("a sound photo's page has a damage note")
	}

	_, body = get(t, s.srv.URL+"/api/stats")
	var st struct {
		Photos  int  `json:"photos"`
		Damaged *int `json:"damaged"`
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	if st.Photos != 10 || st.Damaged == nil || *st.Damaged != 3 {
		t.Errorf("stats: %s", body)
	}
	if _, page := get(t, s.srv.URL+"/stats"); !strings.Contains(page, `<td id="damaged"><a href="/search?q=is:damaged">3</a></td>`) {
		t.Error("stats page lacks the damaged count")
	}
}
