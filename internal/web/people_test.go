package web_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"shoebox/internal/storage"
)

type personJSON struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Faces  int    `json:"faces"`
	Hidden bool   `json:"hidden"`
}

type faceJSON struct {
	ID     int64     `json:"id"`
	Box    []float64 `json:"box"`
	Person *int64    `json:"person"`
}

func listPeople(t *testing.T, c *http.Client, u string) []personJSON {
	t.Helper()
	var out struct {
		People []personJSON `json:"people"`
	}
	if st := jsonDo(t, c, "GET", u, "", &out); st != 200 || out.People == nil {
		t.Fatalf("GET %s: %d %+v", u, st, out)
	}
	return out.People
}

func photoFaces(t *testing.T, c *http.Client, u string) []faceJSON {
	t.Helper()
	var out struct {
		Faces []faceJSON `json:"faces"`
	}
	if st := jsonDo(t, c, "GET", u, "", &out); st != 200 || out.Faces == nil {
		t.Fatalf("GET %s: %d, faces %v", u, st, out.Faces)
	}
	return out.Faces
}

// cloudOf makes n face descriptors around a random centre (about 0.25
// apart; centres about 1.6 apart).
func cloudOf(r *rand.Rand, n int) [][]float32 {
	c := make([]float64, 128)
	for i := range c {
		c[i] = r.NormFloat64() * 0.1
	}
	out := make([][]float32, n)
	for k := range out {
		out[k] = make([]float32, 128)
		for i := range c {
			out[k][i] = float32(c[i] + r.NormFloat64()*0.015)
		}
	}
	return out
}

// bobOn saves two faces of one man, bob, on each of the photos ids: a
// front face and a smaller one.
func bobOn(t *testing.T, s *site, r *rand.Rand, ids []string) {
	t.Helper()
	bob := cloudOf(r, 2*len(ids))
	for i, id := range ids {
		faces := []storage.Face{
			{Box: [4]float32{0.5, 0.25, 0.25, 0.5}, Score: 0.9, Embedding: bob[2*i]},
			{Box: [4]float32{0.1, 0.1, 0.2, 0.2}, Score: 0.8, Embedding: bob[2*i+1]},
		}
		if err := s.st.SaveFaces(context.Background(), id, faces); err != nil {
			t.Fatal(err)
		}
	}
}

