// Command scale measures Shoebox on large synthetic libraries: 10,000,
// 100,000, a million photos.
//
//	go run ./bench/scale -n 10000,100000 -index 1000,10000   # make bench: ~5 minutes on 2 cores
//	go run ./bench/scale -n 1000000 -index 0                  # outside CI: ~40 minutes on 2 cores, mostly the HNSW build
//	go run ./bench/scale -n 0 -index 1000,100000              # indexing cost at 100k real files: ~30 minutes
//	go run ./bench/scale gen -n 1000000 -url URL [-media DIR] [-vectors=false] # fill a migrated database, for trying by hand
//	go run ./bench/scale search -url URL                       # metadata search on it through shoebox serve, p50/p99 per query
//	go run ./bench/scale files -n 100000 DIR                  # write N small real JPEGs
//
// For each size it starts a throwaway PostgreSQL (database.NewCluster),
// migrates it with Shoebox's migrations, fills it with bench/scale/gen
// (COPY: photos in events over 16 years, cameras, places, two owners and
// a share, tags, clustered 512-d vectors), builds the HNSW index with
// storage.EnsureVectorIndex, links every photo's thumbnail and preview to
// a few real ones (hard links: media serving works without a million
// files), starts `bin/shoebox serve` on that database, signs in as alice
// (she sees both libraries) and measures, one request at a time after a
// warm-up:
//
//   - the gallery's first page (GET /) and the timeline (GET /?at=YYYY-MM
//     of random months: page and scrubber; GET /api/timeline);
//   - metadata search (GET /search?q=: a camera, a year, a tag, a word of
//     the folders, two filters at once);
//   - the stats page (GET /stats);
//
// every URL made distinct by a throwaway parameter, so the page cache
// never answers: these are uncached figures, with PostgreSQL's own cache
// warm. Then search by meaning through storage.Nearest (the server has no
// CLIP model, so its query vectors come from here): p50/p99 and recall@10
// against exact search at the ef_search Shoebox chooses for the table's
// size (storage.VectorEfSearch), and at a sweep of others.
//
// -index measures `shoebox index` on N small real JPEGs (bench/scale/gen
// WriteJPEGs) into a fresh database of the same cluster kind: wall time
// and the shoebox process's CPU time per photo (PostgreSQL's CPU apart).
//
// It prints a markdown table and writes it to bench/out/scale.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"shoebox/bench/internal/benchrun"
	"shoebox/bench/scale/gen"
	"shoebox/internal/auth"
	"shoebox/internal/database"
	"shoebox/internal/media"
	"shoebox/internal/storage"
	"shoebox/internal/thumbs"
)

const prog = benchrun.Program("bench/scale")

