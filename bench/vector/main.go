// Command vector measures search by meaning at scale: pgvector's HNSW index
// as Shoebox builds and queries it, on N synthetic CLIP-like vectors.
//
//	go run ./bench/vector -n 100000            # a few minutes on 2 cores
//	go run ./bench/vector -n 1000000           # ~20 minutes on 2 cores, mostly the index build
//
// It starts its own throwaway PostgreSQL cluster (database.NewCluster in a
// temporary folder, run as the postgres user when we are root), opens
// Shoebox's pool with database.Open and migrates it, bulk-loads N photos and
// their vectors with binary COPY, builds the index with
// storage.EnsureVectorIndex (exactly what Shoebox runs), then measures:
//
//   - the build time;
//   - p50/p99 latency of storage.Nearest (Limit 10), one search at a time
//     after a warm-up pass over the same queries, and recall@10 against an exact brute-force search done here in Go;
//   - recall and latency at other hnsw.ef_search values (the same SQL as
//     storage.Nearest, which picks ef_search by the table's size: storage.EfSearchFor), to show the trade-off;
//   - C goroutines searching at once through storage.Nearest on the same
//     pool (budget B): throughput, p50/p99, errors (ErrBusy counted apart)
//     and the most connections held (pool figures, and pg_stat_activity
//     sampled from a separate monitoring connection).
//
// The vectors imitate CLIP embeddings: a shared mean direction (unrelated
// photos are not orthogonal), K clusters ("events"), and within a cluster
// variation along a few (-rank) directions plus a little isotropic noise, so
// neighbours are meaningful (low intrinsic dimension, as real embeddings
// have). -rank 0 gives isotropic Gaussian clusters instead (the hard case for
// any approximate index). Queries are noisy copies of held-out points drawn
// the same way (never inserted).
//
// It prints a markdown table and writes it to bench/out/vector-N.md
// (vector-N-dD-cK-rR-sS.md when the data's shape is not the default). The
// cluster is stopped and its folder removed at the end, on error and on
// Ctrl-C (a second Ctrl-C kills the server at once).
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"shoebox/bench/internal/benchrun"
	"shoebox/internal/database"
	"shoebox/internal/storage"
)

const model = "bench-vitb32"

type config struct {
	n, dim, queries, budget, concurrency, perWorker int
	incremental                                     int
	clusters, rank                                  int
	seed                                            uint64
	efs                                             []int
	sharedBuffers, maintMem                         string
	parallelMaint                                   int
	outDir                                          string
	keep                                            bool
}

// prog prints this program's messages.
const prog = benchrun.Program("bench/vector")