// People through the API and pages: each account sees the people on the
// photos it sees, names, hides, merges and splits only its own (another's
// is not found), finds photos by person:NAME; a photo's faces come with
// it; a share link shows faces only when it shows metadata; cross-origin
// changes are refused.
func TestPeopleAPI(t *testing.T) {
	s := newSite(t, 6, 4, plainName)
	ctx := context.Background()
	base := s.srv.URL
	anna, ben, bens := annaAndBen(t, s, 2)
	annas := s.ids
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	box := [4]float32{0.5, 0.25, 0.25, 0.5}
	aunt := cloudOf(r, 4)
	for i, v := range aunt {
		if err := s.st.SaveFaces(ctx, annas[i], []storage.Face{{Box: box, Score: 0.9, Embedding: v}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.st.SaveFaces(ctx, annas[4], []storage.Face{{Box: box, Score: 0.9, Embedding: cloudOf(r, 1)[0]}}); err != nil {
		t.Fatal(err)
	}
	bobOn(t, s, r, bens)

	ap := listPeople(t, anna, base+"/api/people")
	if len(ap) != 1 || ap[0].Faces != 4 || ap[0].Name != "" {
		t.Fatalf("anna's people: %+v", ap)
	}
	bp := listPeople(t, ben, base+"/api/people")
	if len(bp) != 1 || bp[0].Faces != 4 || bp[0].ID == ap[0].ID {
		t.Fatalf("ben's people: %+v", bp)
	}
	mary := fmt.Sprintf("%s/api/people/%d", base, ap[0].ID)

	// A photo's faces: box in fractions, the person's id; a lone face has
	// none; a photo without faces has an empty list.
	f := photoFaces(t, anna, base+"/api/photos/"+annas[0])
	if len(f) != 1 || f[0].Person == nil || *f[0].Person != ap[0].ID || !slices.Equal(f[0].Box, []float64{0.5, 0.25, 0.25, 0.5}) {
		t.Fatalf("faces of a photo: %+v", f)
	}
	if f := photoFaces(t, anna, base+"/api/photos/"+annas[4]); len(f) != 1 || f[0].Person != nil {
		t.Fatalf("a lone face: %+v", f)
	}
	if f := photoFaces(t, anna, base+"/api/photos/"+annas[5]); len(f) != 0 {
		t.Fatalf("a photo without faces: %+v", f)
	}

	// ben cannot touch anna's person: 404, as for no person at all.
	for _, c := range []struct{ method, u, body string }{
		{"PATCH", mary, `{"name":"Evil"}`},
		{"POST", mary + "/merge", fmt.Sprintf(`{"from":[%d]}`, bp[0].ID)},
		{"POST", fmt.Sprintf("%s/api/people/%d/merge", base, bp[0].ID), fmt.Sprintf(`{"from":[%d]}`, ap[0].ID)},
		{"POST", mary + "/split", fmt.Sprintf(`{"faces":[%d]}`, f[0].ID)},
		{"PATCH", base + "/api/people/999999999", `{"name":"x"}`},
	} {
		if st := jsonDo(t, ben, c.method, c.u, c.body, nil); st != 404 {
			t.Errorf("ben: %s %s: %d, want 404", c.method, c.u, st)
		}
	}
	// Refused: a change from another site, a bad body.
	if resp, _ := doBody(t, anna, "PATCH", mary, `{"name":"x"}`, "Content-Type", "application/json", "Sec-Fetch-Site", "cross-site"); resp.StatusCode != 403 {
		t.Errorf("cross-site PATCH: %d, want 403", resp.StatusCode)
	}
	if st := jsonDo(t, anna, "POST", mary+"/merge", fmt.Sprintf(`{"from":[%d]}`, ap[0].ID), nil); st != 400 {
		t.Errorf("merge into itself: %d, want 400", st)
	}
	if st := jsonDo(t, anna, "POST", mary+"/split", `{"faces":[]}`, nil); st != 400 {
		t.Errorf("split nothing: %d, want 400", st)
	}

	if st := jsonDo(t, anna, "PATCH", mary, `{"name":"Aunt Mary"}`, nil); st != 204 {
		t.Fatalf("name: %d", st)
	}
	if p := listPeople(t, anna, base+"/api/people"); p[0].Name != "Aunt Mary" {
		t.Fatalf("named: %+v", p)
	}
	_, body := do(t, anna, "GET", base+"/api/search?q=person:aunt_mary", nil)
	if n := len(photoPage(t, body).Photos); n != 4 {
		t.Fatalf("anna: person:aunt_mary found %d photos", n)
	}
	_, body = do(t, ben, "GET", base+"/api/search?q=person:aunt_mary", nil)
	if n := len(photoPage(t, body).Photos); n != 0 {
		t.Fatalf("ben: person:aunt_mary found %d photos", n)
	}
	for who, c := range map[string]*http.Client{"anna": anna, "ben": ben} {
		resp, page := do(t, c, "GET", base+"/people", nil)
		if resp.StatusCode != 200 || strings.Contains(page, "Aunt Mary") != (who == "anna") {
			t.Errorf("%s's people page: %d, names Aunt Mary: %v", who, resp.StatusCode, strings.Contains(page, "Aunt Mary"))
		}
	}
	if _, page := do(t, anna, "GET", base+"/photo/"+annas[0], nil); !strings.Contains(page, `class="face known"`) || !strings.Contains(page, "Aunt Mary") {
		t.Errorf("the photo page shows no face box")
	}

	// Split one face off, then merge it back.
	var split struct{ ID int64 }
	if st := jsonDo(t, anna, "POST", mary+"/split", fmt.Sprintf(`{"faces":[%d]}`, f[0].ID), &split); st != 201 || split.ID == 0 {
		t.Fatalf("split: %d %+v", st, split)
	}
	if p := listPeople(t, anna, base+"/api/people"); len(p) != 2 || p[0].Faces != 3 || p[1].ID != split.ID || p[1].Faces != 1 {
		t.Fatalf("after split: %+v", p)
	}
	if f := photoFaces(t, anna, base+"/api/photos/"+annas[0]); *f[0].Person != split.ID {
		t.Fatalf("split face: %+v", f)
	}
	if st := jsonDo(t, anna, "POST", mary+"/merge", fmt.Sprintf(`{"from":[%d]}`, split.ID), nil); st != 204 {
		t.Fatalf("merge: %d", st)
	}
	if p := listPeople(t, anna, base+"/api/people"); len(p) != 1 || p[0].Faces != 4 {
		t.Fatalf("after merge: %+v", p)
	}

	// Share links: faces only with metadata.
	for _, show := range []bool{false, true} {
		var sh struct{ URL string }
		if code := jsonDo(t, anna, "POST", base+"/api/shares", fmt.Sprintf(`{"ids":[%q],"show_metadata":%v}`, annas[0], show), &sh); code != 201 {
			t.Fatalf("share: %d", code)
		}
		visitor := client(t)
		do(t, visitor, "GET", base+sh.URL, nil)
		resp, page := do(t, visitor, "GET", base+sh.URL+"/p/"+annas[0], nil)
		if resp.StatusCode != 200 {
			t.Fatalf("shared photo page: %d", resp.StatusCode)
		}
		if got := strings.Contains(page, `<span class="face`); got != show {
			t.Errorf("show_metadata %v: faces shown %v", show, got)
		}
		if !show && strings.Contains(page, "Aunt Mary") {
			t.Error("a link without metadata names a person")
		}
		if resp, _ := do(t, visitor, "GET", base+"/api/people", nil); resp.StatusCode == 200 {
			t.Error("a link's visitor lists people")
		}
	}

	// The page's form: the owner renames; anyone else is not found.
	form := fmt.Sprintf("%s/people/%d", base, ap[0].ID)
	if resp, _ := do(t, ben, "POST", form, url.Values{"name": {"Evil"}}); resp.StatusCode != 404 {
		t.Errorf("ben's form on anna's person: %d, want 404", resp.StatusCode)
	}
	if resp, _ := do(t, anna, "POST", form, url.Values{"name": {"Mary"}}); resp.StatusCode != 303 {
		t.Fatalf("rename by form: %d", resp.StatusCode)
	}
	if p := listPeople(t, anna, base+"/api/people"); p[0].Name != "Mary" {
		t.Fatalf("renamed by form: %+v", p)
	}
	_, body = do(t, anna, "GET", base+"/api/search?q=person:mary", nil)
	if n := len(photoPage(t, body).Photos); n != 4 {
		t.Fatalf("person:mary after renaming: %d photos", n)
	}

	// Hidden: left out of the list unless asked for.
	if st := jsonDo(t, anna, "PATCH", mary, `{"hidden":true}`, nil); st != 204 {
		t.Fatalf("hide: %d", st)
	}
	if p := listPeople(t, anna, base+"/api/people"); len(p) != 0 {
		t.Fatalf("a hidden person listed: %+v", p)
	}
	if p := listPeople(t, anna, base+"/api/people?hidden=1"); len(p) != 1 || !p[0].Hidden || p[0].Name != "Mary" {
		t.Fatalf("hidden people: %+v", p)
	}
}