type config struct {
	sizes, index   []int
	runs, queries  int
	seed           uint64
	efs            []int
	bin, out, root string
	sharedBuffers  string
}

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "gen" || os.Args[1] == "files" || os.Args[1] == "search") {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		var err error
		switch os.Args[1] {
		case "gen":
			err = genCmd(ctx, os.Args[2:])
		case "search":
			err = searchCmd(ctx, os.Args[2:])
		default:
			err = filesCmd(ctx, os.Args[2:])
		}
		if err != nil {
			prog.Fatal(err)
		}
		return
	}
	var c config
	var sizes, index, efs string
	flag.StringVar(&sizes, "n", "10000,100000", "library sizes (photos), comma-separated; 0: none")
	flag.StringVar(&index, "index", "1000,10000", "real files to index with `shoebox index`, comma-separated; 0: none")
	flag.IntVar(&c.runs, "runs", 200, "measured requests of each kind")
	flag.IntVar(&c.queries, "queries", 100, "vector queries (held-out photos) for recall and latency")
	flag.Uint64Var(&c.seed, "seed", 1, "random seed of the library")
	flag.StringVar(&efs, "ef", "40,100,200,400", "hnsw.ef_search values to sweep besides Shoebox's choice")
	flag.StringVar(&c.sharedBuffers, "shared-buffers", "1GB", "PostgreSQL shared_buffers")
	flag.StringVar(&c.out, "out", "", "folder for scale.md (default: bench/out of the module)")
	flag.StringVar(&c.bin, "bin", "", "the shoebox binary (default: bin/shoebox of the module)")
	flag.Parse()
	var err error
	if c.sizes, err = ints(sizes); err == nil {
		if c.index, err = ints(index); err == nil {
			c.efs, err = ints(efs)
		}
	}
	if err != nil || c.runs < 10 || c.queries < 1 {
		prog.Fatal(fmt.Errorf("bad flags (-runs >= 10, -queries >= 1): %v", err))
	}
	for _, n := range c.sizes {
		if n < 1000 {
			prog.Fatal(errors.New("-n: sizes of at least 1000"))
		}
	}
	c.root = benchrun.ModuleRoot()
	if c.bin == "" {
		c.bin = filepath.Join(c.root, "bin", "shoebox")
	}
	if _, err := os.Stat(c.bin); err != nil {
		prog.Fatal(fmt.Errorf("%s: %w (make build first)", c.bin, err))
	}
	if c.out == "" {
		c.out = filepath.Join(c.root, "bench", "out")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep := &report{}
	rep.add("Machine", fmt.Sprintf("%d cores, %s; load at start %s", runtime.NumCPU(), time.Now().UTC().Format("2006-01-02 15:04 UTC"), benchrun.LoadAvg()))
	for _, n := range c.sizes {
		if err := runSize(ctx, c, n, rep); err != nil {
			prog.Fatal(fmt.Errorf("%d photos: %w", n, err))
		}
	}
	if len(c.index) > 0 {
		if err := runIndex(ctx, c, rep); err != nil {
			prog.Fatal(fmt.Errorf("index: %w", err))
		}
	}
	table := rep.table()
	fmt.Print(table)
	if err := os.MkdirAll(c.out, 0o755); err == nil {
		name := "scale.md"
		if len(c.sizes) == 1 && c.sizes[0] >= 1000000 || len(c.sizes) == 0 {
			name = fmt.Sprintf("scale-%s-%s.md", strings.ReplaceAll(sizes, ",", "_"), strings.ReplaceAll(index, ",", "_"))
		}
		if err := os.WriteFile(filepath.Join(c.out, name), []byte(table), 0o644); err != nil {
			prog.Logf("writing the table: %v", err)
		}
	}
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" || f == "0" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil || v < 1 {
			return nil, fmt.Errorf("bad number %q", f)
		}
		out = append(out, v)
	}
	return out, nil
}

// ---------------------------------------------------------------- report --

type report struct{ rows [][2]string }

func (r *report) add(metric, value string) {
	prog.Logf("%s: %s", metric, value)
	r.rows = append(r.rows, [2]string{metric, value})
}

func (r *report) table() string {
	var sb strings.Builder
	sb.WriteString("| Measure | Value |\n|---|---|\n")
	for _, row := range r.rows {
		fmt.Fprintf(&sb, "| %s | %s |\n", row[0], row[1])
	}
	return sb.String()
}

// ---------------------------------------------------------------- cluster --

// cluster is a throwaway PostgreSQL in a temporary folder.
type cluster struct {
	*database.Cluster
	tmp string
}

func startCluster(ctx context.Context, settings map[string]string) (*cluster, error) {
	tmp, err := os.MkdirTemp("", "shoebox-scale-")
	if err != nil {
		return nil, err
	}
	os.Chmod(tmp, 0o755) // the cluster may run as the postgres user
	base := map[string]string{"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
		"max_connections": "50", "max_wal_size": "8GB", "checkpoint_timeout": "30min"}
	for k, v := range settings {
		base[k] = v
	}
	cl, err := database.NewCluster(filepath.Join(tmp, "pg"), base)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	c := &cluster{Cluster: cl, tmp: tmp}
	if err := cl.Init(ctx); err != nil {
		c.destroy()
		return nil, err
	}
	if err := cl.Start(ctx); err != nil {
		c.destroy()
		return nil, err
	}
	return c, nil
}