func main() {
	var (
		c   config
		efs string
	)
	flag.IntVar(&c.n, "n", 100000, "vectors (photos) in the index")
	flag.IntVar(&c.dim, "dim", 512, "vector dimension")
	flag.IntVar(&c.queries, "queries", 200, "query vectors (held-out points) for latency and recall")
	flag.IntVar(&c.budget, "budget", 8, "connection budget of the pool (SHOEBOX_DB_MAX_CONNS)")
	flag.IntVar(&c.concurrency, "concurrency", 64, "goroutines searching at once in the concurrent phase")
	flag.IntVar(&c.perWorker, "per-worker", 25, "searches per goroutine in the concurrent phase")
	flag.IntVar(&c.incremental, "incremental", 2000, "of the N vectors, how many are saved after the build through storage.SaveEmbeddings, into the index (at most N/10)")
	flag.IntVar(&c.clusters, "clusters", 1000, "clusters of synthetic vectors")
	flag.IntVar(&c.rank, "rank", 32, "directions of variation within a cluster (0: isotropic noise)")
	flag.Uint64Var(&c.seed, "seed", 1, "random seed")
	flag.StringVar(&efs, "ef", "40,100,200,400", "hnsw.ef_search values to sweep (empty: no sweep)")
	flag.StringVar(&c.sharedBuffers, "shared-buffers", "1GB", "PostgreSQL shared_buffers")
	flag.StringVar(&c.maintMem, "maintenance-work-mem", "", "PostgreSQL maintenance_work_mem (default: 1GB, more when the graph needs it)")
	flag.IntVar(&c.parallelMaint, "parallel-maintenance-workers", 1, "PostgreSQL max_parallel_maintenance_workers")
	flag.StringVar(&c.outDir, "out", "", "folder for vector-N.md (default: bench/out of the module)")
	flag.BoolVar(&c.keep, "keep", false, "leave the cluster's folder (stopped) for inspection")
	flag.Parse()
	for _, f := range strings.Split(efs, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil || v < 1 {
			prog.Fatal(fmt.Errorf("-ef: bad value %q", f))
		}
		c.efs = append(c.efs, v)
	}
	if c.n < 10 || c.dim < 2 || c.queries < 1 || c.budget < 1 || c.concurrency < 1 || c.perWorker < 1 || c.clusters < 1 || c.rank < 0 {
		prog.Fatal(errors.New("bad flags: -n >= 10, -dim >= 2, and the rest positive"))
	}
	c.incremental = max(0, min(c.incremental, c.n/10))
	if c.maintMem == "" {
		// HNSW graph of N vectors: ~ N * (4*dim + ~600) bytes; give it room
		// (beyond maintenance_work_mem pgvector builds on disk, far slower).
		need := int64(c.n) * int64(4*c.dim+600) * 13 / 10 >> 20
		c.maintMem = strconv.FormatInt(max(1024, need), 10) + "MB"
	}
	if c.outDir == "" {
		c.outDir = filepath.Join(benchrun.ModuleRoot(), "bench", "out")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	b := &bench{cfg: c}
	// A second signal: kill the server and go.
	go func() {
		<-ctx.Done()
		stop()
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
		<-ch
		prog.Logf("second signal: killing the cluster")
		b.destroy(true)
		os.Exit(130)
	}()
	err := b.run(ctx)
	b.destroy(false)
	if err != nil {
		if ctx.Err() != nil {
			prog.Logf("interrupted: %v", err)
			os.Exit(130)
		}
		prog.Fatal(err)
	}
}

type bench struct {
	cfg      config
	mu       sync.Mutex
	cluster  *database.Cluster
	db       *database.DB
	done     bool
	data     []float32 // n*dim, unit rows
	queries  []float32 // queries*dim, unit rows
	truth    [][]int32 // exact top 10 per query
	rows     [][2]string
	index    string // the HNSW index's name
	settings map[string]string
}

// destroy closes the pool, stops the cluster and removes its folder (once).
func (b *bench) destroy(kill bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return
	}
	b.done = true
	if b.db != nil && !kill {
		b.db.Close()
	}
	c := b.cluster
	if c == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var err error
	if kill {
		err = c.Kill(ctx)
	} else {
		err = c.Stop(ctx)
	}
	if err != nil {
		prog.Logf("stopping the cluster: %v", err)
	}
	if b.cfg.keep && !kill {
		prog.Logf("kept %s", c.Root)
		return
	}
	os.RemoveAll(c.Root)
	os.RemoveAll(c.SocketDir)
}

func (b *bench) add(metric, value string) { b.rows = append(b.rows, [2]string{metric, value}) }

