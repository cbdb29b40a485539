package storage

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"shoebox/internal/database"
)

// The durable queue is River's (river_job, created by rivermigrate after
// Shoebox's own migrations). Jobs are inserted here, always inside a
// transaction (River's InsertTx), so a row and the job that belongs to it are
// saved together; the kinds, their priorities, uniqueness and attempts are
// River JobArgs defined in package jobs. What River has no word for (a
// heartbeat of live clients, figures by kind) is plain SQL on its tables,
// below.

var (
	inserterOnce sync.Once
	inserter     *river.Client[pgx.Tx]
	inserterErr  error
)

// insertClient is River's insert-only client: it has no pool (it only ever
// runs InsertTx on a transaction of ours), no queues and no listener, so it
// opens nothing and any process (a web process included) can queue work.
func insertClient() (*river.Client[pgx.Tx], error) {
	inserterOnce.Do(func() {
		inserter, inserterErr = river.NewClient(riverpgxv5.New(nil), &river.Config{Logger: slog.New(slog.DiscardHandler)})
	})
	return inserter, inserterErr
}

// Enqueue inserts jobs in one transaction (a savepoint inside Tx). A job
// whose kind is unique per key is not inserted again while one is live
// (one call must not carry the same job twice).
func (s *Storage) Enqueue(ctx context.Context, jobs ...river.JobArgs) error {
	if len(jobs) == 0 {
		return nil
	}
	c, err := insertClient()
	if err != nil {
		return fmt.Errorf("enqueue: %w", err)
	}
	params := make([]river.InsertManyParams, len(jobs))
	for i, j := range jobs {
		params[i] = river.InsertManyParams{Args: j}
	}
	err = s.db.Do(ctx, func(q database.Querier) error {
		return pgx.BeginFunc(ctx, q, func(tx pgx.Tx) error {
			_, err := c.InsertManyTx(ctx, tx, params)
			return err
		})
	})
	return interpretError("enqueue "+jobs[0].Kind(), err)
}

// liveStates are the states of a job not yet finished: at most one of
// these per kind and key (River's unique states, retryable included).
const liveStates = `('available', 'pending', 'running', 'retryable', 'scheduled')`

// DeletePendingJobs drops the jobs of the given kinds about the given
// photos (args.id) that have not started: work about rows that are gone.
func (s *Storage) DeletePendingJobs(ctx context.Context, kinds, ids []string) error {
	err := s.db.Do(ctx, func(q database.Querier) error {
		_, err := q.Exec(ctx, `DELETE FROM river_job WHERE kind = ANY($1) AND args->>'id' = ANY($2)
			AND state IN ('available', 'pending', 'retryable', 'scheduled')`, kinds, ids)
		return err
	})
	return interpretError("delete pending jobs", err)
}

// Heartbeat records that River client id (a worker process) is alive, and
// forgets clients silent for a day. A running job whose client has no
// recent heartbeat belongs to a process that died (RescueDeadClients).
func (s *Storage) Heartbeat(ctx context.Context, id string) error {
	host, _ := os.Hostname()
	err := s.db.Do(ctx, func(q database.Querier) error {
		_, err := q.Exec(ctx, `INSERT INTO job_clients (id, hostname, pid) VALUES ($1, $2, $3)
			ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()`, id, host, os.Getpid())
		if err != nil {
			return err
		}
		_, err = q.Exec(ctx, `DELETE FROM job_clients WHERE heartbeat_at < now() - interval '1 day'`)
		return err
	})
	return interpretError("heartbeat", err)
}

// RescueDeadClients makes the running jobs of clients whose heartbeat is
// older than stale (a process killed mid-job) available again, never
// self's. The client running a job is the last of its attempted_by. It
// returns how many jobs were rescued.
func (s *Storage) RescueDeadClients(ctx context.Context, stale time.Duration, self string) (int64, error) {
	var n int64
	err := s.db.Do(ctx, func(q database.Querier) error {
		tag, err := q.Exec(ctx, `UPDATE river_job j SET state = 'available', scheduled_at = now()
			WHERE j.state = 'running' AND j.attempted_by[cardinality(j.attempted_by)] IS DISTINCT FROM $2
				AND NOT EXISTS (SELECT 1 FROM job_clients c WHERE c.id = j.attempted_by[cardinality(j.attempted_by)]
					AND c.heartbeat_at > now() - make_interval(secs => $1))`, stale.Seconds(), self)
		n = tag.RowsAffected()
		return err
	})
	return n, interpretError("rescue jobs of dead clients", err)
}

// ForgetOtherClients drops every client but self, and River's leader:
// used when this process owns the database alone (the embedded cluster,
// under the data-folder lock), so the jobs of a killed predecessor are
// rescued at once and this process leads (retries, schedules) at once.
func (s *Storage) ForgetOtherClients(ctx context.Context, self string) error {
	err := s.db.Do(ctx, func(q database.Querier) error {
		if _, err := q.Exec(ctx, `DELETE FROM job_clients WHERE id <> $1`, self); err != nil {
			return err
		}
		_, err := q.Exec(ctx, `DELETE FROM river_leader WHERE leader_id <> $1`, self)
		return err
	})
	return interpretError("forget clients", err)
}

// TakenJob is a job taken over by another one of its kind (TakeJobs).
type TakenJob struct {
	ID  int64
	Key string // args.id
}

