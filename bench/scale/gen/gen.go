// Package gen fills a real Shoebox database (migrated by Shoebox itself)
// with a synthetic library of N photos, fast (COPY), for bench/scale: the
// rows Shoebox would have written after indexing a family's photos.
//
//   - dates: 2010 to 2025, more photos in recent years; photos come in
//     events (a day out, a holiday) of bursts seconds apart, more of them on
//     weekends and in holiday weeks (Christmas, Easter, the summer);
//   - cameras: phones of the year (Apple, Samsung, Google) most of the
//     time, a system camera (Canon, Nikon, Sony, Fujifilm...) on outings,
//     a few photos without a camera (scans, screenshots);
//   - places: GPS around the owner's home city and 40 others when
//     travelling (none for most system cameras);
//   - two owners (alice, an admin, and bob), each with a library; bob
//     shares his with alice; a few events were copied into both; a share
//     link; favourites, archived and trashed photos;
//   - CLIP-like 512-d vectors, clustered as real photos are: a common
//     direction, a scene (one of a few hundred, with its own directions of
//     variation), the event, then the photo; unit length;
//   - tags (the scene's labels) and a few percent of videos.
//
// Everything is a function of (Seed, i): Vector regenerates the i-th
// photo's vector without the database, for exact search.
package gen

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"shoebox/internal/library"
)

// Config says what to generate.
type Config struct {
	N      int    // photos
	Seed   uint64 // same seed, same library
	Dim    int    // vector dimension (default 512)
	Model  string // embeddings' and tags' model name (default "bench-clip")
	Scenes int    // vector clusters (default 400)
	// MetaVersion is written to photos.meta_version (media.MetaVersion,
	// so that Shoebox does not queue the photos again).
	MetaVersion int
	// NoVectors leaves the embeddings out (Fill writes none): for
	// measuring everything but search by meaning, in a third of the time
	// and space.
	NoVectors bool
}

func (c Config) withDefaults() Config {
	if c.Dim == 0 {
		c.Dim = 512
	}
	if c.Model == "" {
		c.Model = "bench-clip"
	}
	if c.Scenes == 0 {
		c.Scenes = 400
	}
	return c
}

// Owners of the two libraries.
const (
	Alice = 0 // admin; her library holds ~70% of the photos
	Bob   = 1 // his library is shared with alice
)

// Roots are the libraries' folders (they need not exist: Shoebox leaves a
// missing folder unscanned).
var Roots = [2]string{"/srv/bench/alice", "/srv/bench/bob"}

// Names are the owners' account names; Password is both accounts'.
var (
	Names    = [2]string{"alice", "bob"}
	Password = "bench-password-long-enough"
)

// Library is a planned synthetic library: events and scenes; photos are
// derived from them on demand.
type Library struct {
	cfg    Config
	events []event
	mean   []float32   // the common direction of all vectors
	scenes [][]float32 // scene centres, unit
	bases  [][]float32 // per scene: rank directions, rank*dim
	labels [][]string  // per scene: its tags
}

const rank = 16 // directions of variation within a scene

type event struct {
	first, count int
	start        time.Time // wall clock, as UTC (Shoebox's taken_at)
	owner        int
	camera       int
	city         int
	scene        int
	folder       string
	both         bool // copied into the other owner's library too
	gap          float64
}

// New plans a library of cfg.N photos.
func New(cfg Config) *Library {
	cfg = cfg.withDefaults()
	l := &Library{cfg: cfg}
	r := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	d := cfg.Dim
	l.mean = unitGauss(r, d)
	for k := 0; k < cfg.Scenes; k++ {
		l.scenes = append(l.scenes, unitGauss(r, d))
		b := make([]float32, rank*d)
		for j := range b {
			b[j] = float32(r.NormFloat64() / math.Sqrt(float64(d)))
		}
		l.bases = append(l.bases, b)
		nl := 1 + r.IntN(3)
		var ls []string
		for len(ls) < nl {
			w := vocabulary[r.IntN(len(vocabulary))]
			if !contains(ls, w) {
				ls = append(ls, w)
			}
		}
		l.labels = append(l.labels, ls)
	}
	for n := 0; n < cfg.N; {
		e := l.planEvent(r, n)
		e.count = min(e.count, cfg.N-n)
		l.events = append(l.events, e)
		n += e.count
	}
	return l
}