func (c *cluster) destroy() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := c.Stop(ctx); err != nil {
		prog.Logf("stopping the cluster: %v", err)
	}
	os.RemoveAll(c.Root)
	os.RemoveAll(c.SocketDir)
	os.RemoveAll(c.tmp)
}

// createDB makes a database and returns its URL.
func (c *cluster) createDB(ctx context.Context, name string) (string, error) {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return "", err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	return c.URL(name), nil
}

// ------------------------------------------------------------ one size --

func runSize(ctx context.Context, c config, n int, rep *report) error {
	label := func(s string) string { return fmt.Sprintf("%s photos: %s", thousands(n), s) }
	maint := max(int64(1024), int64(n)*int64(4*512+600)*13/10>>20)
	cl, err := startCluster(ctx, map[string]string{"shared_buffers": c.sharedBuffers,
		"maintenance_work_mem": strconv.FormatInt(maint, 10) + "MB", "max_parallel_maintenance_workers": "1"})
	if err != nil {
		return err
	}
	defer cl.destroy()
	dbURL := cl.URL("postgres")
	db, err := database.Open(ctx, database.Options{URL: dbURL, MaxConns: 4, AcquireTimeout: 10 * time.Second, StatementTimeout: time.Hour})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	admin, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer admin.Close(context.Background())

	// ------------------------------------------------------------ fill --
	lib := gen.New(gen.Config{N: n, Seed: c.seed, MetaVersion: media.MetaVersion})
	hash, err := auth.HashPassword(gen.Password)
	if err != nil {
		return err
	}
	res, err := lib.Fill(ctx, admin, hash)
	if err != nil {
		return err
	}
	rep.add(label("generate + COPY (photos, files, tags, states, 512-d embeddings)"),
		fmt.Sprintf("%s (%.0f photos/s); %d events, %d files, %d tags", secs(res.Took), float64(n)/res.Took.Seconds(), lib.Events(), res.Files, res.Tags))
	t0 := time.Now()
	if _, err := admin.Exec(ctx, `VACUUM (ANALYZE)`); err != nil {
		return err
	}
	tVac := time.Since(t0)
	t0 = time.Now()
	bg := storage.New(db.Background())
	if err := bg.EnsureVectorIndex(ctx, 512); err != nil {
		return err
	}
	rep.add(label("VACUUM ANALYZE; HNSW build (storage.EnsureVectorIndex, 1 parallel worker)"), fmt.Sprintf("%s; %s", secs(tVac), secs(time.Since(t0))))
	var dbMB float64
	admin.QueryRow(ctx, `SELECT pg_database_size(current_database()) / 1048576.0`).Scan(&dbMB)

	// ----------------------------------------------------------- media --
	data := filepath.Join(cl.tmp, "data")
	t0 = time.Now()
	if err := linkMedia(ctx, lib, n, thumbs.Store{Dir: filepath.Join(data, "media")}, cl.tmp); err != nil {
		return fmt.Errorf("media: %w", err)
	}
	rep.add(label("database size; hard-linking every thumbnail and preview to a few real ones"), fmt.Sprintf("%.0f MB; %s", dbMB, secs(time.Since(t0))))

	// ----------------------------------------------------------- serve --
	srv, err := startServe(ctx, c.bin, dbURL, data)
	if err != nil {
		return err
	}
	defer srv.stop()
	cli, err := signIn(srv.base, gen.Names[gen.Alice])
	if err != nil {
		return err
	}
	// Media serving works: a photo's thumbnail.
	if _, err := get(cli, srv.base+"/thumbnail/"+lib.ID(n/2)); err != nil {
		return fmt.Errorf("thumbnail: %w", err)
	}
	st := storage.New(db)
	months, err := st.MonthCounts(ctx, storage.Scope{})
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(c.seed, 99))
	var size int
	ds, err := measure(c.runs, func(i int) error {
		var err error
		size, err = get(cli, fmt.Sprintf("%s/?b=%d", srv.base, i))
		return err
	})
	if err != nil {
		return err
	}
	rep.add(label(fmt.Sprintf("gallery GET / (first page, %d kB), uncached: p50 / p99", size/1024)), pcts(ds))
	if ds, err = measure(c.runs, func(i int) error {
		m := months[rng.IntN(len(months))]
		_, err := get(cli, fmt.Sprintf("%s/?at=%04d-%02d&b=%d", srv.base, m.Year, m.Month, i))
		return err
	}); err != nil {
		return err
	}
	rep.add(label(fmt.Sprintf("timeline GET /?at=YYYY-MM (random months of %d; page + scrubber), uncached: p50 / p99", len(months))), pcts(ds))
	if ds, err = measure(c.runs, func(i int) error { _, err := get(cli, fmt.Sprintf("%s/api/timeline?b=%d", srv.base, i)); return err }); err != nil {
		return err
	}
	rep.add(label("GET /api/timeline (the scrubber's months), uncached: p50 / p99"), pcts(ds))

	all, per, err := metadataSearch(cli, srv.base, max(10, c.runs/len(searchQueries)))
	if err != nil {
		return err
	}
	rep.add(label("metadata search GET /search?q=, uncached: p50 / p99 of all"), pcts(all)+" ("+strings.Join(per, ", ")+" p50 / p99)")
	if ds, err = measure(max(10, c.runs/10), func(i int) error { _, err := get(cli, fmt.Sprintf("%s/stats?b=%d", srv.base, i)); return err }); err != nil {
		return err
	}
	rep.add(label("stats page GET /stats, uncached: p50 / p99"), pcts(ds))
	srv.stop()

	// ------------------------------------------------ search by meaning --
	return vectorSearch(ctx, c, lib, n, st, rep, label)
}