// TakeJobs marks up to n available jobs of kind as running on client, so
// that one job does the work of several (an embed batch): River's own
// fetch skips them, and if client dies they are rescued like its own.
// The taker finishes them with FinishTakenJobs.
func (s *Storage) TakeJobs(ctx context.Context, kind, client string, n int) ([]TakenJob, error) {
	var out []TakenJob
	err := s.db.Do(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, `UPDATE river_job SET state = 'running', attempt = attempt + 1, attempted_at = now(),
				attempted_by = array_append(attempted_by, $2::text)
			WHERE id IN (SELECT id FROM river_job WHERE kind = $1 AND state = 'available'
				ORDER BY priority, scheduled_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
			RETURNING id, coalesce(args->>'id', '')`, kind, client, n)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (TakenJob, error) {
			var j TakenJob
			return j, r.Scan(&j.ID, &j.Key)
		})
		return err
	})
	return out, interpretError("take jobs", err)
}

// FinishTakenJobs records the outcome of jobs taken with TakeJobs:
// completed, or (failed) available again for their own run, the attempt
// not counted.
func (s *Storage) FinishTakenJobs(ctx context.Context, ids []int64, ok bool) error {
	if len(ids) == 0 {
		return nil
	}
	sql := `UPDATE river_job SET state = 'completed', finalized_at = now() WHERE id = ANY($1) AND state = 'running'`
	if !ok {
		sql = `UPDATE river_job SET state = 'available', attempt = greatest(attempt - 1, 0) WHERE id = ANY($1) AND state = 'running'`
	}
	err := s.db.Do(ctx, func(q database.Querier) error {
		_, err := q.Exec(ctx, sql, ids)
		return err
	})
	return interpretError("finish taken jobs", err)
}

// JobCounts are the queue's live figures.
type JobCounts struct {
	Pending int `json:"pending"` // waiting, retrying or running
	Failed  int `json:"failed"`  // jobs failed for good (discarded)
}

// CountJobs counts live and failed jobs.
func (s *Storage) CountJobs(ctx context.Context) (JobCounts, error) {
	var c JobCounts
	err := s.db.Do(ctx, func(q database.Querier) error {
		return q.QueryRow(ctx, `SELECT count(*) FILTER (WHERE state IN `+liveStates+`),
			count(*) FILTER (WHERE state = 'discarded') FROM river_job WHERE state <> 'completed'`).Scan(&c.Pending, &c.Failed)
	})
	return c, interpretError("count jobs", err)
}

// QueueDepth is one job kind's share of the queue.
type QueueDepth struct {
	Kind    string
	Pending int // waiting to run, including retries after a backoff
	Running int
	Failed  int // failed for good
}

// QueueDepths counts jobs by kind and state, for /metrics: one row per kind
// that has live or failed jobs.
func (s *Storage) QueueDepths(ctx context.Context) ([]QueueDepth, error) {
	var out []QueueDepth
	err := s.db.Do(ctx, func(q database.Querier) error {
		rows, err := q.Query(ctx, `SELECT kind,
				count(*) FILTER (WHERE state IN ('available', 'pending', 'retryable', 'scheduled')),
				count(*) FILTER (WHERE state = 'running'), count(*) FILTER (WHERE state = 'discarded')
			FROM river_job WHERE state NOT IN ('completed', 'cancelled') GROUP BY kind ORDER BY kind`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (QueueDepth, error) {
			var d QueueDepth
			err := r.Scan(&d.Kind, &d.Pending, &d.Running, &d.Failed)
			return d, err
		})
		return err
	})
	return out, interpretError("queue depths", err)
}

// LegacyJob is a live job of the queue before River (migration 016 kept
// them in legacy_jobs), to be carried over once.
type LegacyJob struct {
	Kind string
	Key  string
	Args []byte
}

// CarryOverLegacyJobs hands the live jobs of the old queue to fn (which
// inserts them into River in the same transaction), then drops the old
// table, once: two processes upgrading together wait for each other.
// It returns how many were carried over.
func (s *Storage) CarryOverLegacyJobs(ctx context.Context, fn func(tx *Storage, jobs []LegacyJob) error) (int, error) {
	var n int
	err := s.Tx(ctx, func(tx *Storage) error {
		return tx.db.Do(ctx, func(q database.Querier) error {
			if _, err := q.Exec(ctx, `SELECT pg_advisory_xact_lock(7061727)`); err != nil {
				return err
			}
			var exists bool
			if err := q.QueryRow(ctx, `SELECT to_regclass('legacy_jobs') IS NOT NULL`).Scan(&exists); err != nil || !exists {
				return err
			}
			rows, err := q.Query(ctx, `SELECT kind, key, args FROM legacy_jobs WHERE state IN ('pending', 'running') ORDER BY id`)
			if err != nil {
				return err
			}
			jobs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (LegacyJob, error) {
				var j LegacyJob
				return j, r.Scan(&j.Kind, &j.Key, &j.Args)
			})
			if err != nil {
				return err
			}
			if err := fn(tx, jobs); err != nil {
				return err
			}
			n = len(jobs)
			_, err = q.Exec(ctx, `DROP TABLE legacy_jobs`)
			return err
		})
	})
	return n, interpretError("carry over jobs", err)
}