// Events is how many events the photos fall into.
func (l *Library) Events() int { return len(l.events) }

// holiday reports whether a day lies in a holiday week.
func holiday(t time.Time) bool {
	m, d := t.Month(), t.Day()
	switch {
	case m == time.December && d >= 20, m == time.January && d <= 2:
		return true
	case m == time.July && d >= 10, m == time.August && d <= 25:
		return true
	case m == time.April && d <= 14: // Easter, near enough
		return true
	}
	return false
}

// FirstYear and LastYear bound the photos' dates.
const (
	FirstYear = 2010
	LastYear  = 2025
)

func (l *Library) planEvent(r *rand.Rand, first int) event {
	// The year: more photos every year (weight grows with it).
	var day time.Time
	for {
		tot := 0.0
		for y := FirstYear; y <= LastYear; y++ {
			tot += yearWeight(y)
		}
		x := r.Float64() * tot
		y := FirstYear
		for ; y < LastYear; y++ {
			if x -= yearWeight(y); x < 0 {
				break
			}
		}
		start := time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
		days := int(start.AddDate(1, 0, 0).Sub(start).Hours() / 24)
		day = start.AddDate(0, 0, r.IntN(days))
		// Weekdays 1, weekends 2, holidays 3: rejection sampling.
		w := 1.0
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			w = 2
		}
		if holiday(day) {
			w = 3
		}
		if r.Float64()*3 < w {
			break
		}
	}
	e := event{first: first, owner: Alice}
	if r.Float64() < 0.3 {
		e.owner = Bob
	}
	mean := 5.0
	hol := holiday(day)
	wkend := day.Weekday() == time.Saturday || day.Weekday() == time.Sunday
	switch {
	case hol:
		mean = 20
	case wkend:
		mean = 10
	}
	e.count = 1 + int(r.ExpFloat64()*mean)
	// Where: home, or away on holidays (and now and then otherwise).
	e.city = homeCity[e.owner]
	if hol && r.Float64() < 0.7 || r.Float64() < 0.08 {
		e.city = r.IntN(len(cities))
	}
	// Which camera: the owner's phone of the year, or the system camera on
	// outings.
	y := day.Year()
	e.camera = phoneOf(e.owner, y)
	if (hol || wkend) && r.Float64() < 0.35 || r.Float64() < 0.05 {
		e.camera = systemOf(e.owner, y)
	}
	if r.Float64() < 0.03 {
		e.camera = noCamera
	}
	e.scene = r.IntN(l.cfg.Scenes)
	hour := 8 + r.IntN(11)
	e.start = day.Add(time.Duration(hour)*time.Hour + time.Duration(r.IntN(3600))*time.Second)
	// Photos spread over up to 8 hours.
	e.gap = math.Max(5, math.Min(8*3600/float64(e.count), 900))
	name := day.Format("2006-01-02")
	if e.city != homeCity[e.owner] {
		name += " " + cities[e.city].name
	} else if hol {
		name += " " + holidayName(day)
	}
	e.folder = fmt.Sprintf("%d/%s", y, name)
	e.both = r.Float64() < 0.02
	return e
}

func yearWeight(y int) float64 { return math.Pow(float64(y-FirstYear+2), 1.3) }

func holidayName(t time.Time) string {
	switch t.Month() {
	case time.December, time.January:
		return "Christmas"
	case time.April:
		return "Easter"
	}
	return "Summer"
}

// Photo is one generated photo row (and its files).
type Photo struct {
	ID                      string
	Hash                    []byte
	Size                    int64
	Format                  string
	Width, Height           int
	ThumbWidth, ThumbHeight int
	TakenAt                 time.Time
	Offset                  int // minutes east of UTC
	Make, Model, Lens       string
	LensMake                string
	Exposure                string
	ExposureSec             float64
	FNumber                 float64
	ISO                     int
	Focal                   float64
	HasGPS                  bool
	Lat, Lon, Alt           float64
	Video                   bool
	Duration                float64
	VideoCodec, AudioCodec  string
	Owner                   int
	Scene                   int
	Files                   []File // one, or two when copied into both libraries
	Tags                    []string
	Favorite, Archived      bool
	Trashed                 bool
}