func (b *bench) run(ctx context.Context) error {
	c := b.cfg
	tAll := time.Now()

	// ---------------------------------------------------------- cluster --
	root, err := os.MkdirTemp("", "shoebox-vbench-")
	if err != nil {
		return err
	}
	b.settings = map[string]string{
		"fsync":                            "off", // throwaway data
		"synchronous_commit":               "off",
		"full_page_writes":                 "off",
		"shared_buffers":                   c.sharedBuffers,
		"maintenance_work_mem":             c.maintMem,
		"max_parallel_maintenance_workers": strconv.Itoa(c.parallelMaint),
		"max_wal_size":                     "8GB",
		"checkpoint_timeout":               "30min",
		"max_connections":                  "100",
	}
	cl, err := database.NewCluster(root, b.settings)
	if err != nil {
		os.RemoveAll(root)
		return err
	}
	b.mu.Lock()
	b.cluster = cl
	b.mu.Unlock()
	t0 := time.Now()
	if err := cl.Init(ctx); err != nil {
		return err
	}
	if err := cl.Start(ctx); err != nil {
		return err
	}
	prog.Logf("cluster up in %s (%s)", since(t0), root)
	url := cl.URL("postgres")
	db, err := database.Open(ctx, database.Options{URL: url, MaxConns: c.budget,
		AcquireTimeout: 5 * time.Second, StatementTimeout: 30 * time.Second})
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.db = db
	b.mu.Unlock()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	st := storage.New(db)

	// A connection of our own for loading and admin (no statement timeout).
	admin, err := pgx.Connect(ctx, url+"&application_name=bench-admin")
	if err != nil {
		return err
	}
	defer admin.Close(context.Background())
	var pgVer, vecVer string
	if err := admin.QueryRow(ctx, `SELECT current_setting('server_version'), extversion FROM pg_extension WHERE extname = 'vector'`).Scan(&pgVer, &vecVer); err != nil {
		return err
	}

	// --------------------------------------------------------- vectors --
	t0 = time.Now()
	b.generate()
	tGen := time.Since(t0)
	prog.Logf("generated %d + %d vectors of %d dims in %s", c.n, c.queries, c.dim, since(t0))

	// ------------------------------------------------------------ load --
	t0 = time.Now()
	if err := b.load(ctx, admin); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	tLoad := time.Since(t0)
	prog.Logf("loaded %d photos + vectors in %s", c.n, since(t0))
	t0 = time.Now()
	if _, err := admin.Exec(ctx, `VACUUM (ANALYZE) photos, files, embeddings`); err != nil {
		return err
	}
	tVac := time.Since(t0)
	prog.Logf("vacuum analyze in %s", since(t0))

	// ------------------------------------------------------- the index --
	// Exact answers first, while the server is idle (Go, all cores).
	t0 = time.Now()
	if err := b.exact(ctx); err != nil {
		return err
	}
	tExact := time.Since(t0)
	prog.Logf("exact top-10 for %d queries (Go brute force) in %s", c.queries, since(t0))

	prog.Logf("building the HNSW index (storage.EnsureVectorIndex, maintenance_work_mem %s, %d parallel worker(s))", c.maintMem, c.parallelMaint)
	t0 = time.Now()
	if err := st.EnsureVectorIndex(ctx, c.dim); err != nil {
		return err
	}
	tBuild := time.Since(t0)
	prog.Logf("index built in %s", since(t0))
	loadBuild := benchrun.LoadAvg()
	if err := admin.QueryRow(ctx, `SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		JOIN pg_am a ON a.oid = c.relam WHERE i.indrelid = 'embeddings'::regclass AND a.amname = 'hnsw'`).Scan(&b.index); err != nil {
		return fmt.Errorf("find the HNSW index on embeddings: %w", err)
	}

	// The rest of the vectors through the indexing path, into the index.
	var tInc time.Duration
	var incBatch []time.Duration
	if c.incremental > 0 {
		bg := storage.New(db.Background())
		t0 = time.Now()
		const batch = 16
		for s := c.n - c.incremental; s < c.n; s += batch {
			es := make([]storage.Embedding, 0, batch)
			for i := s; i < min(s+batch, c.n); i++ {
				es = append(es, storage.Embedding{PhotoID: photoID(i), Vector: b.data[i*c.dim : (i+1)*c.dim]})
			}
			tb := time.Now()
			if err := bg.SaveEmbeddings(ctx, model, es); err != nil {
				return err
			}
			incBatch = append(incBatch, time.Since(tb))
		}
		tInc = time.Since(t0)
		prog.Logf("saved %d more vectors through storage.SaveEmbeddings (batches of %d) in %s", c.incremental, batch, since(t0))
	}
	var tableMB, indexMB float64
	var rows int
	if err := admin.QueryRow(ctx, `SELECT pg_total_relation_size('embeddings') / 1048576.0 - pg_indexes_size('embeddings') / 1048576.0,
		pg_relation_size($1::regclass) / 1048576.0, (SELECT count(*) FROM embeddings)`, b.index).Scan(&tableMB, &indexMB, &rows); err != nil {
		return err
	}
	if rows != c.n {
		return fmt.Errorf("embeddings holds %d rows, want %d", rows, c.n)
	}
	planCustom, planGeneric, err := b.plans(ctx, admin)
	if err != nil {
		return err
	}

	// ------------------------------------------ one search at a time --
	first := time.Now()
	if _, _, err := st.Nearest(ctx, storage.NearestParams{Model: model, Vector: b.query(0), Limit: 10}); err != nil {
		return err
	}
	tFirst := time.Since(first)
	// Warm-up: every query once (the index's pages they touch come into
	// shared_buffers or the OS cache; pooled connections prepare the statement).
	for i := 1; i < c.queries; i++ {
		if _, _, err := st.Nearest(ctx, storage.NearestParams{Model: model, Vector: b.query(i), Limit: 10}); err != nil {
			return err
		}
	}
	loadSearch := benchrun.LoadAvg()
	lat := make([]time.Duration, c.queries)
	recall := 0.0
	short := 0
	for i := 0; i < c.queries; i++ {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		t := time.Now()
		ps, _, err := st.Nearest(ctx, storage.NearestParams{Model: model, Vector: b.query(i), Limit: 10})
		lat[i] = time.Since(t)
		if err != nil {
			return err
		}
		if len(ps) < 10 {
			short++
		}
		ids := make([]int32, 0, len(ps))
		for _, p := range ps {
			ids = append(ids, idIndex(p.ID))
		}
		recall += b.recallOf(i, ids)
	}
	recall /= float64(c.queries)
	p50, p99 := pct(lat, 50), pct(lat, 99)
	prog.Logf("storage.Nearest: p50 %s, p99 %s, recall@10 %.4f", ms(p50), ms(p99), recall)

	// ------------------------------------------------ ef_search sweep --
	type sweep struct {
		ef       int
		recall   float64
		p50, p99 time.Duration
	}
	var sweeps []sweep
	for _, ef := range c.efs {
		r, l, err := b.sweep(ctx, st, ef)
		if err != nil {
			return fmt.Errorf("ef_search %d: %w", ef, err)
		}
		sweeps = append(sweeps, sweep{ef, r, pct(l, 50), pct(l, 99)})
		prog.Logf("ef_search %d: recall@10 %.4f, p50 %s, p99 %s", ef, r, ms(pct(l, 50)), ms(pct(l, 99)))
	}

	// ------------------------------------------------------ concurrent --
	conc, err := b.concurrent(ctx, st, url)
	if err != nil {
		return err
	}
	prog.Logf("concurrent: %.0f searches/s, p50 %s, p99 %s, busy %d, other errors %d, max conns %d (pool) / %d (pg_stat_activity)",
		conc.rate, ms(conc.p50), ms(conc.p99), conc.busy, conc.errs, conc.maxPool, conc.maxPG)

	// ---------------------------------------------------------- report --
	b.add("vectors (photos)", fmt.Sprintf("%d × %d dims, %d clusters, %s", c.n, c.dim, c.clusters, b.shape()))
	b.add("PostgreSQL / pgvector", pgVer+" / "+vecVer)
	b.add("settings", fmt.Sprintf("shared_buffers %s, maintenance_work_mem %s, max_parallel_maintenance_workers %d, fsync off",
		c.sharedBuffers, c.maintMem, c.parallelMaint))
	b.add("generate vectors (Go)", secs(tGen))
	b.add("bulk load (binary COPY: photos, files, embeddings)", fmt.Sprintf("%s (%.0f rows/s)", secs(tLoad), float64(c.n)/tLoad.Seconds()))
	b.add("VACUUM ANALYZE", secs(tVac))
	b.add(fmt.Sprintf("**HNSW build** (storage.EnsureVectorIndex on %d vectors, m 16, ef_construction 100)", c.n-c.incremental),
		fmt.Sprintf("**%s** (%.0f vectors/s)", secs(tBuild), float64(c.n-c.incremental)/tBuild.Seconds()))
	if c.incremental > 0 {
		b.add(fmt.Sprintf("then %d vectors into the index (storage.SaveEmbeddings, batches of 16, background share)", c.incremental),
			fmt.Sprintf("%s (%.0f vectors/s; per batch p50 %s, p99 %s)", secs(tInc), float64(c.incremental)/tInc.Seconds(), ms(pct(incBatch, 50)), ms(pct(incBatch, 99))))
	}
	b.add("table (with TOAST) / index size", fmt.Sprintf("%.0f MB / %.0f MB (%s)", tableMB, indexMB, b.index))
	b.add("plan (custom / generic)", planCustom+" / "+planGeneric)
	b.add("first search after build (cold)", ms(tFirst))
	b.add(fmt.Sprintf("**storage.Nearest, Limit 10, one at a time** (%d queries, ef_search 100)", c.queries),
		fmt.Sprintf("**p50 %s, p99 %s**", ms(p50), ms(p99)))
	b.add("**recall@10** (vs exact brute force)", fmt.Sprintf("**%.4f**", recall)+shortNote(short))
	for _, s := range sweeps {
		b.add(fmt.Sprintf("ef_search %d (same SQL)", s.ef), fmt.Sprintf("recall@10 %.4f, p50 %s, p99 %s", s.recall, ms(s.p50), ms(s.p99)))
	}
	b.add(fmt.Sprintf("**concurrent**: %d goroutines × %d searches, budget %d", c.concurrency, c.perWorker, c.budget),
		fmt.Sprintf("**%.0f searches/s**, p50 %s, p99 %s, max %s (%s wall)", conc.rate, ms(conc.p50), ms(conc.p99), ms(conc.max), secs(conc.wall)))
	b.add("concurrent: errors", fmt.Sprintf("%d ErrBusy, %d other%s", conc.busy, conc.errs, conc.errNote))
	b.add("concurrent: most connections held", fmt.Sprintf("%d (pool TotalConns), %d acquired at once, %d shoebox backends in pg_stat_activity (%d active)",
		conc.maxPool, conc.maxAcq, conc.maxPG, conc.maxPGActive))
	b.add("concurrent: recall@10", fmt.Sprintf("%.4f", conc.recall))
	b.add("exact search (Go brute force, for recall)", secs(tExact))
	b.add("load average (1 min) after the build / before the searches / after all", loadBuild+" / "+loadSearch+" / "+benchrun.LoadAvg())
	b.add("total wall time", secs(time.Since(tAll)))

	host, _ := os.Hostname()
	var sb strings.Builder
	fmt.Fprintf(&sb, "# Vector search, %d vectors\n\n", c.n)
	fmt.Fprintf(&sb, "%s, %s, %d CPUs (%s), `go run ./bench/vector %s`\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		host, runtime.NumCPU(), cpuModel(), strings.Join(os.Args[1:], " "))
	sb.WriteString("| Metric | Value |\n|---|---|\n")
	for _, r := range b.rows {
		fmt.Fprintf(&sb, "| %s | %s |\n", r[0], r[1])
	}
	fmt.Print(sb.String())
	if err := os.MkdirAll(c.outDir, 0o755); err != nil {
		return err
	}
	name := fmt.Sprintf("vector-%d", c.n)
	if c.dim != 512 || c.clusters != 1000 || c.rank != 32 || c.seed != 1 {
		name += fmt.Sprintf("-d%d-c%d-r%d-s%d", c.dim, c.clusters, c.rank, c.seed)
	}
	out := filepath.Join(c.outDir, name+".md")
	if err := os.WriteFile(out, []byte(sb.String()), 0o644); err != nil {
		return err
	}
	prog.Logf("wrote %s", out)
	return nil
}

func shortNote(short int) string {
	if short == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d searches returned fewer than 10)", short)
}

