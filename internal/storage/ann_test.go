package storage_test

import (
	"context"
	"testing"

	"shoebox/internal/database/dbtest"
	"shoebox/internal/storage"
)

func TestEfSearchForGrowsWithTheTable(t *testing.T) {
	cases := []struct {
		rows float64
		want int
	}{
		{-1, 100}, {0, 100}, {10_000, 100}, {199_999, 100},
		{200_000, 200}, {499_999, 200},
		{500_000, 400}, {1_000_000, 400}, {1_999_999, 400},
		{2_000_000, 800}, {50_000_000, 800},
	}
	for _, c := range cases {
		if got := storage.EfSearchFor(c.rows); got != c.want {
			t.Errorf("EfSearchFor(%v) = %d, want %d", c.rows, got, c.want)
		}
	}
}

// The ef_search Nearest uses comes from pg_class.reltuples of embeddings,
// read once and then cached: set the estimate by hand (superuser, rolled
// back with the test's transaction) and watch the choice follow it.
func TestVectorEfSearchFollowsTheRowEstimateAndCaches(t *testing.T) {
	ctx := context.Background()
	tx := dbtest.TestTx(t)
	setEstimate := func(n float64) {
		t.Helper()
		if _, err := tx.Exec(ctx, `UPDATE pg_class SET reltuples = $1 WHERE oid = 'embeddings'::regclass`, n); err != nil {
			t.Fatal(err)
		}
	}
	setEstimate(1_000_000)
	st := storage.InTx(tx)
	ef, rows, err := st.VectorEfSearch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rows != 1_000_000 || ef != 400 {
		t.Fatalf("estimate 1,000,000: got ef %d from %v rows, want 400 from 1e6", ef, rows)
	}
	// Cached: a new estimate is not read again within the TTL, also not
	// by a transaction of the same Storage.
	setEstimate(300_000)
	if err := st.Tx(ctx, func(tx *storage.Storage) error {
		ef, rows, err = tx.VectorEfSearch(ctx)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if ef != 400 || rows != 1_000_000 {
		t.Fatalf("cached: got ef %d from %v rows, want 400 from 1e6", ef, rows)
	}
	// A fresh Storage reads it again.
	if ef, rows, err = storage.InTx(tx).VectorEfSearch(ctx); err != nil || ef != 200 || rows != 300_000 {
		t.Fatalf("estimate 300,000: got ef %d from %v rows (%v), want 200", ef, rows, err)
	}
	// Never analysed (-1): the rows are counted.
	setEstimate(-1)
	if ef, rows, err = storage.InTx(tx).VectorEfSearch(ctx); err != nil || ef != 100 || rows < 0 {
		t.Fatalf("never analysed: got ef %d from %v rows (%v), want 100 from a count", ef, rows, err)
	}
}