// File is one file of a photo.
type File struct {
	Owner   int // whose library
	RelPath string
}

// ID is the i-th photo's id, of the shape Shoebox gives them.
func (l *Library) ID(i int) string {
	return library.PhotoID(l.hash(i))
}

func (l *Library) hash(i int) []byte {
	var b [24]byte
	copy(b[:8], "shoebox!")
	binary.BigEndian.PutUint64(b[8:], l.cfg.Seed)
	binary.BigEndian.PutUint64(b[16:], uint64(i))
	h := sha256.Sum256(b[:])
	return h[:]
}

func (l *Library) eventOf(i int) *event {
	k := sort.Search(len(l.events), func(k int) bool { return l.events[k].first+l.events[k].count > i })
	return &l.events[k]
}

// Photo returns the i-th photo.
func (l *Library) Photo(i int) Photo {
	e := l.eventOf(i)
	r := rand.New(rand.NewPCG(l.cfg.Seed^0xa5a5a5a5, uint64(i)))
	cam := cameras[e.camera]
	p := Photo{ID: l.ID(i), Hash: l.hash(i), Owner: e.owner, Scene: e.scene}
	// Time: the event's start plus gaps; one photo in six is a burst.
	j := i - e.first
	er := rand.New(rand.NewPCG(l.cfg.Seed^0x7e7e, uint64(e.first)))
	t := e.start
	for k := 0; k < j; k++ {
		if er.Float64() < 1.0/6 {
			t = t.Add(time.Duration(200+er.IntN(800)) * time.Millisecond)
		} else {
			t = t.Add(time.Duration(er.ExpFloat64() * e.gap * float64(time.Second)))
		}
	}
	p.TakenAt = t.Truncate(time.Millisecond)
	c := cities[e.city]
	p.Offset = c.offset
	p.Make, p.Model = cam.make, cam.model
	p.Width, p.Height = cam.w, cam.h
	if r.Float64() < 0.2 { // portrait
		p.Width, p.Height = p.Height, p.Width
	}
	p.Format = "jpeg"
	if cam.heic && r.Float64() < 0.7 {
		p.Format = "heif"
	}
	if cam.phone && r.Float64() < 0.04 {
		p.Video = true
		p.Format = "mp4"
		if cam.make == "Apple" {
			p.Format = "mov"
		}
		p.VideoCodec, p.AudioCodec = "h264", "aac"
		if cam.heic {
			p.VideoCodec = "hevc"
		}
		p.Duration = math.Round((2+r.ExpFloat64()*20)*100) / 100
		p.Width, p.Height = 1920, 1080
	}
	mp := float64(p.Width*p.Height) / 1e6
	p.Size = int64(mp * (250_000 + r.Float64()*200_000))
	if p.Format == "heif" {
		p.Size /= 2
	}
	if p.Video {
		p.Size = int64(p.Duration * 2_000_000)
	}
	if p.Width >= p.Height {
		p.ThumbWidth, p.ThumbHeight = 250, max(1, 250*p.Height/p.Width)
	} else {
		p.ThumbWidth, p.ThumbHeight = max(1, 250*p.Width/p.Height), 250
	}
	if e.camera != noCamera {
		p.Lens, p.LensMake = cam.lens, cam.lensMake
		stops := []float64{1.8, 2.0, 2.8, 4, 5.6, 8, 11}
		p.FNumber = cam.fmin
		if !cam.phone {
			p.FNumber = stops[r.IntN(len(stops))]
		}
		den := []int{30, 60, 100, 120, 250, 500, 1000, 2000}[r.IntN(8)]
		p.Exposure = "1/" + strconv.Itoa(den)
		p.ExposureSec = 1 / float64(den)
		p.ISO = []int{50, 100, 200, 400, 800, 1600, 3200}[r.IntN(7)]
		p.Focal = cam.focal
		if !cam.phone {
			p.Focal = math.Round(cam.focal * (1 + 3*r.Float64()))
		}
	}
	if cam.gps || r.Float64() < 0.1 && e.camera != noCamera {
		p.HasGPS = true
		p.Lat = c.lat + r.NormFloat64()*0.03
		p.Lon = c.lon + r.NormFloat64()*0.04
		p.Alt = math.Round(c.alt + r.NormFloat64()*10)
	}
	// Files: the owner's library, named as the camera names them.
	ext := map[string]string{"jpeg": "JPG", "heif": "HEIC", "mp4": "MP4", "mov": "MOV"}[p.Format]
	name := fmt.Sprintf("%s_%07d.%s", cam.prefix, i, ext) // unique: two events may share a day's folder
	if e.camera == noCamera {
		name = fmt.Sprintf("scan-%07d.jpg", i)
	}
	p.Files = append(p.Files, File{Owner: e.owner, RelPath: e.folder + "/" + name})
	if e.both {
		p.Files = append(p.Files, File{Owner: 1 - e.owner, RelPath: "from " + Names[e.owner] + "/" + e.folder + "/" + name})
	}
	for _, lb := range l.labels[e.scene] {
		if r.Float64() < 0.8 {
			p.Tags = append(p.Tags, lb)
		}
	}
	x := r.Float64()
	switch {
	case x < 0.015:
		p.Favorite = true
	case x < 0.018:
		p.Archived = true
	case x < 0.019:
		p.Trashed = true
	}
	return p
}

