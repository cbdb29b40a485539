package jobs_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"shoebox/internal/database"
	"shoebox/internal/jobs"
	"shoebox/internal/storage"
)

// A library indexed before damaged photos were shown has its truncated
// files failed. The upgrade's migration puts every failed photo back in the
// queue: the next run shows the truncated one, marked damaged, and the file
// that is no image fails again with its reason.
func TestUpgradeRetriesFailedPhotos(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	copyFile(t, fixture(t, "orientation/landscape_1.jpg"), filepath.Join(e.lib, "good.jpg"))
	copyFile(t, fixture(t, "corrupt/truncated_60k.jpg"), filepath.Join(e.lib, "truncated.jpg"))
	if err := os.WriteFile(filepath.Join(e.lib, "notes.jpg"), []byte("not a photo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.run()
	good, trunc, notes := e.photoOf(t, "good.jpg"), e.photoOf(t, "truncated.jpg"), e.photoOf(t, "notes.jpg")
	if n := e.count(t, `SELECT count(*) FROM photos WHERE id = '`+trunc+`' AND state = 'ready' AND damage LIKE '%Premature end%'`); n != 1 {
		t.Fatal("truncated file not indexed as a damaged photo")
	}

	// Rewind to what the release before this one left: the truncated photo
	// failed, and the schema before migration 004.
	exec := func(sql string, args ...any) {
		t.Helper()
		if err := e.db.Do(ctx, func(q database.Querier) error { _, err := q.Exec(ctx, sql, args...); return err }); err != nil {
			t.Fatal(err)
		}
	}
	exec(`UPDATE photos SET state = 'failed', error = 'cannot decode image: VipsJpeg: Premature end of input file',
		thumb_width = NULL WHERE id = $1`, trunc)
	// The stats counters' triggers (migration 017) read the column: an
	// old schema has neither.
	for _, trg := range []string{"photo_counts_inserted", "photo_counts_updated", "photo_counts_deleted"} {
		exec(`DROP TRIGGER ` + trg + ` ON photos`)
	}
	exec(`ALTER TABLE photos DROP COLUMN damage`)
	exec(`DELETE FROM schema_migrations WHERE version = 4`)
	// ... and the queue before River (016 moves it there).
	exec(`ALTER TABLE legacy_jobs RENAME TO jobs`)
	exec(`DELETE FROM schema_migrations WHERE version = 16`)
	exec(`UPDATE photos SET indexed_at = '2001-01-01' WHERE id = $1`, good)

	if err := e.db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// The old queue's live jobs are carried over into River, once.
	if err := jobs.CarryOver(ctx, storage.New(e.db), slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	if n := e.count(t, `SELECT count(*) FROM river_job WHERE kind = 'process' AND state = 'available' AND args->>'id' IN ('`+trunc+`', '`+notes+`')`); n != 2 {
		t.Fatalf("%d retries queued by the migration, want 2 (the failed photos)", n)
	}
	if n := e.count(t, `SELECT count(*) FROM pg_tables WHERE tablename IN ('jobs', 'legacy_jobs', 'workers')`); n != 0 {
		t.Fatalf("%d tables of the old queue left after the carry-over", n)
	}
	e.run()
	var state, damage, reason string
	if err := e.db.Do(ctx, func(q database.Querier) error {
		return q.QueryRow(ctx, `SELECT state, coalesce(damage, ''), (SELECT coalesce(error, '') FROM photos WHERE id = $2)
			FROM photos WHERE id = $1`, trunc, notes).Scan(&state, &damage, &reason)
	}); err != nil {
		t.Fatal(err)
	}
	if state != "ready" || !strings.Contains(damage, "Premature end of JPEG file") {
		t.Errorf("after the upgrade the truncated photo is %s, damage %q", state, damage)
	}
	if n := e.count(t, `SELECT count(*) FROM photos WHERE id = '`+notes+`' AND state = 'failed'`); n != 1 || !strings.Contains(reason, "unsupported") {
		t.Errorf("the text file should fail again with its reason, got %q", reason)
	}
	if n := e.count(t, `SELECT count(*) FROM photos WHERE id = '`+good+`' AND indexed_at = '2001-01-01'`); n != 1 {
		t.Error("a sound photo was processed again")
	}
}