// searchQueries are the metadata searches measured: a camera, a year, a
// tag, a folder word, two filters at once.
var searchQueries = []string{"camera:canon", "year:2019", "tag:beach", "paris", "camera:iphone year:2021", "tag:dog christmas"}

// metadataSearch times runs uncached GET /search?q= of each of
// searchQueries: all the durations, and each query's p50 / p99.
func metadataSearch(cli *http.Client, base string, runs int) (all []time.Duration, per []string, err error) {
	for _, q := range searchQueries {
		ds, err := measure(runs, func(i int) error {
			_, err := get(cli, fmt.Sprintf("%s/search?q=%s&b=%d", base, url.QueryEscape(q), i))
			return err
		})
		if err != nil {
			return nil, nil, err
		}
		all = append(all, ds...)
		per = append(per, fmt.Sprintf("`%s` %s / %s", q, ms(pct(ds, 50)), ms(pct(ds, 99))))
	}
	return all, per, nil
}

// searchCmd measures metadata search through `shoebox serve` on a
// database gen filled, as alice: the figures of a size, without making
// the library again.
func searchCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("search", flag.ExitOnError)
	u := fs.String("url", os.Getenv("DATABASE_URL"), "database URL (one gen filled)")
	runs := fs.Int("runs", 50, "measured requests of each query")
	bin := fs.String("bin", filepath.Join(benchrun.ModuleRoot(), "bin", "shoebox"), "the shoebox binary")
	fs.Parse(args)
	if *u == "" || *runs < 10 {
		return errors.New("search: -url (or DATABASE_URL) and -runs >= 10")
	}
	data, err := os.MkdirTemp("", "shoebox-scale-search-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(data)
	srv, err := startServe(ctx, *bin, *u, data)
	if err != nil {
		return err
	}
	defer srv.stop()
	cli, err := signIn(srv.base, gen.Names[gen.Alice])
	if err != nil {
		return err
	}
	all, per, err := metadataSearch(cli, srv.base, *runs)
	if err != nil {
		return err
	}
	fmt.Printf("metadata search GET /search?q=, uncached, %d runs each: p50 / p99 of all %s\n", *runs, pcts(all))
	for _, p := range per {
		fmt.Println("  " + p)
	}
	return nil
}

