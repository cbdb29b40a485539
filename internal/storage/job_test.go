package storage_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"shoebox/internal/database/dbtest"
	"shoebox/internal/jobs"
	"shoebox/internal/storage"
)

// jobKeys lists the live jobs of kind, by their key (args.id or root).
func jobKeys(t *testing.T, tx pgx.Tx, kind string) []string {
	t.Helper()
	rows, err := tx.Query(context.Background(), `SELECT coalesce(args->>'id', args->>'root') FROM river_job
		WHERE kind = $1 AND state IN ('available', 'pending', 'running', 'retryable', 'scheduled') ORDER BY id`, kind)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// At most one live job per kind and key: enqueueing twice is harmless,
// another key is another job, and a finished job does not stop a new one.
func TestEnqueueUnique(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tx := dbtest.TestTx(t)
	st := storage.InTx(tx)
	for range 2 {
		if err := st.Enqueue(ctx, jobs.ProcessJob("a"), jobs.ScanJob("/lib")); err != nil {
			t.Fatal(err)
		}
	}
	for _, j := range []river.JobArgs{jobs.ProcessJob("b"), jobs.TranscodeJob("a", 1), jobs.TranscodeJob("a", 2)} {
		if err := st.Enqueue(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	if k := jobKeys(t, tx, jobs.KindProcess); len(k) != 2 || k[0] != "a" || k[1] != "b" {
		t.Fatalf("process jobs %v, want [a b]", k)
	}
	if k := jobKeys(t, tx, jobs.KindScan); len(k) != 1 {
		t.Fatalf("scan jobs %v, want one", k)
	}
	if k := jobKeys(t, tx, jobs.KindTranscode); len(k) != 1 {
		t.Fatalf("transcode jobs %v, want one per video whatever its duration", k)
	}
	c, err := st.CountJobs(ctx)
	if err != nil || c.Pending != 4 {
		t.Fatalf("count %+v %v, want 4 live jobs", c, err)
	}
	if _, err := tx.Exec(ctx, `UPDATE river_job SET state = 'completed', finalized_at = now() WHERE kind = 'process' AND args->>'id' = 'a'`); err != nil {
		t.Fatal(err)
	}
	if err := st.Enqueue(ctx, jobs.ProcessJob("a")); err != nil {
		t.Fatal(err)
	}
	if k := jobKeys(t, tx, jobs.KindProcess); len(k) != 2 {
		t.Fatalf("process jobs %v after a finished, want a again and b", k)
	}
}

// A job is inserted in the transaction of the rows it belongs to: rolled
// back with them, committed with them.
func TestEnqueueInTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tx := dbtest.TestTx(t)
	st := storage.InTx(tx)
	boom := errors.New("boom")
	err := st.Tx(ctx, func(tx *storage.Storage) error {
		if err := tx.Enqueue(ctx, jobs.ProcessJob("rolled-back")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	err = st.Tx(ctx, func(tx *storage.Storage) error { return tx.Enqueue(ctx, jobs.ProcessJob("kept")) })
	if err != nil {
		t.Fatal(err)
	}
	if k := jobKeys(t, tx, jobs.KindProcess); len(k) != 1 || k[0] != "kept" {
		t.Fatalf("process jobs %v, want only the committed one", k)
	}
}

// The running jobs of a client whose heartbeat is stale become available
// again; those of a live client, and the caller's own, stay running.
func TestRescueDeadClients(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tx := dbtest.TestTx(t)
	st := storage.InTx(tx)
	if err := st.Enqueue(ctx, jobs.ProcessJob("dead"), jobs.ProcessJob("live"), jobs.ProcessJob("self"), jobs.ProcessJob("never")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"live", "self"} {
		if err := st.Heartbeat(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO job_clients (id, hostname, pid, heartbeat_at) VALUES ('dead', 'h', 1, now() - interval '1 minute')`); err != nil {
		t.Fatal(err)
	}
	// Each job runs on the client of its name ("never" on one that never
	// had a heartbeat); "dead" ran on "live" before.
	if _, err := tx.Exec(ctx, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now(),
		attempted_by = CASE WHEN args->>'id' = 'dead' THEN ARRAY['live', 'dead'] ELSE ARRAY[args->>'id'] END
		WHERE kind = 'process'`); err != nil {
		t.Fatal(err)
	}
	n, err := st.RescueDeadClients(ctx, 30e9, "self")
	if err != nil || n != 2 {
		t.Fatalf("rescued %d %v, want 2 (dead and never)", n, err)
	}
	rows, err := tx.Query(ctx, `SELECT args->>'id' FROM river_job WHERE kind = 'process' AND state = 'available' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(got) != 2 || got[0] != "dead" || got[1] != "never" {
		t.Fatalf("available again: %v %v, want [dead never]", got, err)
	}
}

// One job may take others of its kind over (an embed batch): they are
// running on the taker, completed with it, or handed back on failure.
func TestTakeJobs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tx := dbtest.TestTx(t)
	st := storage.InTx(tx)
	if err := st.Enqueue(ctx, jobs.EmbedJob("a"), jobs.EmbedJob("b"), jobs.EmbedJob("c")); err != nil {
		t.Fatal(err)
	}
	taken, err := st.TakeJobs(ctx, jobs.KindEmbed, "me", 2)
	slices.SortFunc(taken, func(a, b storage.TakenJob) int { return strings.Compare(a.Key, b.Key) })
	if err != nil || len(taken) != 2 || taken[0].Key != "a" || taken[1].Key != "b" {
		t.Fatalf("taken %+v %v, want a and b", taken, err)
	}
	more, err := st.TakeJobs(ctx, jobs.KindEmbed, "me", 5)
	if err != nil || len(more) != 1 || more[0].Key != "c" {
		t.Fatalf("taken next %+v %v, want c only", more, err)
	}
	if err := st.FinishTakenJobs(ctx, []int64{taken[0].ID, taken[1].ID}, true); err != nil {
		t.Fatal(err)
	}
	if err := st.FinishTakenJobs(ctx, []int64{more[0].ID}, false); err != nil {
		t.Fatal(err)
	}
	if k := jobKeys(t, tx, jobs.KindEmbed); len(k) != 1 || k[0] != "c" {
		t.Fatalf("live embed jobs %v, want c handed back", k)
	}
	var attempt int
	if err := tx.QueryRow(ctx, `SELECT attempt FROM river_job WHERE args->>'id' = 'c' AND state = 'available'`).Scan(&attempt); err != nil || attempt != 0 {
		t.Fatalf("handed-back job: attempt %d %v, want 0", attempt, err)
	}
}
