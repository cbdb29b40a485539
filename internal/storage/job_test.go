package storage_test

import (
	"context"
	"testing"

	"shoebox/internal/database/dbtest"
	"shoebox/internal/storage"
)

// A claimed job says whether this attempt is its last, so what it leaves
// for a later attempt (a "being converted" marker) is cleaned up when none
// will come.
func TestJobLastAttempt(t *testing.T) {
	ctx := context.Background()
	tx := dbtest.TestTx(t)
	st := storage.InTx(tx)
	if err := st.RegisterWorker(ctx, "00000000-0000-0000-0000-000000000001"); err != nil {
		t.Fatal(err)
	}
	kind := "test-" + newID(t)[:8]
	if err := st.Enqueue(ctx, storage.EnqueueParams{Kind: kind, Key: "k", Priority: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `UPDATE jobs SET max_attempts = 2 WHERE kind = $1`, kind); err != nil {
		t.Fatal(err)
	}
	for i, wantLast := range []bool{false, true} {
		jobs, err := st.ClaimJobs(ctx, "00000000-0000-0000-0000-000000000001", []string{kind}, 1)
		if err != nil || len(jobs) != 1 {
			t.Fatalf("claim %d: %v %v", i, jobs, err)
		}
		if jobs[0].Last != wantLast {
			t.Fatalf("attempt %d of 2: Last %v, want %v", i+1, jobs[0].Last, wantLast)
		}
		if err := st.RetryJob(ctx, jobs[0].ID, "boom", 0); err != nil {
			t.Fatal(err)
		}
	}
	if jobs, err := st.ClaimJobs(ctx, "00000000-0000-0000-0000-000000000001", []string{kind}, 1); err != nil || len(jobs) != 0 {
		t.Fatalf("after its last attempt failed the job is claimed again: %v %v", jobs, err)
	}
}