// vectorSearch measures storage.Nearest against exact search.
func vectorSearch(ctx context.Context, c config, lib *gen.Library, n int, st *storage.Storage, rep *report, label func(string) string) error {
	t0 := time.Now()
	qs := make([][]float32, c.queries)
	for q := range qs {
		qs[q] = make([]float32, 512)
		lib.Query(q, qs[q])
	}
	truth := exact(lib, n, qs)
	tExact := time.Since(t0)
	ef, rows, err := st.VectorEfSearch(ctx)
	if err != nil {
		return err
	}
	run := func(ef int) (float64, []time.Duration, error) {
		// Warm-up: every query once.
		for _, v := range qs {
			if _, _, err := st.Nearest(ctx, storage.NearestParams{Model: "bench-clip", Vector: v, Limit: 10, EfSearch: ef}); err != nil {
				return 0, nil, err
			}
		}
		var lat []time.Duration
		recall := 0.0
		for q, v := range qs {
			t := time.Now()
			ps, _, err := st.Nearest(ctx, storage.NearestParams{Model: "bench-clip", Vector: v, Limit: 10, EfSearch: ef})
			lat = append(lat, time.Since(t))
			if err != nil {
				return 0, nil, err
			}
			hit := 0
			for _, p := range ps {
				if slices.Contains(truth[q], p.ID) {
					hit++
				}
			}
			recall += float64(hit) / 10
		}
		return recall / float64(len(qs)), lat, nil
	}
	recall, lat, err := run(0) // Shoebox's choice
	if err != nil {
		return err
	}
	rep.add(label(fmt.Sprintf("**search by meaning** (storage.Nearest, top 10; ef_search %d chosen for ~%s rows): p50 / p99, recall@10 vs exact", ef, thousands(int(rows)))),
		fmt.Sprintf("**%s** / %s, recall **%.3f** (exact search in Go: %s)", ms(pct(lat, 50)), ms(pct(lat, 99)), recall, secs(tExact)))
	var sweep []string
	for _, e := range c.efs {
		r, l, err := run(e)
		if err != nil {
			return err
		}
		sweep = append(sweep, fmt.Sprintf("%d: %.3f, p50 %s", e, r, ms(pct(l, 50))))
	}
	if len(sweep) > 0 {
		rep.add(label("ef_search sweep: recall@10, p50"), strings.Join(sweep, "; "))
	}
	return nil
}

// exact is every query's true top 10 (photo ids) by cosine similarity,
// regenerating the library's vectors on all cores.
func exact(lib *gen.Library, n int, qs [][]float32) [][]string {
	type top struct {
		ids  [10]int
		sims [10]float32
		k    int
	}
	push := func(t *top, id int, s float32) {
		if t.k == 10 && s <= t.sims[9] {
			return
		}
		j := min(t.k, 9)
		if t.k < 10 {
			t.k++
		}
		for j > 0 && t.sims[j-1] < s {
			t.sims[j], t.ids[j] = t.sims[j-1], t.ids[j-1]
			j--
		}
		t.sims[j], t.ids[j] = s, id
	}
	workers := runtime.GOMAXPROCS(0)
	tops := make([][]top, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		tops[w] = make([]top, len(qs))
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			v := make([]float32, 512)
			for i := w; i < n; i += workers {
				lib.Vector(i, v)
				for q, qv := range qs {
					push(&tops[w][q], i, dot(qv, v))
				}
			}
		}(w)
	}
	wg.Wait()
	out := make([][]string, len(qs))
	for q := range qs {
		var all top
		for w := range tops {
			for k := 0; k < tops[w][q].k; k++ {
				push(&all, tops[w][q].ids[k], tops[w][q].sims[k])
			}
		}
		for k := 0; k < all.k; k++ {
			out[q] = append(out[q], lib.ID(all.ids[k]))
		}
	}
	return out
}