func (b *bench) shape() string {
	if b.cfg.rank == 0 {
		return "isotropic noise"
	}
	return fmt.Sprintf("rank-%d variation per cluster", b.cfg.rank)
}

// ------------------------------------------------------------------ data --

// generate fills b.data and b.queries (deterministic for a seed).
func (b *bench) generate() {
	c := b.cfg
	d := c.dim
	r := rand.New(rand.NewPCG(c.seed, 0))
	gauss := func(r *rand.Rand, v []float32, s float64) {
		for i := range v {
			v[i] += float32(r.NormFloat64() * s)
		}
	}
	// Shared mean direction, so unrelated photos have cosine ~0.3.
	mean := make([]float32, d)
	gauss(r, mean, 1)
	normalize(mean)
	cents := make([]float32, c.clusters*d)
	for k := 0; k < c.clusters; k++ {
		v := cents[k*d : (k+1)*d]
		gauss(r, v, 1/math.Sqrt(float64(d)))
		normalize(v)
		for i := range v {
			v[i] += 0.7 * mean[i]
		}
		normalize(v)
	}
	// Per-cluster directions of variation, each of norm ~1/sqrt(rank).
	var basis []float32
	if c.rank > 0 {
		basis = make([]float32, c.clusters*c.rank*d)
		gauss(r, basis, 1/math.Sqrt(float64(d*c.rank)))
	}
	const spread, iso = 0.6, 0.15
	point := func(r *rand.Rand, v []float32) {
		k := r.IntN(c.clusters)
		copy(v, cents[k*d:(k+1)*d])
		if c.rank > 0 {
			for j := 0; j < c.rank; j++ {
				z := float32(r.NormFloat64() * spread)
				bv := basis[(k*c.rank+j)*d : (k*c.rank+j+1)*d]
				for i := range v {
					v[i] += z * bv[i]
				}
			}
			gauss(r, v, iso/math.Sqrt(float64(d)))
		} else {
			gauss(r, v, math.Sqrt(spread*spread+iso*iso)/math.Sqrt(float64(d)))
		}
		normalize(v)
	}
	b.data = make([]float32, c.n*d)
	b.queries = make([]float32, c.queries*d)
	const chunk = 4096
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for s := 0; s < c.n; s += chunk {
		wg.Add(1)
		sem <- struct{}{}
		go func(s int) {
			defer wg.Done()
			defer func() { <-sem }()
			r := rand.New(rand.NewPCG(c.seed, uint64(1+s/chunk)))
			for i := s; i < min(s+chunk, c.n); i++ {
				point(r, b.data[i*d:(i+1)*d])
			}
		}(s)
	}
	wg.Wait()
	// Queries: held-out points (never inserted), plus a little noise.
	rq := rand.New(rand.NewPCG(c.seed^0x9e3779b97f4a7c15, 1))
	for q := 0; q < c.queries; q++ {
		v := b.queries[q*d : (q+1)*d]
		point(rq, v)
		gauss(rq, v, 0.1/math.Sqrt(float64(d)))
		normalize(v)
	}
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

func (b *bench) query(i int) []float32 {
	d := b.cfg.dim
	i %= b.cfg.queries
	return b.queries[i*d : (i+1)*d]
}

// photoID is a 20-character id, like Shoebox's.
func photoID(i int) string { return fmt.Sprintf("v%019d", i) }

func idIndex(id string) int32 {
	n, err := strconv.Atoi(strings.TrimPrefix(id, "v"))
	if err != nil {
		return -1
	}
	return int32(n)
}

// load bulk-loads photos, files and embeddings with binary COPY.
func (b *bench) load(ctx context.Context, conn *pgx.Conn) error {
	c := b.cfg
	// Rows are consistent by construction: skip the per-row foreign-key
	// triggers (superuser-only; this is a throwaway cluster).
	if _, err := conn.Exec(ctx, `SET session_replication_role = replica`); err != nil {
		return err
	}
	defer conn.Exec(context.Background(), `RESET session_replication_role`)
	var lib int
	if err := conn.QueryRow(ctx, `INSERT INTO libraries (root) VALUES ('/bench') RETURNING id`).Scan(&lib); err != nil {
		return err
	}
	base := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
	_, err := conn.CopyFrom(ctx, pgx.Identifier{"photos"},
		[]string{"id", "hash", "size", "state", "format", "width", "height", "thumb_width", "thumb_height", "taken_at", "indexed_at"},
		pgx.CopyFromFunc(func() func() ([]any, error) {
			i := 0
			return func() ([]any, error) {
				if i == c.n {
					return nil, nil
				}
				h := make([]byte, 16)
				binary.BigEndian.PutUint64(h, uint64(i)*0x9e3779b97f4a7c15)
				binary.BigEndian.PutUint64(h[8:], uint64(i))
				row := []any{photoID(i), h, int64(3_000_000 + i%1000), "ready", "jpeg", 4000, 3000, 250, 188,
					base.Add(time.Duration(i) * 17 * time.Minute), base}
				i++
				return row, nil
			}
		}()))
	if err != nil {
		return fmt.Errorf("photos: %w", err)
	}
	_, err = conn.CopyFrom(ctx, pgx.Identifier{"files"},
		[]string{"library_id", "rel_path", "photo_id", "size", "mtime"},
		pgx.CopyFromFunc(func() func() ([]any, error) {
			i := 0
			return func() ([]any, error) {
				if i == c.n {
					return nil, nil
				}
				row := []any{lib, fmt.Sprintf("%d/%02d/IMG_%07d.jpg", 2015+i/50000, 1+i%12, i), photoID(i), int64(3_000_000 + i%1000), base}
				i++
				return row, nil
			}
		}()))
	if err != nil {
		return fmt.Errorf("files: %w", err)
	}
	// The column takes the model's dimension as storage.EnsureVectorIndex
	// types it when Shoebox starts with a model (then on an empty table); the
	// index is left to EnsureVectorIndex after the load, so that it is built
	// in bulk, as on a library whose vectors exist already.
	if _, err := conn.Exec(ctx, `ALTER TABLE embeddings ALTER COLUMN embedding TYPE vector(`+strconv.Itoa(c.dim)+`)`); err != nil {
		return fmt.Errorf("type the vector column: %w", err)
	}
	// Embeddings: pgx has no codec for pgvector's type, so the binary COPY
	// stream is written here: text photo_id, text model, int4 dim, vector
	// (int16 dim, int16 unused, dim float4), all big-endian.
	pr, pw := io.Pipe()
	go func() {
		w := bufio.NewWriterSize(pw, 1<<20)
		w.WriteString("PGCOPY\n\xff\r\n\x00")
		w.Write(make([]byte, 8)) // flags, header extension length
		var buf [8]byte
		u16 := func(v uint16) { binary.BigEndian.PutUint16(buf[:2], v); w.Write(buf[:2]) }
		u32 := func(v uint32) { binary.BigEndian.PutUint32(buf[:4], v); w.Write(buf[:4]) }
		d := c.dim
		for i := 0; i < c.n-c.incremental; i++ {
			id := photoID(i)
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
			for _, x := range b.data[i*d : (i+1)*d] {
				u32(math.Float32bits(x))
			}
		}
		u16(0xffff)
		pw.CloseWithError(w.Flush())
	}()
	_, err = conn.PgConn().CopyFrom(ctx, pr, `COPY embeddings (photo_id, model, dim, embedding) FROM STDIN (FORMAT binary)`)
	pr.Close()
	if err != nil {
		return fmt.Errorf("embeddings: %w", err)
	}
	return nil
}

// ----------------------------------------------------------------- exact --

// exact computes every query's true top 10 by cosine distance (all vectors
// are unit, so by dot product), on all cores.
func (b *bench) exact(ctx context.Context) error {
	c := b.cfg
	d := c.dim
	b.truth = make([][]int32, c.queries)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				q := int(next.Add(1) - 1)
				if q >= c.queries || ctx.Err() != nil {
					return
				}
				qv := b.queries[q*d : (q+1)*d]
				var top topK
				for i := 0; i < c.n; i++ {
					top.push(int32(i), dot(qv, b.data[i*d:(i+1)*d]))
				}
				b.truth[q] = top.ids()
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
}

type topK struct {
	n    int
	id   [10]int32
	sims [10]float32
}

func (t *topK) push(id int32, s float32) {
	if t.n == 10 && s <= t.sims[9] {
		return
	}
	j := min(t.n, 9)
	if t.n < 10 {
		t.n++
	}
	for j > 0 && t.sims[j-1] < s {
		t.sims[j], t.id[j] = t.sims[j-1], t.id[j-1]
		j--
	}
	t.sims[j], t.id[j] = s, id
}

func (t *topK) ids() []int32 { return slices.Clone(t.id[:t.n]) }

func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return s0 + s1 + s2 + s3
}

