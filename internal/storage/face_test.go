package storage_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"shoebox/internal/database/dbtest"
	"shoebox/internal/face"
	"shoebox/internal/storage"
)

// faceCloud is n descriptors around a random centre: centres lie about 1.6
// apart, a cloud's points about 0.25 from each other (face-api's scale:
// one person within 0.6).
type faceCloud struct{ centre []float32 }

func newCloud(r *rand.Rand) faceCloud {
	c := make([]float32, 128)
	for i := range c {
		c[i] = float32(r.NormFloat64() * 0.1)
	}
	return faceCloud{c}
}

func (c faceCloud) point(r *rand.Rand) []float32 {
	v := make([]float32, 128)
	for i := range v {
		v[i] = c.centre[i] + float32(r.NormFloat64()*0.015)
	}
	return v
}

type sample struct {
	photo string
	cloud int // -1: a lone face
}

// Faces arriving one photo at a time, in random order, group into one
// person per dense cloud; a lone face stays alone; a person forms only
// once a cloud has FaceMinGroup faces; name, hide, merge, split and
// person: search work for the owner only, and another account sees
// neither the faces nor the people of photos it does not see.
func TestFacesClusterIntoPeople(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := dbtest.Storage(t)
	annaName, benName := "anna-"+newID(t)[:8], "ben-"+newID(t)[:8]
	anna, err := st.AddUser(ctx, annaName, "x", false)
	if err != nil {
		t.Fatal(err)
	}
	ben, err := st.AddUser(ctx, benName, "x", false)
	if err != nil {
		t.Fatal(err)
	}
	la, _, err := st.AddLibrary(ctx, "/lib/"+newID(t), annaName)
	if err != nil {
		t.Fatal(err)
	}
	lb, _, err := st.AddLibrary(ctx, "/lib/"+newID(t), benName)
	if err != nil {
		t.Fatal(err)
	}
	annaS := storage.Only([]int32{int32(la)}).As(anna)
	benS := storage.Only([]int32{int32(lb)}).As(ben)

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	clouds := []faceCloud{newCloud(r), newCloud(r), newCloud(r)}
	sizes := []int{6, 4, 3}
	for i := range clouds {
		for j := range i {
			if d := face.Distance(clouds[i].centre, clouds[j].centre); d < 1.2 {
				t.Skipf("centres %.2f apart: too close for this seed", d)
			}
		}
	}
	var samples []sample
	vecs := map[string][]float32{}
	now := time.Now()
	for c, n := range sizes {
		for range n {
			id := addPhoto(t, st, la, newID(t)+".jpg", now)
			samples = append(samples, sample{id, c})
			vecs[id] = clouds[c].point(r)
		}
	}
	lone := addPhoto(t, st, la, "lone.jpg", now)
	samples = append(samples, sample{lone, -1})
	vecs[lone] = newCloud(r).centre
	r.Shuffle(len(samples), func(i, j int) { samples[i], samples[j] = samples[j], samples[i] })

	box := [4]float32{0.25, 0.1, 0.2, 0.3}
	seen := make([]int, len(sizes))
	for _, s := range samples {
		if err := st.SaveFaces(ctx, s.photo, []storage.Face{{Box: box, Score: 0.9, Embedding: vecs[s.photo]}}); err != nil {
			t.Fatal(err)
		}
		if s.cloud < 0 {
			continue
		}
		seen[s.cloud]++
		f, err := st.PhotoFaces(ctx, s.photo)
		if err != nil || len(f) != 1 {
			t.Fatalf("faces: %v %v", f, err)
		}
		// A face of a cloud is placed once its cloud has FaceMinGroup faces.
		if (f[0].Person != nil) != (seen[s.cloud] >= storage.FaceMinGroup) {
			t.Fatalf("face %d of cloud %d: person %v", seen[s.cloud], s.cloud, f[0].Person)
		}
		if f[0].Box != box {
			t.Fatalf("box %v, want %v", f[0].Box, box)
		}
	}
	personOf := map[int]int64{}
	for _, s := range samples {
		f, err := st.PhotoFaces(ctx, s.photo)
		if err != nil {
			t.Fatal(err)
		}
		if s.cloud < 0 {
			if f[0].Person != nil {
				t.Fatalf("the lone face joined person %d", *f[0].Person)
			}
			continue
		}
		if f[0].Person == nil {
			t.Fatalf("a face of cloud %d has no person", s.cloud)
		}
		if p, ok := personOf[s.cloud]; ok && p != *f[0].Person {
			t.Fatalf("cloud %d split between people %d and %d", s.cloud, p, *f[0].Person)
		}
		personOf[s.cloud] = *f[0].Person
	}
	people, err := st.ListPeople(ctx, storage.PeopleParams{Scope: annaS})
	if err != nil {
		t.Fatal(err)
	}
	if len(people) != len(sizes) {
		t.Fatalf("%d people, want %d: %+v", len(people), len(sizes), people)
	}
	for c, n := range sizes {
		i := slices.IndexFunc(people, func(p storage.Person) bool { return p.ID == personOf[c] })
		if i < 0 || people[i].Faces != n || !people[i].Owned || people[i].Box != box {
			t.Fatalf("person of cloud %d: %+v", c, people)
		}
	}

	// Another account sees none of them, and changes none.
	if p, err := st.ListPeople(ctx, storage.PeopleParams{Scope: benS}); err != nil || len(p) != 0 {
		t.Fatalf("ben's people: %+v %v", p, err)
	}
	name := "Aunt Mary"
	if err := st.UpdatePerson(ctx, ben, personOf[0], storage.PersonChange{Name: &name}); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("ben renames anna's person: %v", err)
	}
	if err := st.MergePeople(ctx, ben, personOf[0], []int64{personOf[1]}); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("ben merges anna's people: %v", err)
	}

	// Named: found by person:NAME (any case, _ for spaces), by anna only.
	if err := st.UpdatePerson(ctx, anna, personOf[0], storage.PersonChange{Name: &name}); err != nil {
		t.Fatal(err)
	}
	found, _, err := st.ListPhotos(ctx, storage.ListParams{Scope: annaS, People: []string{"aunt_mary"}})
	if err != nil || len(found) != sizes[0] {
		t.Fatalf("person:aunt_mary: %d photos, %v", len(found), err)
	}
	if found, _, err := st.ListPhotos(ctx, storage.ListParams{Scope: benS, People: []string{"aunt_mary"}}); err != nil || len(found) != 0 {
		t.Fatalf("ben's person:aunt_mary: %d photos, %v", len(found), err)
	}
	if people, _ := st.ListPeople(ctx, storage.PeopleParams{Scope: annaS}); people[0].Name != name {
		t.Fatalf("named people first: %+v", people)
	}

	// Hidden: left out unless asked for.
	yes := true
	if err := st.UpdatePerson(ctx, anna, personOf[2], storage.PersonChange{Hidden: &yes}); err != nil {
		t.Fatal(err)
	}
	if p, _ := st.ListPeople(ctx, storage.PeopleParams{Scope: annaS}); len(p) != 2 {
		t.Fatalf("hidden person listed: %+v", p)
	}
	if p, _ := st.ListPeople(ctx, storage.PeopleParams{Scope: annaS, Hidden: true}); len(p) != 3 {
		t.Fatalf("hidden person not listed when asked: %+v", p)
	}

	// Merge 1 into 0; then split one face off.
	if err := st.MergePeople(ctx, anna, personOf[0], []int64{personOf[1]}); err != nil {
		t.Fatal(err)
	}
	p, _ := st.ListPeople(ctx, storage.PeopleParams{Scope: annaS, ID: personOf[0]})
	if len(p) != 1 || p[0].Faces != sizes[0]+sizes[1] {
		t.Fatalf("merged: %+v", p)
	}
	if p, _ := st.ListPeople(ctx, storage.PeopleParams{Scope: annaS, ID: personOf[1], Hidden: true}); len(p) != 0 {
		t.Fatalf("merged person still there: %+v", p)
	}
	var moved []int64
	for _, s := range samples {
		if s.cloud == 1 {
			f, _ := st.PhotoFaces(ctx, s.photo)
			moved = append(moved, f[0].ID)
		}
	}
	if _, err := st.SplitPerson(ctx, ben, personOf[0], moved); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("ben splits anna's person: %v", err)
	}
	if _, err := st.SplitPerson(ctx, anna, personOf[2], moved); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("split faces of another person: %v", err)
	}
	split, err := st.SplitPerson(ctx, anna, personOf[0], moved)
	if err != nil {
		t.Fatal(err)
	}
	p, _ = st.ListPeople(ctx, storage.PeopleParams{Scope: annaS, ID: split})
	if len(p) != 1 || p[0].Faces != sizes[1] {
		t.Fatalf("split off: %+v", p)
	}
	if p, _ := st.ListPeople(ctx, storage.PeopleParams{Scope: annaS, ID: personOf[0]}); p[0].Faces != sizes[0] {
		t.Fatalf("left after split: %+v", p)
	}

	// A new face of cloud 1 joins the split-off person; saving a photo's
	// faces again replaces them.
	extra := addPhoto(t, st, la, "extra.jpg", now)
	if err := st.SaveFaces(ctx, extra, []storage.Face{{Box: box, Score: 0.8, Embedding: clouds[1].point(r)}, {Box: [4]float32{0.6, 0.1, 0.1, 0.1}, Score: 0.7, Embedding: clouds[0].point(r)}}); err != nil {
		t.Fatal(err)
	}
	f, _ := st.PhotoFaces(ctx, extra)
	if len(f) != 2 || f[0].Person == nil || *f[0].Person != split || f[1].Person == nil || *f[1].Person != personOf[0] {
		t.Fatalf("new faces: %+v", f)
	}
	if err := st.SaveFaces(ctx, extra, nil); err != nil {
		t.Fatal(err)
	}
	if f, _ := st.PhotoFaces(ctx, extra); len(f) != 0 {
		t.Fatalf("faces after replacing with none: %+v", f)
	}

	// A photo looked at again (its file changed, a new version of the
	// detector) keeps what its owner decided: a face taken out of its
	// person stays out when the same face is found again, where the
	// nearest-person rule alone would put it back.
	var again string
	for _, s := range samples {
		if s.cloud == 0 {
			again = s.photo
			break
		}
	}
	f0, _ := st.PhotoFaces(ctx, again)
	if len(f0) != 1 || f0[0].Person == nil || *f0[0].Person != personOf[0] {
		t.Fatalf("faces of %s: %+v", again, f0)
	}
	alone, err := st.SplitPerson(ctx, anna, personOf[0], []int64{f0[0].ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SaveFaces(ctx, again, []storage.Face{{Box: f0[0].Box, Score: 0.9, Embedding: vecs[again]}}); err != nil {
		t.Fatal(err)
	}
	if f, _ := st.PhotoFaces(ctx, again); len(f) != 1 || f[0].Person == nil || *f[0].Person != alone {
		t.Fatalf("the split-off face, found again: %+v, want person %d", f, alone)
	}
}

// Faces saved before any account exists belong to no one (0), and cluster
// with the first admin's once one exists.
func TestFacesOfNoAccountAreAdopted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := dbtest.Storage(t)
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	c := newCloud(r)
	lib := newLibrary(t, st)
	now := time.Now()
	var first []string
	for range 3 {
		id := addPhoto(t, st, lib, newID(t)+".jpg", now)
		first = append(first, id)
	}
	// Other tests' accounts may exist in this database: only where there
	// is no admin is the local user's view tested.
	admins, err := st.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range admins {
		if u.Admin {
			t.Skip("an admin exists already")
		}
	}
	for _, id := range first {
		if err := st.SaveFaces(ctx, id, []storage.Face{{Box: [4]float32{0, 0, 1, 1}, Score: 1, Embedding: c.point(r)}}); err != nil {
			t.Fatal(err)
		}
	}
	local, err := st.ListPeople(ctx, storage.PeopleParams{})
	if err != nil || len(local) != 1 || !local[0].Owned {
		t.Fatalf("the local user's people: %+v %v", local, err)
	}
	admin, err := st.AddUser(ctx, "admin-"+newID(t)[:8], "x", true)
	if err != nil {
		t.Fatal(err)
	}
	id := addPhoto(t, st, lib, "later.jpg", now)
	if err := st.SaveFaces(ctx, id, []storage.Face{{Box: [4]float32{0, 0, 1, 1}, Score: 1, Embedding: c.point(r)}}); err != nil {
		t.Fatal(err)
	}
	people, err := st.ListPeople(ctx, storage.PeopleParams{Scope: storage.Only([]int32{int32(lib)}).As(admin)})
	if err != nil || len(people) != 1 || people[0].ID != local[0].ID || people[0].Faces != 4 || !people[0].Owned {
		t.Fatalf("the admin's people: %+v %v", people, err)
	}
}
