package web_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"shoebox/internal/storage"
)

// The pages' forms for merging and splitting people: on /people the owner
// ticks people and merges them into the first; on a photo's page the
// owner takes a face out of its person ("Not NAME"). Another account's
// people and faces are not found; a form posted from another site is
// refused; neither changes anything.
func TestPeopleMergeSplitForms(t *testing.T) {
	s := newSite(t, 9, 4, plainName)
	ctx := context.Background()
	base := s.srv.URL
	anna, ben, bens := annaAndBen(t, s, 2)
	annas := s.ids
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	box := [4]float32{0.5, 0.25, 0.25, 0.5}
	// Three people of anna's, three photos each; one of ben's, two faces
	// on each of his two.
	for k := range 3 {
		for i, v := range cloudOf(r, 3) {
			if err := s.st.SaveFaces(ctx, annas[3*k+i], []storage.Face{{Box: box, Score: 0.9, Embedding: v}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	bobOn(t, s, r, bens)
	ap := listPeople(t, anna, base+"/api/people")
	if len(ap) != 3 {
		t.Fatalf("anna's people: %+v", ap)
	}
	bp := listPeople(t, ben, base+"/api/people")
	if len(bp) != 1 {
		t.Fatalf("ben's people: %+v", bp)
	}
	personOf := func(c *http.Client, photo string) (face, person int64) {
		t.Helper()
		f := photoFaces(t, c, base+"/api/photos/"+photo)
		if len(f) == 0 || f[0].Person == nil {
			t.Fatalf("faces of %s: %+v", photo, f)
		}
		return f[0].ID, *f[0].Person
	}
	annaFace, a0 := personOf(anna, annas[0])
	_, a1 := personOf(anna, annas[3])
	_, a2 := personOf(anna, annas[6])
	benFace, b0 := personOf(ben, bens[0])
	id := func(v int64) string { return strconv.FormatInt(v, 10) }

	// The pages offer the forms to the owner.
	_, page := do(t, anna, "GET", base+"/people", nil)
	if !strings.Contains(page, `action="/people/merge"`) || !strings.Contains(page, `name="people" value="`+id(a1)+`" form="merge-people"`) {
		t.Errorf("anna's people page offers no merge")
	}
	_, page = do(t, anna, "GET", base+"/photo/"+annas[0], nil)
	if !strings.Contains(page, fmt.Sprintf(`action="/people/%d/split"`, a0)) || !strings.Contains(page, `name="face" value="`+id(annaFace)+`"`) {
		t.Errorf("anna's photo page offers no split of its face")
	}

	// Refused, changing nothing: another's ids (404), another site (403).
	merge := base + "/people/merge"
	split := func(p int64) string { return fmt.Sprintf("%s/people/%d/split", base, p) }
	for _, c := range []struct {
		who  *http.Client
		u    string
		form url.Values
		hdr  []string
		want int
	}{
		{ben, merge, url.Values{"people": {id(a0), id(a1)}}, nil, 404},
		{ben, merge, url.Values{"people": {id(b0), id(a1)}}, nil, 404},
		{anna, merge, url.Values{"people": {id(a0), id(b0)}}, nil, 404},
		{anna, merge, url.Values{"people": {id(b0), id(a0)}}, nil, 404},
		{anna, merge, url.Values{"people": {id(a0), "999999999"}}, nil, 404},
		{ben, split(a0), url.Values{"face": {id(annaFace)}, "photo": {annas[0]}}, nil, 404},
		{anna, split(a0), url.Values{"face": {id(benFace)}}, nil, 404},
		{anna, split(b0), url.Values{"face": {id(benFace)}}, nil, 404},
		{ben, split(b0), url.Values{"face": {id(annaFace)}}, nil, 404},
		{anna, merge, url.Values{"people": {id(a0), id(a1)}}, []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{anna, merge, url.Values{"people": {id(a0), id(a1)}}, []string{"Origin", "https://evil.example"}, 403},
		{anna, split(a0), url.Values{"face": {id(annaFace)}}, []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{anna, merge, url.Values{"people": {id(a0)}}, nil, 400},
		{anna, merge, url.Values{"people": {id(a0), id(a0)}}, nil, 400},
		{anna, merge, url.Values{"people": {id(a0), "x"}}, nil, 400},
		{anna, split(a0), url.Values{}, nil, 400},
	} {
		if resp, _ := do(t, c.who, "POST", c.u, c.form, c.hdr...); resp.StatusCode != c.want {
			t.Errorf("POST %s %v %v: %d, want %d", c.u, c.form, c.hdr, resp.StatusCode, c.want)
		}
	}
	if p := listPeople(t, anna, base+"/api/people"); len(p) != 3 {
		t.Fatalf("anna's people after refused forms: %+v", p)
	}
	if p := listPeople(t, ben, base+"/api/people"); len(p) != 1 || p[0].ID != b0 || p[0].Faces != 4 {
		t.Fatalf("ben's people after refused forms: %+v", p)
	}

	// Merge by the form: all faces into the first ticked, the others gone.
	resp, _ := do(t, anna, "POST", merge, url.Values{"people": {id(a0), id(a1), id(a2)}})
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/people" {
		t.Fatalf("merge by form: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if p := listPeople(t, anna, base+"/api/people?hidden=1"); len(p) != 1 || p[0].ID != a0 || p[0].Faces != 9 {
		t.Fatalf("after merging by form: %+v", p)
	}
	for _, photo := range annas {
		if _, pe := personOf(anna, photo); pe != a0 {
			t.Errorf("%s: person %d after merging into %d", photo, pe, a0)
		}
	}
	if resp, _ := do(t, anna, "POST", base+fmt.Sprintf("/people/%d", a1), url.Values{"name": {"x"}}); resp.StatusCode != 404 {
		t.Errorf("a merged person renamed: %d, want 404", resp.StatusCode)
	}

	// Split by the form ("Not NAME" on the photo page): a new person.
	if resp, _ := do(t, anna, "POST", base+fmt.Sprintf("/people/%d", a0), url.Values{"name": {"Aunt Mary"}}); resp.StatusCode != 303 {
		t.Fatalf("rename: %d", resp.StatusCode)
	}
	if _, page := do(t, anna, "GET", base+"/photo/"+annas[0], nil); !strings.Contains(page, "Not Aunt Mary") {
		t.Errorf("the photo page offers no \"Not Aunt Mary\"")
	}
	resp, _ = do(t, anna, "POST", split(a0), url.Values{"face": {id(annaFace)}, "photo": {annas[0]}})
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/photo/"+annas[0] {
		t.Fatalf("split by form: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, moved := personOf(anna, annas[0])
	if moved == a0 {
		t.Fatalf("the face split off is still of person %d", a0)
	}
	p := listPeople(t, anna, base+"/api/people?hidden=1")
	if len(p) != 2 || p[0].ID != a0 || p[0].Faces != 8 || p[1].ID != moved || p[1].Faces != 1 || p[1].Name != "" {
		t.Fatalf("after splitting by form: %+v", p)
	}
	if _, pe := personOf(anna, annas[1]); pe != a0 {
		t.Errorf("the other faces moved too: %d", pe)
	}
	if p := listPeople(t, ben, base+"/api/people"); len(p) != 1 || p[0].ID != b0 || p[0].Faces != 4 {
		t.Fatalf("ben's people changed: %+v", p)
	}
}