// recallOf is the share of query q's true top 10 among got.
func (b *bench) recallOf(q int, got []int32) float64 {
	truth := b.truth[q]
	hit := 0
	for _, t := range truth {
		if slices.Contains(got, t) {
			hit++
		}
	}
	return float64(hit) / float64(len(truth))
}

// ------------------------------------------------------------- searching --

func vectorLiteral(v []float32) string {
	var sb strings.Builder
	sb.WriteByte('[')
	for i, x := range v {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(strconv.FormatFloat(float64(x), 'g', 7, 32))
	}
	sb.WriteByte(']')
	return sb.String()
}

// sweep runs every query at one ef_search through the pool.
func (b *bench) sweep(ctx context.Context, st *storage.Storage, ef int) (float64, []time.Duration, error) {
	lat := make([]time.Duration, b.cfg.queries)
	recall := 0.0
	for i := 0; i < b.cfg.queries; i++ {
		t := time.Now()
		ps, _, err := st.Nearest(ctx, storage.NearestParams{Model: model, Vector: b.query(i), Limit: 10, EfSearch: ef})
		lat[i] = time.Since(t)
		if err != nil {
			return 0, nil, err
		}
		ids := make([]int32, len(ps))
		for k, p := range ps {
			ids[k] = idIndex(p.ID)
		}
		recall += b.recallOf(i, ids)
	}
	return recall / float64(b.cfg.queries), lat, nil
}