func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	for i := 0; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	return s0 + s1 + s2 + s3
}

// linkMedia makes a few real thumbnails and previews (Shoebox's own
// media.Process of generated JPEGs: 8, and one more for every 50,000
// photos, ext4 allowing 65,000 links to a file) and hard-links every
// photo's to one of them.
func linkMedia(ctx context.Context, lib *gen.Library, n int, store thumbs.Store, tmp string) error {
	k := 8 + n/50000
	type made struct{ thumb, preview string }
	var srcs []made
	dir := filepath.Join(tmp, "media-src")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for i := 0; i < k; i++ {
		body, _, err := gen.JPEG(99, i, 1200, 900)
		if err != nil {
			return err
		}
		p := filepath.Join(dir, fmt.Sprintf("src-%d.jpg", i))
		if err := os.WriteFile(p, body, 0o600); err != nil {
			return err
		}
		r, err := media.Process(ctx, p, media.Options{})
		if err != nil {
			return err
		}
		m := made{filepath.Join(dir, fmt.Sprintf("%d.thumb", i)), filepath.Join(dir, fmt.Sprintf("%d.preview", i))}
		if err := os.WriteFile(m.thumb, r.Thumb, 0o600); err != nil {
			return err
		}
		if err := os.WriteFile(m.preview, r.Preview, 0o600); err != nil {
			return err
		}
		srcs = append(srcs, m)
	}
	if err := os.MkdirAll(store.Dir, 0o700); err != nil {
		return err
	}
	made2 := map[string]bool{}
	for i := 0; i < n; i++ {
		if i%10000 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		id := lib.ID(i)
		if d := filepath.Dir(store.Path(id, thumbs.Thumb)); !made2[d] {
			if err := os.MkdirAll(d, 0o700); err != nil {
				return err
			}
			made2[d] = true
		}
		s := srcs[i%k]
		if err := os.Link(s.thumb, store.Path(id, thumbs.Thumb)); err != nil {
			return err
		}
		if err := os.Link(s.preview, store.Path(id, thumbs.Preview)); err != nil {
			return err
		}
	}
	return nil
}

// ----------------------------------------------------------------- serve --