// libs is photos.libs: the sorted ids of the libraries holding its files.
func (p *Photo) libs(ids [2]int) []int32 {
	var out []int32
	for _, f := range p.Files {
		id := int32(ids[f.Owner])
		if !contains32(out, id) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

func contains32(s []int32, v int32) bool { return slices.Contains(s, v) }

// MetaText is what Shoebox keeps as the photo's metadata words
// (storage.SavePhotoResult).
func (p *Photo) MetaText() string {
	words := []string{p.Format, p.Make, p.Model, p.LensMake, p.Lens}
	if p.Video {
		words = append(words, "video", p.VideoCodec, p.AudioCodec)
	}
	return strings.ToLower(strings.Join(words, " "))
}

// SearchText is photos.search_text as storage.refreshSearch computes it:
// metadata words, the date (YYYY-MM-DD Month YYYY), the paths.
func (p *Photo) SearchText() string {
	var paths []string
	for _, f := range p.Files {
		paths = append(paths, f.RelPath)
	}
	return strings.ToLower(p.MetaText() + " " + p.TakenAt.Format("2006-01-02 January 2006") + " " + strings.Join(paths, " "))
}

// Vector writes the i-th photo's unit vector into v (len Dim): the common
// direction, the scene, the event, variation along the scene's own
// directions, a little noise. Held-out queries use i >= N.
func (l *Library) Vector(i int, v []float32) {
	var e *event
	if i < l.cfg.N {
		e = l.eventOf(i)
	} else {
		e = &l.events[int(uint64(i)*0x9e3779b97f4a7c15>>33)%len(l.events)]
	}
	d := l.cfg.Dim
	er := rand.New(rand.NewPCG(l.cfg.Seed^0xe1e1, uint64(e.first)))
	r := rand.New(rand.NewPCG(l.cfg.Seed^0x1234, uint64(i)))
	sc := l.scenes[e.scene]
	inv := 1 / math.Sqrt(float64(d))
	for k := 0; k < d; k++ {
		v[k] = 0.6*l.mean[k] + sc[k] + float32(0.55*er.NormFloat64()*inv) + float32(0.15*r.NormFloat64()*inv)
	}
	b := l.bases[e.scene]
	for q := 0; q < rank; q++ {
		a := float32(0.4 * r.NormFloat64() / math.Sqrt(rank))
		row := b[q*d : (q+1)*d]
		for k := range v[:d] {
			v[k] += a * row[k]
		}
	}
	normalize(v[:d])
}

// Query is the q-th held-out query vector: a photo of an existing event
// that was never loaded.
func (l *Library) Query(q int, v []float32) { l.Vector(l.cfg.N+q, v) }

func unitGauss(r *rand.Rand, d int) []float32 {
	v := make([]float32, d)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	normalize(v)
	return v
}

func normalize(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return
	}
	f := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= f
	}
}