// plans tells whether the query uses the HNSW index, with the custom plan
// (literal values) and with a generic plan (what a prepared statement may
// switch to after five executions, unless plan_cache_mode forbids it).
func (b *bench) plans(ctx context.Context, conn *pgx.Conn) (string, string, error) {
	sql, _ := storage.NearestQuery(storage.NearestParams{Model: model, Vector: b.query(0), Limit: 10})
	lit := vectorLiteral(b.query(0))
	describe := func(plan string) string {
		if strings.Contains(plan, b.index) {
			return "HNSW index scan"
		}
		if strings.Contains(plan, "Seq Scan on embeddings") {
			return "**sequential scan** (no index)"
		}
		return "other"
	}
	explain := func(generic bool) (string, error) {
		tx, err := conn.Begin(ctx)
		if err != nil {
			return "", err
		}
		defer tx.Rollback(ctx)
		stmts := []string{`SET LOCAL hnsw.ef_search = 100`, `SET LOCAL hnsw.iterative_scan = relaxed_order`}
		if generic {
			stmts = append(stmts, `SET LOCAL plan_cache_mode = force_generic_plan`)
		}
		for _, s := range stmts {
			if _, err := tx.Exec(ctx, s); err != nil {
				return "", err
			}
		}
		var rows pgx.Rows
		if generic {
			if _, err := tx.Exec(ctx, `PREPARE bench_nearest(text, text, int, int) AS `+sql); err != nil {
				return "", err
			}
			defer conn.Exec(context.Background(), `DEALLOCATE bench_nearest`)
			rows, err = tx.Query(ctx, `EXPLAIN EXECUTE bench_nearest('`+lit+`', '`+model+`', 10, 0)`, pgx.QueryExecModeSimpleProtocol)
		} else {
			rows, err = tx.Query(ctx, `EXPLAIN `+strings.NewReplacer("$1", "'"+lit+"'", "$2", "'"+model+"'", "$3", "10", "$4", "0").Replace(sql),
				pgx.QueryExecModeSimpleProtocol)
		}
		if err != nil {
			return "", err
		}
		var sb strings.Builder
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				return "", err
			}
			sb.WriteString(line + "\n")
		}
		return sb.String(), rows.Err()
	}
	custom, err := explain(false)
	if err != nil {
		return "", "", fmt.Errorf("explain: %w", err)
	}
	generic, err := explain(true)
	if err != nil {
		return "", "", fmt.Errorf("explain generic: %w", err)
	}
	return describe(custom), describe(generic), nil
}