type server struct {
	cmd  *exec.Cmd
	base string
	log  string
	once sync.Once
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// startServe runs `shoebox serve` on the database, waiting for /readyz.
func startServe(ctx context.Context, bin, dbURL, data string) (*server, error) {
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, err
	}
	logPath := filepath.Join(data, "serve.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "SHOEBOX_DATA="+data, "SHOEBOX_ADDR="+addr,
		"SHOEBOX_RESCAN_INTERVAL=0", "SHOEBOX_WORKERS=1", "SHOEBOX_DB_MAX_CONNS=8", "SHOEBOX_LIBRARY=", "SHOEBOX_CLIP_MODEL=", "SHOEBOX_ML_URL=")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	logf.Close()
	s := &server{cmd: cmd, base: "http://" + addr, log: logPath}
	deadline := time.Now().Add(15 * time.Minute) // migrations first, on a big library
	for {
		resp, err := http.Get(s.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil || cmd.ProcessState != nil {
			s.stop()
			tail, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("shoebox serve not ready: %v\n%s", err, lastLines(string(tail), 20))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (s *server) stop() {
	s.once.Do(func() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			s.cmd.Process.Kill()
			<-done
		}
	})
}

func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(ls[max(0, len(ls)-n):], "\n")
}

// signIn returns a client holding name's session cookies.
func signIn(base, name string) (*http.Client, error) {
	jar, _ := cookiejar.New(nil)
	cli := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	req, _ := http.NewRequest("POST", base+"/login", strings.NewReader(url.Values{"username": {name}, "password": {gen.Password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	resp, err := cli.Do(req)
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		return nil, fmt.Errorf("sign in as %s: %s", name, resp.Status)
	}
	return cli, nil
}

func get(cli *http.Client, u string) (int, error) {
	resp, err := cli.Get(u)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("GET %s: %s %.200s", u, resp.Status, body)
	}
	return len(body), err
}

// measure runs fn a tenth of runs to warm up, then runs times, timing each.
func measure(runs int, fn func(i int) error) ([]time.Duration, error) {
	for i := 0; i < max(1, runs/10); i++ {
		if err := fn(-1 - i); err != nil {
			return nil, err
		}
	}
	ds := make([]time.Duration, 0, runs)
	for i := 0; i < runs; i++ {
		t := time.Now()
		if err := fn(i); err != nil {
			return nil, err
		}
		ds = append(ds, time.Since(t))
	}
	return ds, nil
}

// ----------------------------------------------------------------- index --

// runIndex measures `shoebox index` on N real files for each -index size.
func runIndex(ctx context.Context, c config, rep *report) error {
	cl, err := startCluster(ctx, map[string]string{"shared_buffers": "256MB"})
	if err != nil {
		return err
	}
	defer cl.destroy()
	var perPhoto, cpuPerPhoto []float64
	for k, n := range c.index {
		dir := filepath.Join(cl.tmp, fmt.Sprintf("photos-%d", n))
		t0 := time.Now()
		if err := gen.WriteJPEGs(ctx, dir, c.seed, n, 320, 240); err != nil {
			return err
		}
		tWrite := time.Since(t0)
		dbURL, err := cl.createDB(ctx, fmt.Sprintf("idx%d", k))
		if err != nil {
			return err
		}
		data := filepath.Join(cl.tmp, fmt.Sprintf("data-%d", n))
		// Migrations first (not part of the cost): `shoebox doctor` opens
		// and migrates the database.
		cmd := exec.CommandContext(ctx, c.bin, "doctor")
		cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "SHOEBOX_DATA="+data)
		cmd.Run()
		cmd = exec.CommandContext(ctx, c.bin, "index", "--library", dir)
		cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "SHOEBOX_DATA="+data, "SHOEBOX_CLIP_MODEL=", "SHOEBOX_ML_URL=")
		out, _ := os.Create(filepath.Join(cl.tmp, fmt.Sprintf("index-%d.log", n)))
		cmd.Stdout, cmd.Stderr = out, out
		t0 = time.Now()
		err = cmd.Run()
		wall := time.Since(t0)
		out.Close()
		if err != nil {
			tail, _ := os.ReadFile(out.Name())
			return fmt.Errorf("shoebox index: %w\n%s", err, lastLines(string(tail), 20))
		}
		cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		var ready int
		conn, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			return err
		}
		conn.QueryRow(ctx, `SELECT count(*) FROM photos WHERE state = 'ready'`).Scan(&ready)
		conn.Close(ctx)
		if ready != n {
			return fmt.Errorf("shoebox index of %d files: %d photos ready", n, ready)
		}
		perPhoto = append(perPhoto, wall.Seconds()/float64(n))
		cpuPerPhoto = append(cpuPerPhoto, cpu.Seconds()/float64(n))
		rep.add(fmt.Sprintf("`shoebox index` of %s real JPEGs (320×240 with EXIF; written in %s)", thousands(n), secs(tWrite)),
			fmt.Sprintf("%s: **%.2f ms a photo** wall (%.0f photos/s), %.2f ms shoebox CPU a photo", secs(wall),
				1000*wall.Seconds()/float64(n), float64(n)/wall.Seconds(), 1000*cpu.Seconds()/float64(n)))
		os.RemoveAll(dir)
		os.RemoveAll(data)
	}
	if k := len(perPhoto) - 1; k > 0 {
		wr, cr := perPhoto[k]/perPhoto[0], cpuPerPhoto[k]/cpuPerPhoto[0]
		rep.add(fmt.Sprintf("indexing cost per photo, %s vs %s files", thousands(c.index[k]), thousands(c.index[0])),
			fmt.Sprintf("wall %.2f×, shoebox CPU %.2f× (flat within 20%%: wall %v, CPU %v)", wr, cr, math.Abs(wr-1) <= 0.2, math.Abs(cr-1) <= 0.2))
	}
	return nil
}

