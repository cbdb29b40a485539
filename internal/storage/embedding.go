package storage

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"shoebox/internal/database"
)

// vectorLiteral writes v in pgvector's text form, "[1,2,3]".
func vectorLiteral(v []float32) string {
	var b strings.Builder
	b.Grow(len(v) * 10)
	b.WriteByte('[')
	for i, x := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatFloat(float64(x), 'g', 7, 32))
	}
	b.WriteByte(']')
	return b.String()
}

// EnsureVectorIndex makes the embedding column a vector(dim) — the model's
// dimension — with its HNSW cosine index. The column starts untyped (no
// model known yet); when a model of another dimension takes over, the old
// vectors, which no longer fit, are dropped first (the library is then
// re-embedded in the background). Building the index on an existing
// library takes a while: it runs on the background share, not a page's.
func (s *Storage) EnsureVectorIndex(ctx context.Context, dim int) error {
	want := "vector(" + strconv.Itoa(dim) + ")"
	err := s.db.Tx(ctx, func(q database.Querier) error {
		if _, err := q.Exec(ctx, `SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = 0`); err != nil {
			return err
		}
		var have string
		if err := q.QueryRow(ctx, `SELECT format_type(atttypid, atttypmod) FROM pg_attribute
			WHERE attrelid = 'embeddings'::regclass AND attname = 'embedding'`).Scan(&have); err != nil {
			return err
		}
		if have != want {
			if _, err := q.Exec(ctx, `DROP INDEX IF EXISTS embeddings_hnsw`); err != nil {
				return err
			}
			if _, err := q.Exec(ctx, `DELETE FROM embeddings WHERE dim <> $1`, dim); err != nil {
				return err
			}
			if _, err := q.Exec(ctx, `ALTER TABLE embeddings ALTER COLUMN embedding TYPE `+want); err != nil {
				return err
			}
		}
		_, err := q.Exec(ctx, `CREATE INDEX IF NOT EXISTS embeddings_hnsw ON embeddings
			USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 100)`)
		return err
	})
	return interpretError("vector index", err)
}

// MissingEmbeddings lists the ready photos without an embedding from
// model: after a model is installed or changed, and as a safety net after
// indexing, each gets an embed job.
func (s *Storage) MissingEmbeddings(ctx context.Context, model string) ([]string, error) {
	var ids []string
	err := s.db.Do(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, `SELECT p.id FROM photos p
			WHERE p.state = 'ready' AND NOT EXISTS (
				SELECT 1 FROM embeddings e WHERE e.photo_id = p.id AND e.model = $1)
			ORDER BY p.id`, model)
		if err != nil {
			return err
		}
		ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return ids, interpretError("missing embeddings", err)
}