type concResult struct {
	rate                float64
	p50, p99, max, wall time.Duration
	busy, errs          int64
	errNote             string
	maxPool, maxAcq     int32
	maxPG, maxPGActive  int
	recall              float64
}

// concurrent runs C goroutines of K searches each through storage.Nearest,
// sampling the pool's figures and pg_stat_activity while they run.
func (b *bench) concurrent(ctx context.Context, st *storage.Storage, url string) (concResult, error) {
	c := b.cfg
	var res concResult
	mon, err := pgx.Connect(ctx, url+"&application_name=bench-monitor")
	if err != nil {
		return res, err
	}
	defer mon.Close(context.Background())

	stop := make(chan struct{})
	var monWG sync.WaitGroup
	var maxPool, maxAcq atomic.Int32
	var maxPG, maxPGActive atomic.Int64
	var monErr error
	monWG.Add(2)
	go func() { // pool figures, often (no database work)
		defer monWG.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			s := b.db.Stats()
			if s.TotalConns > maxPool.Load() {
				maxPool.Store(s.TotalConns)
			}
			if s.AcquiredConns > maxAcq.Load() {
				maxAcq.Store(s.AcquiredConns)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	go func() { // the server's view, from a connection outside the pool
		defer monWG.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			var n, active int64
			if err := mon.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE state = 'active')
				FROM pg_stat_activity WHERE application_name = 'shoebox'`).Scan(&n, &active); err != nil {
				monErr = err
				return
			}
			if n > maxPG.Load() {
				maxPG.Store(n)
			}
			if active > maxPGActive.Load() {
				maxPGActive.Store(active)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		lat     []time.Duration
		busy    atomic.Int64
		errs    atomic.Int64
		firstE  atomic.Value
		recSum  float64
		recN    int
		release = make(chan struct{})
	)
	for g := 0; g < c.concurrency; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			local := make([]time.Duration, 0, c.perWorker)
			rs, rn := 0.0, 0
			<-release
			for k := 0; k < c.perWorker && ctx.Err() == nil; k++ {
				qi := (g*c.perWorker + k) % c.queries
				t := time.Now()
				ps, _, err := st.Nearest(ctx, storage.NearestParams{Model: model, Vector: b.query(qi), Limit: 10})
				d := time.Since(t)
				if err != nil {
					if errors.Is(err, database.ErrBusy) {
						busy.Add(1)
					} else {
						errs.Add(1)
						firstE.CompareAndSwap(nil, err.Error())
					}
					continue
				}
				local = append(local, d)
				ids := make([]int32, 0, len(ps))
				for _, p := range ps {
					ids = append(ids, idIndex(p.ID))
				}
				rs += b.recallOf(qi, ids)
				rn++
			}
			mu.Lock()
			lat = append(lat, local...)
			recSum += rs
			recN += rn
			mu.Unlock()
		}(g)
	}
	t0 := time.Now()
	close(release)
	wg.Wait()
	res.wall = time.Since(t0)
	close(stop)
	monWG.Wait()
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	if monErr != nil {
		return res, fmt.Errorf("monitor: %w", monErr)
	}
	res.busy, res.errs = busy.Load(), errs.Load()
	if e, ok := firstE.Load().(string); ok {
		res.errNote = " (first: " + e + ")"
	}
	res.rate = float64(len(lat)) / res.wall.Seconds()
	if len(lat) > 0 {
		res.p50, res.p99 = pct(lat, 50), pct(lat, 99)
		res.max = slices.Max(lat)
	}
	if recN > 0 {
		res.recall = recSum / float64(recN)
	}
	res.maxPool, res.maxAcq = maxPool.Load(), maxAcq.Load()
	res.maxPG, res.maxPGActive = int(maxPG.Load()), int(maxPGActive.Load())
	return res, nil
}

// ------------------------------------------------------------------ misc --

// pct is the p-th percentile (nearest rank) of ds.
func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

func since(t time.Time) string { return time.Since(t).Round(100 * time.Millisecond).String() }

// loadavg is the 1-minute load average: other work on the machine skews
// every timing here (2 cores), so the report shows it.

func cpuModel() string {
	data, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}