// ------------------------------------------------------------ subcommands --

// genCmd fills the migrated (here) database at -url with -n photos and
// builds its vector index; -media links thumbnails under DIR/media (use
// DIR as SHOEBOX_DATA).
func genCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	n := fs.Int("n", 100000, "photos")
	u := fs.String("url", os.Getenv("DATABASE_URL"), "database URL (a superuser's; an empty database)")
	seed := fs.Uint64("seed", 1, "random seed")
	data := fs.String("media", "", "data folder whose media/ gets every photo's thumbnail and preview (hard links)")
	vectors := fs.Bool("vectors", true, "write embeddings and build their HNSW index (false: neither, for metadata figures only)")
	fs.Parse(args)
	if *u == "" || *n < 1 {
		return errors.New("gen: -url (or DATABASE_URL) and -n >= 1")
	}
	db, err := database.Open(ctx, database.Options{URL: *u, MaxConns: 2, StatementTimeout: 24 * time.Hour})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, *u)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	lib := gen.New(gen.Config{N: *n, Seed: *seed, MetaVersion: media.MetaVersion, NoVectors: !*vectors})
	hash, err := auth.HashPassword(gen.Password)
	if err != nil {
		return err
	}
	res, err := lib.Fill(ctx, conn, hash)
	if err != nil {
		return err
	}
	prog.Logf("filled: %d photos, %d files, %d tags, %d embeddings in %s; users %v (password %q)", res.Photos, res.Files, res.Tags, res.Embeddings, secs(res.Took), gen.Names, gen.Password)
	if _, err := conn.Exec(ctx, `VACUUM (ANALYZE)`); err != nil {
		return err
	}
	if *vectors {
		t0 := time.Now()
		if err := storage.New(db.Background()).EnsureVectorIndex(ctx, 512); err != nil {
			return err
		}
		prog.Logf("HNSW index built in %s", secs(time.Since(t0)))
	}
	if *data != "" {
		tmp, err := os.MkdirTemp("", "shoebox-scale-media-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		if err := linkMedia(ctx, lib, *n, thumbs.Store{Dir: filepath.Join(*data, "media")}, tmp); err != nil {
			return err
		}
	}
	return nil
}

// filesCmd writes -n small real JPEGs under DIR.
func filesCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("files", flag.ExitOnError)
	n := fs.Int("n", 100000, "files")
	seed := fs.Uint64("seed", 1, "random seed")
	w := fs.Int("w", 320, "width")
	h := fs.Int("h", 240, "height")
	fs.Parse(args)
	if fs.NArg() != 1 || *n < 1 {
		return errors.New("files: -n N DIR")
	}
	t0 := time.Now()
	if err := gen.WriteJPEGs(ctx, fs.Arg(0), *seed, *n, *w, *h); err != nil {
		return err
	}
	prog.Logf("wrote %d JPEGs under %s in %s", *n, fs.Arg(0), secs(time.Since(t0)))
	return nil
}

// ------------------------------------------------------------------ misc --

func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func pcts(ds []time.Duration) string { return ms(pct(ds, 50)) + " / **" + ms(pct(ds, 99)) + "**" }

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