// HasEmbedding says whether photo id has a vector from model.
func (s *Storage) HasEmbedding(ctx context.Context, model, id string) (bool, error) {
	var ok bool
	err := s.db.Do(ctx, func(q database.Querier) error {
		return q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM embeddings WHERE photo_id = $1 AND model = $2)`, id, model).Scan(&ok)
	})
	return ok, interpretError("has embedding", err)
}

// Embedding is one photo's vector.
type Embedding struct {
	PhotoID string
	Vector  []float32
}

// SaveEmbeddings stores vectors from model, replacing older ones.
func (s *Storage) SaveEmbeddings(ctx context.Context, model string, es []Embedding) error {
	err := s.db.Tx(ctx, func(q database.Querier) error {
		for _, e := range es {
			if _, err := q.Exec(ctx, `INSERT INTO embeddings (photo_id, model, dim, embedding)
				SELECT $1, $2, $3, $4::vector WHERE EXISTS (SELECT 1 FROM photos WHERE id = $1)
				ON CONFLICT (photo_id) DO UPDATE SET model = $2, dim = $3, embedding = $4::vector, created_at = now()`,
				e.PhotoID, model, len(e.Vector), vectorLiteral(e.Vector)); err != nil {
				return err
			}
		}
		return nil
	})
	return interpretError("save embeddings", err)
}

// EmbeddingOf returns a photo's vector from model.
func (s *Storage) EmbeddingOf(ctx context.Context, model, id string) ([]float32, error) {
	var txt string
	err := s.db.Do(ctx, func(q database.Querier) error {
		return q.QueryRow(ctx, `SELECT embedding::text FROM embeddings WHERE photo_id = $1 AND model = $2`, id, model).Scan(&txt)
	})
	if err != nil {
		return nil, interpretError("embedding of "+id, err)
	}
	return parseVector(txt)
}

func parseVector(s string) ([]float32, error) {
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	parts := strings.Split(s, ",")
	v := make([]float32, len(parts))
	for i, p := range parts {
		f, err := strconv.ParseFloat(p, 32)
		if err != nil {
			return nil, fmt.Errorf("parse vector: %w", err)
		}
		v[i] = float32(f)
	}
	return v, nil
}

// NearestParams ask for the photos nearest a vector.
type NearestParams struct {
	Model  string
	Vector []float32
	Limit  int
	Offset int
	// Terms, when set, must all appear in the photo's searchable text.
	Terms []string
	// Tags, when set, must all be among the photo's tags.
	Tags []string
	// Damaged keeps only photos marked damaged.
	Damaged bool
	// MediaType, when set, keeps only "photo" or only "video".
	MediaType string
	// Albums, when set, must all hold the photo (see ListParams.Albums).
	Albums []string
	// Places, when set, must all name the photo's place (see ListParams.Places).
	Places []string
	// People, when set, must all be on the photo (see ListParams.People).
	People []string
	// Exclude leaves one photo out (the one whose neighbours we want).
	Exclude string
	// Scope is the libraries whose photos may be returned, and whose
	// state applies; Only narrows to a state (the default leaves out
	// archived and trashed photos).
	Scope Scope
	Only  StateFilter
	// MaxDistance drops matches further than this cosine distance (0: none).
	MaxDistance float64
	// EfSearch is HNSW's candidate list size: recall against speed.
	// Default (0): EfSearchFor the table's size; bench/vector sweeps it.
	EfSearch int
}

// Nearest returns photos by cosine distance to a vector, best first, through
// the HNSW index (iterative scan, so filters still fill the page). The
// vector must have the column's dimension (EnsureVectorIndex).
func (s *Storage) Nearest(ctx context.Context, p NearestParams) ([]PhotoSummary, []float64, error) {
	sql, args := NearestQuery(p)
	var (
		out   []PhotoSummary
		dists []float64
	)
	err := s.db.Tx(ctx, func(q database.Querier) error {
		ef := p.EfSearch
		if ef <= 0 {
			rows, err := s.ann.rows(ctx, q)
			if err != nil {
				return err
			}
			ef = EfSearchFor(rows)
		}
		// A generic plan of this prepared statement cannot use the index
		// (the vector is a parameter): always plan with the value.
		if _, err := q.Exec(ctx, `SET LOCAL plan_cache_mode = force_custom_plan;
			SET LOCAL hnsw.ef_search = `+strconv.Itoa(ef)+`; SET LOCAL hnsw.iterative_scan = relaxed_order`); err != nil {
			return err
		}
		rows, err := q.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		var (
			ps PhotoSummary
			d  float64
		)
		_, err = pgx.ForEachRow(rows, append(ps.summaryFields(), &d), func() error {
			out, dists = append(out, ps), append(dists, d)
			return nil
		})
		return err
	})
	return out, dists, interpretError("nearest photos", err)
}

// EfSearchFor is the hnsw.ef_search Nearest uses on a table of rows
// vectors: the candidate list grows with the graph so that recall@10 stays
// at or above 0.95 (the README's benchmark rows: 100 gives 1.00 at 100k
// clustered CLIP-like vectors but 0.86 at 1M, where 400 gives 0.98). The
// cost is latency: a few milliseconds more at a million.
func EfSearchFor(rows float64) int {
	switch {
	case rows < 200_000:
		return 100
	case rows < 500_000:
		return 200
	case rows < 2_000_000:
		return 400
	default:
		return 800 // pgvector allows up to 1000
	}
}

// VectorEfSearch is the hnsw.ef_search Nearest chooses now, and the row
// estimate it chose by (bench/scale reports both).
func (s *Storage) VectorEfSearch(ctx context.Context) (int, float64, error) {
	var rows float64
	err := s.db.Do(ctx, func(q database.Querier) error {
		var err error
		rows, err = s.ann.rows(ctx, q)
		return err
	})
	return EfSearchFor(rows), rows, interpretError("vector table size", err)
}

// annSize caches the row estimate of embeddings (pg_class.reltuples, kept
// by VACUUM and ANALYZE): ef_search follows the table's order of
// magnitude, so an estimate a few minutes old is good enough and costs no
// query on most searches.
type annSize struct {
	mu  sync.Mutex
	n   float64
	at  time.Time
	ttl time.Duration // 0: annSizeTTL
}

const annSizeTTL = 5 * time.Minute

// rows returns the estimate, read again in q's transaction when older than
// the TTL. A table never analysed (reltuples -1) counts its rows exactly.
func (a *annSize) rows(ctx context.Context, q database.Querier) (float64, error) {
	if a == nil {
		a = &annSize{}
	}
	ttl := a.ttl
	if ttl == 0 {
		ttl = annSizeTTL
	}
	a.mu.Lock()
	n, at := a.n, a.at
	a.mu.Unlock()
	if !at.IsZero() && time.Since(at) < ttl {
		return n, nil
	}
	if err := q.QueryRow(ctx, `SELECT CASE WHEN c.reltuples >= 0 THEN c.reltuples
			ELSE (SELECT count(*) FROM embeddings)::float8 END
		FROM pg_class c WHERE c.oid = 'embeddings'::regclass`).Scan(&n); err != nil {
		return 0, err
	}
	a.mu.Lock()
	a.n, a.at = n, time.Now()
	a.mu.Unlock()
	return n, nil
}

// NearestQuery is Nearest's statement and its arguments ($1 the vector, $2
// the model, then the filters, the limit and the offset): Nearest runs it,
// and bench/vector EXPLAINs it, so the plan it reports is this query's.
func NearestQuery(p NearestParams) (string, []any) {
	if p.Limit <= 0 || p.Limit > 500 {
		p.Limit = 50
	}
	var (
		where = []string{"e.model = $2", "p.state = 'ready'"}
		args  = []any{vectorLiteral(p.Vector), p.Model}
	)
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	where = append(where, filterSQL(p.Scope, p.Only, p.MediaType, p.Terms, p.Tags, p.Albums, p.Places, p.People, arg)...)
	if p.Damaged {
		where = append(where, "p.damage IS NOT NULL")
	}
	if p.Exclude != "" {
		where = append(where, "e.photo_id <> "+arg(p.Exclude))
	}
	dist := "(e.embedding <=> $1::vector)"
	if p.MaxDistance > 0 {
		where = append(where, dist+" < "+arg(p.MaxDistance))
	}
	sql := `SELECT ` + summaryColumns + `, n.dist
		FROM (SELECT e.photo_id, ` + dist + ` AS dist FROM embeddings e JOIN photos p ON p.id = e.photo_id
			WHERE ` + strings.Join(where, " AND ") + `
			ORDER BY ` + dist + ` LIMIT ` + arg(p.Limit) + ` OFFSET ` + arg(p.Offset) + `) n
		JOIN photos p ON p.id = n.photo_id
		` + p.Scope.summaryJoins(arg) + `
		ORDER BY n.dist, p.id`
	return sql, args
}

// CountEmbedded counts the photos in scope with a vector from model.
func (s *Storage) CountEmbedded(ctx context.Context, scope Scope, model string) (int, error) {
	var n int
	args := []any{model}
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	visible := ""
	if scope.Limited() {
		visible = " AND " + strings.ReplaceAll(scope.visibleSQL(arg), "p.id", "e.photo_id")
	}
	err := s.db.Do(ctx, func(q database.Querier) error {
		return q.QueryRow(ctx, `SELECT count(*) FROM embeddings e WHERE model = $1`+visible, args...).Scan(&n)
	})
	return n, interpretError("count embedded", err)
}

// AllWordsMatch reports whether some photo's searchable text (paths,
// camera, lens, dates) holds every word as a whole word: then the words
// name metadata ("canon", "trip") and filter, rather than only rank.
func (s *Storage) AllWordsMatch(ctx context.Context, scope Scope, words []string) (bool, error) {
	if len(words) == 0 {
		return false, nil
	}
	var (
		conds []string
		args  []any
	)
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	for _, w := range words {
		conds = append(conds, scope.textMatchSQL("~", arg(`\m`+regexpQuote(strings.ToLower(w))+`\M`), arg))
	}
	if v := scope.visibleSQL(arg); v != "" {
		conds = append(conds, v)
	}
	var ok bool
	err := s.db.Do(ctx, func(q database.Querier) error {
		return q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM photos p WHERE state = 'ready' AND `+
			strings.Join(conds, " AND ")+`)`, args...).Scan(&ok)
	})
	return ok, interpretError("match words", err)
}

func regexpQuote(s string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`\.+*?()|[]{}^$`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}