func contains(s []string, w string) bool {
	for _, x := range s {
		if x == w {
			return true
		}
	}
	return false
}

// ------------------------------------------------------------- loading --

// Result counts what Fill wrote.
type Result struct {
	Photos, Files, Embeddings, Tags, States int
	Libraries                               [2]int   // ids, by owner
	Users                                   [2]int64 // ids, by owner
	Share                                   int64    // the share link's id
	Took                                    time.Duration
}

// Fill writes the library into a migrated, empty Shoebox database through
// conn (a superuser's: foreign-key triggers are skipped while loading,
// the rows being consistent by construction): users, libraries, a library
// share, photos, files, tags, embeddings (the column typed vector(Dim),
// no index: the caller builds it with storage.EnsureVectorIndex), photo
// states and a share link. passwordHash is both accounts' password as
// Shoebox stores it (auth.HashPassword(Password)).
func (l *Library) Fill(ctx context.Context, conn *pgx.Conn, passwordHash string) (Result, error) {
	t0 := time.Now()
	var res Result
	n := l.cfg.N
	for o := range Names {
		if err := conn.QueryRow(ctx, `INSERT INTO users (name, password, admin) VALUES ($1, $2, $3) RETURNING id`,
			Names[o], passwordHash, o == Alice).Scan(&res.Users[o]); err != nil {
			return res, fmt.Errorf("users: %w", err)
		}
		if err := conn.QueryRow(ctx, `INSERT INTO libraries (root, owner_id) VALUES ($1, $2) RETURNING id`,
			Roots[o], res.Users[o]).Scan(&res.Libraries[o]); err != nil {
			return res, fmt.Errorf("libraries: %w", err)
		}
	}
	if _, err := conn.Exec(ctx, `INSERT INTO library_shares (library_id, user_id) VALUES ($1, $2)`, res.Libraries[Bob], res.Users[Alice]); err != nil {
		return res, fmt.Errorf("library share: %w", err)
	}
	if _, err := conn.Exec(ctx, `SET session_replication_role = replica`); err != nil {
		return res, err
	}
	defer conn.Exec(context.Background(), `RESET session_replication_role`)

	// Photos are made once, in parallel, in chunks, and streamed to the
	// COPYs of photos, files, tags and states one after another (each
	// COPY regenerates: cheap next to the server's work).
	now := time.Now().UTC().Truncate(time.Second)
	rows := func(table string, cols []string, each func(p *Photo, emit func(...any))) (int, error) {
		src := &photoRows{l: l, n: n, each: each}
		cnt, err := conn.CopyFrom(ctx, pgx.Identifier{table}, cols, src)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", table, err)
		}
		return int(cnt), nil
	}
	var err error
	res.Photos, err = rows("photos", []string{"id", "hash", "size", "state", "format", "width", "height", "thumb_width", "thumb_height",
		"taken_at", "taken_offset", "taken_source", "camera_make", "camera_model", "lens", "lens_make", "exposure", "exposure_time",
		"fnumber", "iso", "focal_length", "lat", "lon", "alt", "orientation", "meta_text", "search_text", "indexed_at", "meta_version",
		"media_type", "duration", "video_codec", "audio_codec", "libs"},
		func(p *Photo, emit func(...any)) {
			media := "photo"
			var dur any
			if p.Video {
				media, dur = "video", p.Duration
			}
			var lat, lon, alt any
			if p.HasGPS {
				lat, lon, alt = p.Lat, p.Lon, p.Alt
			}
			emit(p.ID, p.Hash, p.Size, "ready", p.Format, int32(p.Width), int32(p.Height), int32(p.ThumbWidth), int32(p.ThumbHeight),
				p.TakenAt, int32(p.Offset), "exif", nullStr(p.Make), nullStr(p.Model), nullStr(p.Lens), nullStr(p.LensMake),
				nullStr(p.Exposure), nullF(p.ExposureSec), nullF(p.FNumber), nullI(p.ISO), nullF(p.Focal), lat, lon, alt, int16(1),
				p.MetaText(), p.SearchText(), now, int32(l.cfg.MetaVersion), media, dur, nullStr(p.VideoCodec), nullStr(p.AudioCodec),
				p.libs(res.Libraries))
		})
	if err != nil {
		return res, err
	}
	res.Files, err = rows("files", []string{"library_id", "rel_path", "photo_id", "size", "mtime"},
		func(p *Photo, emit func(...any)) {
			for _, f := range p.Files {
				emit(int32(res.Libraries[f.Owner]), f.RelPath, p.ID, p.Size, p.TakenAt.Add(-time.Duration(p.Offset)*time.Minute))
			}
		})
	if err != nil {
		return res, err
	}
	res.Tags, err = rows("tags", []string{"photo_id", "label", "score", "model", "libs"},
		func(p *Photo, emit func(...any)) {
			libs := p.libs(res.Libraries)
			for k, t := range p.Tags {
				emit(p.ID, t, float32(0.3-0.02*float64(k)), l.cfg.Model, libs)
			}
		})
	if err != nil {
		return res, err
	}
	res.States, err = rows("photo_states", []string{"user_id", "photo_id", "favorite", "archived", "trashed_at"},
		func(p *Photo, emit func(...any)) {
			if !p.Favorite && !p.Archived && !p.Trashed {
				return
			}
			var trashed any
			if p.Trashed {
				trashed = now.Add(-48 * time.Hour)
			}
			emit(res.Users[p.Owner], p.ID, p.Favorite, p.Archived, trashed)
		})
	if err != nil {
		return res, err
	}
	// A share link of alice's first 20 photos.
	if err := conn.QueryRow(ctx, `INSERT INTO shares (owner_id, key_hash) VALUES ($1, $2) RETURNING id`,
		res.Users[Alice], l.hash(-1)).Scan(&res.Share); err != nil {
		return res, fmt.Errorf("share: %w", err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO share_photos (share_id, photo_id)
		SELECT $1, f.photo_id FROM files f WHERE f.library_id = $2 ORDER BY f.rel_path LIMIT 20`, res.Share, res.Libraries[Alice]); err != nil {
		return res, fmt.Errorf("share photos: %w", err)
	}
	if !l.cfg.NoVectors {
		if res.Embeddings, err = l.copyEmbeddings(ctx, conn); err != nil {
			return res, err
		}
	}
	// The triggers were skipped: the stats counters (migration 017) are
	// computed once from the tables.
	if _, err := conn.Exec(ctx, `RESET session_replication_role`); err != nil {
		return res, err
	}
	if _, err := conn.Exec(ctx, `SELECT photo_counts_rebuild()`); err != nil {
		return res, fmt.Errorf("counters: %w", err)
	}
	res.Took = time.Since(t0)
	return res, nil
}

// copyEmbeddings types the column vector(Dim) and streams the vectors in
// with binary COPY (pgx has no codec for pgvector's type: text photo_id,
// text model, int4 dim, vector as int16 dim, int16 unused, dim float4).
func (l *Library) copyEmbeddings(ctx context.Context, conn *pgx.Conn) (int, error) {
	d := l.cfg.Dim
	if _, err := conn.Exec(ctx, `ALTER TABLE embeddings ALTER COLUMN embedding TYPE vector(`+strconv.Itoa(d)+`)`); err != nil {
		return 0, fmt.Errorf("type the vector column: %w", err)
	}
	pr, pw := io.Pipe()
	go func() {
		w := bufio.NewWriterSize(pw, 1<<20)
		w.WriteString("PGCOPY\n\xff\r\n\x00")
		w.Write(make([]byte, 8))
		var buf [8]byte
		u16 := func(v uint16) { binary.BigEndian.PutUint16(buf[:2], v); w.Write(buf[:2]) }
		u32 := func(v uint32) { binary.BigEndian.PutUint32(buf[:4], v); w.Write(buf[:4]) }
		model := l.cfg.Model
		l.Vectors(ctx, func(i int, v []float32) {
			id := l.ID(i)
			u16(4)
			u32(uint32(len(id)))
			w.WriteString(id)
			u32(uint32(len(model)))
			w.WriteString(model)
			u32(4)
			u32(uint32(d))
			u32(uint32(4 + 4*d))
			u16(uint16(d))
			u16(0)
			for _, x := range v {
				u32(math.Float32bits(x))
			}
		})
		u16(0xffff)
		pw.CloseWithError(w.Flush())
	}()
	tag, err := conn.PgConn().CopyFrom(ctx, pr, `COPY embeddings (photo_id, model, dim, embedding) FROM STDIN (FORMAT binary)`)
	pr.Close()
	if err != nil {
		return 0, fmt.Errorf("embeddings: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// Vectors calls fn with every photo's vector in order (made on all cores,
// in chunks); v is reused after fn returns.
func (l *Library) Vectors(ctx context.Context, fn func(i int, v []float32)) {
	d := l.cfg.Dim
	const chunk = 4096
	workers := runtime.GOMAXPROCS(0)
	type batch struct {
		start int
		data  []float32
		done  chan struct{}
	}
	queue := make(chan *batch, workers*2)
	work := make(chan *batch, workers*2)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				for k := 0; k*d < len(b.data); k++ {
					l.Vector(b.start+k, b.data[k*d:(k+1)*d])
				}
				close(b.done)
			}
		}()
	}
	go func() {
		for s := 0; s < l.cfg.N && ctx.Err() == nil; s += chunk {
			b := &batch{start: s, data: make([]float32, min(chunk, l.cfg.N-s)*d), done: make(chan struct{})}
			queue <- b
			work <- b
		}
		close(queue)
		close(work)
	}()
	for b := range queue {
		<-b.done
		for k := 0; k*d < len(b.data); k++ {
			fn(b.start+k, b.data[k*d:(k+1)*d])
		}
	}
	wg.Wait()
}

// photoRows is a pgx.CopyFromSource over the photos, each emitting zero
// or more rows; photos are made in parallel chunks ahead of the reader.
type photoRows struct {
	l    *Library
	n    int
	each func(p *Photo, emit func(...any))
	ch   chan [][]any
	buf  [][]any
	row  []any
}

func (s *photoRows) start() {
	const chunk = 2048
	workers := runtime.GOMAXPROCS(0)
	type job struct {
		start int
		out   chan [][]any
	}
	jobs := make(chan job, workers*2)
	order := make(chan chan [][]any, workers*2)
	for w := 0; w < workers; w++ {
		go func() {
			for j := range jobs {
				var rows [][]any
				for i := j.start; i < min(j.start+chunk, s.n); i++ {
					p := s.l.Photo(i)
					s.each(&p, func(v ...any) { rows = append(rows, v) })
				}
				j.out <- rows
			}
		}()
	}
	go func() {
		for st := 0; st < s.n; st += chunk {
			out := make(chan [][]any, 1)
			order <- out
			jobs <- job{st, out}
		}
		close(jobs)
		close(order)
	}()
	s.ch = make(chan [][]any)
	go func() {
		for out := range order {
			s.ch <- <-out
		}
		close(s.ch)
	}()
}

func (s *photoRows) Next() bool {
	if s.ch == nil {
		s.start()
	}
	for len(s.buf) == 0 {
		b, ok := <-s.ch
		if !ok {
			return false
		}
		s.buf = b
	}
	s.row, s.buf = s.buf[0], s.buf[1:]
	return true
}

func (s *photoRows) Values() ([]any, error) { return s.row, nil }
func (s *photoRows) Err() error             { return nil }

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullF(f float64) any {
	if f == 0 {
		return nil
	}
	return f
}

func nullI(i int) any {
	if i == 0 {
		return nil
	}
	return int32(i)
}
